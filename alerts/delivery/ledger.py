"""The outbox rows' lifecycle, and each channel's counters, in SQLite.

    pending ──claim_due──► sending ──delivered──► delivered
       ▲  │                   ├──retry (backoff)──► pending, due later, same batch id
       │  │                   ├──failed (permanent)──► failed, or pending if still owed
       │  ├──claim_due (a recovery whose firing never got there)──► withheld
       └──expire (too old)────┴──release (send interrupted)──► pending
       (expired, or pending if still owed)
    sending under another process's token ──recover_abandoned──► pending (re-sent)

Each change is its own committed transaction on the caller's connection; a row is
`sending` (committed) before its send starts. A claimed row is an `OutboxRow`; the rows
that go out in one send, an `OutboxBatch`. Rows claimed once keep their batch id, also
across retries and after a crash, so a re-send is the same message (same
Idempotency-Key, deliveryId, Message-ID) and never merges with newer rows. Finished
rows are kept a week, then pruned.

Per channel and alert, notices go out in the order they were made: a row waits while an
earlier row of the same alert on the same channel is unfinished (unless both go in one
batch), so a recovery never overtakes its firing. Batches go out in creation order.

Lost notices. A notice that expires or is refused for good is counted and logged. If it
is still *owed* it is kept, pending, and tried again every `retry_max` until the channel
takes it (`lost` counts the times it was given up): a firing or repeat while its alert
still fires (the engine's active alerts, `firing`) and no later notice of the alert is
queued there, and any recovery (it is only ever sent after a firing the channel got).
Otherwise it is finished (`expired`, `failed`); a recovery whose episode's firing and
repeats all ended so on that channel is then `withheld` there, never sent alone.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from alerts.delivery.timing import Timings
from alerts.model import DeliveryError
from config.db import Connection
from config.retry import backoff
from config.sqlite import transaction

LOG = logging.getLogger("lifeline.alerts.outbox")

MAX_BATCH = 100                 # notifications per send: one mail, one POST
KEEP_FINISHED_SECONDS = 7 * 86400
PRUNE_EVERY_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One claimed (notification, channel) row."""

    notification_id: str
    channel: str
    group_key: str
    group_labels: str           # JSON object
    payload: str                # the Notification as JSON (alerts/delivery/codec.py)
    attempts: int
    batch: str | None
    fingerprint: str = ""
    event: str = ""
    lost: int = 0               # times given up (expired, refused) and kept as still owed
    enqueued: float = 0.0


@dataclass(frozen=True, slots=True)
class OutboxBatch:
    """Rows that go out in one `Channel.send`, under one batch id."""

    id: str
    channel: str
    group_key: str
    rows: tuple[OutboxRow, ...]

    @property
    def keys(self) -> list[tuple[str, str]]:
        return [(r.notification_id, r.channel) for r in self.rows]


def _batch_key(row: OutboxRow) -> tuple[str, str, str]:
    """Rows claimed before (re-sent after a crash, or retried) go as the batch they were
    claimed in; new rows per (channel, group)."""
    if row.batch is not None:
        return (row.channel, "kept", row.batch)
    return (row.channel, "new", row.group_key)


def batched(rows: Sequence[OutboxRow]) -> list[OutboxBatch]:
    """`rows` (in creation order) as batches, in the order of their first row: a kept
    batch under its id, new rows at most MAX_BATCH a batch under a new id."""
    found: dict[tuple[str, str, str], list[OutboxRow]] = {}
    for row in rows:
        found.setdefault(_batch_key(row), []).append(row)
    batches = []
    for (channel, kind, name), chunk in found.items():
        if kind == "kept":
            batches.append(OutboxBatch(name, channel, chunk[0].group_key, tuple(chunk)))
        else:
            batches += [OutboxBatch(uuid.uuid4().hex, channel, name,
                                    tuple(chunk[i:i + MAX_BATCH]))
                        for i in range(0, len(chunk), MAX_BATCH)]
    return batches


# The fingerprints of the alerts firing with their firing told, and the time the engine
# said so (None: no engine speaks, as in an outbox used alone).
Firing = tuple[Collection[str], float | None]


class Ledger:
    """Moves rows between states. `owner` marks the rows this process claims: rows
    `sending` under another token were left by an earlier process. A send's outcome
    (delivered, retry, failed, release) changes only rows still `sending` under this
    owner, and counts only the rows it changed: a row taken back meanwhile (a cluster node
    paused past its lease, its rows resent by another) is the other's to settle and
    count."""

    def __init__(self, owner: str, timings: Timings,
                 firing: Callable[[], Firing] = lambda: (frozenset(), None)) -> None:
        self._owner, self._timings = owner, timings
        self._firing = firing       # the alerts firing and told, by the engine, as of when
        self._last_prune = float("-inf")

    # ---- before the sends -------------------------------------------------------------

    def recover_abandoned(self, conn: Connection, now: datetime) -> None:
        """Rows left `sending` by an earlier process: the peer may or may not have them.
        At-least-once: send them again."""
        rows = conn.execute("SELECT channel, COUNT(*) FROM delivery_outbox WHERE state ="
                            " 'sending' AND (owner IS NULL OR owner <> ?) GROUP BY channel",
                            (self._owner,)).fetchall()
        if not rows:
            return
        with transaction(conn):
            conn.execute("UPDATE delivery_outbox SET state = 'pending', due = ?, owner = NULL"
                         " WHERE state = 'sending' AND (owner IS NULL OR owner <> ?)",
                         (now.timestamp(), self._owner))
            for channel, count in rows:
                bump_counts(conn, channel, resent_after_restart=count)
                LOG.warning("channel %s: %d deliveries were in flight when the agent stopped;"
                            " sending them again (at-least-once)", channel, count)

    def expire(self, conn: Connection, now: datetime) -> None:
        """Pending rows queued longer ago than their channel's `expire_after` (or kept
        that long since they were last given up) are given up: finished, or kept if
        still owed (see the module docstring)."""
        t = now.timestamp()
        channels = [r[0] for r in conn.execute(
            "SELECT DISTINCT channel FROM delivery_outbox WHERE state = 'pending'")]
        for channel in channels:
            expire_after = self._timings[channel].expire_after
            with transaction(conn):
                rows = _rows(conn, "channel = ? AND state = 'pending'"
                             " AND COALESCE(requeued, enqueued) <= ?",
                             (channel, t - expire_after))
                kept = [r for r in rows if self._owed(conn, r)]
                kept_keys = {(r.notification_id, r.channel) for r in kept}
                gone = [r for r in rows if (r.notification_id, r.channel) not in kept_keys]
                conn.executemany("UPDATE delivery_outbox SET state = 'expired', finished = ?"
                                 " WHERE notification_id = ? AND channel = ?",
                                 [(t, r.notification_id, r.channel) for r in gone])
                conn.executemany("UPDATE delivery_outbox SET lost = lost + 1, requeued = ?"
                                 " WHERE notification_id = ? AND channel = ?",
                                 [(t, r.notification_id, r.channel) for r in kept])
                if rows:
                    bump_counts(conn, channel, expired=len(rows))
            if rows:
                LOG.error("channel %s: %d notifications expired undelivered after %gs%s",
                          channel, len(rows), expire_after, _lost_text(gone, kept))

    def claim_due(self, conn: Connection, t: float,
                  busy: Collection[str] = ()) -> list[OutboxBatch]:
        """Marks the due rows of channels not `busy` `sending` (committed before any
        send), in batches in creation order, and records each row's batch id. A row
        waits while an earlier row of its alert on its channel is unfinished and not in
        its batch; a recovery whose firing never reached the channel is withheld."""
        with transaction(conn):
            due: list[OutboxRow] = []
            withheld: list[OutboxRow] = []
            # per (channel, fingerprint): the batches of the unfinished rows so far (None:
            # not going out in this round)
            earlier: dict[tuple[str, str], list[tuple[str, str, str] | None]] = {}
            for row, row_due in self._pending(conn, t):
                if row.channel in busy:
                    continue
                key: tuple[str, str, str] | None = _batch_key(row)
                before = earlier.setdefault((row.channel, row.fingerprint), [])
                if row_due > t or (row.batch is None and any(b != key for b in before)):
                    key = None
                elif row.event == "resolved" and row.batch is None and _lone(conn, row):
                    withheld.append(row)
                    continue
                else:
                    due.append(row)
                before.append(key)
            batches = batched(due)
            self._mark_sending(conn, batches)
            self._withhold(conn, withheld, t)
        return batches

    def _pending(self, conn: Connection, t: float) -> list[tuple[OutboxRow, float]]:
        """The pending rows a claim looks at (in its transaction), in creation order."""
        return unfinished(conn, t)

    def _mark_sending(self, conn: Connection, batches: Sequence[OutboxBatch]) -> None:
        conn.executemany("UPDATE delivery_outbox SET state = 'sending', owner = ?,"
                         " batch = ? WHERE notification_id = ? AND channel = ?",
                         [(self._owner, b.id, *key) for b in batches for key in b.keys])

    def _withhold(self, conn: Connection, rows: Sequence[OutboxRow],
                  t: float) -> None:
        """Recoveries whose firing never reached their channel: not sent there."""
        conn.executemany("UPDATE delivery_outbox SET state = 'withheld', finished = ?"
                         " WHERE notification_id = ? AND channel = ?",
                         [(t, r.notification_id, r.channel) for r in rows])
        for row in rows:
            bump_counts(conn, row.channel, withheld=1)
            LOG.warning("channel %s: recovery %s not sent: the alert's firing never "
                        "reached this channel (expired or refused), so there is nothing "
                        "to recover from there", row.channel, row.notification_id)

    def prune(self, conn: Connection, t: float) -> None:
        """Deletes rows finished more than KEEP_FINISHED_SECONDS ago (hourly)."""
        if t - self._last_prune >= PRUNE_EVERY_SECONDS:
            conn.execute("DELETE FROM delivery_outbox WHERE state IN"
                         " ('delivered', 'failed', 'expired', 'withheld') AND finished < ?",
                         (t - KEEP_FINISHED_SECONDS,))
            self._last_prune = t

    # ---- after a send -----------------------------------------------------------------

    def delivered(self, conn: Connection, batch: OutboxBatch, now: datetime) -> None:
        """The rows still ours are delivered and counted; a row taken back meanwhile
        (see the class) is the other owner's to count."""
        t = now.timestamp()
        with transaction(conn):
            mine = _settle(conn, "UPDATE delivery_outbox SET state = 'delivered',"
                           f" finished = ?, owner = NULL WHERE {MINE}",
                           [((t, r.notification_id, r.channel, self._owner), r)
                            for r in batch.rows])
            conn.execute("INSERT INTO delivery_groups (channel, group_key, last_sent)"
                         " VALUES (?, ?, ?)"
                         " ON CONFLICT (channel, group_key)"
                         " DO UPDATE SET last_sent = excluded.last_sent",
                         (batch.channel, batch.group_key, t))
            retold = [r for r in mine if r.lost]
            bump_counts(conn, batch.channel, delivered=len(mine), retold=len(retold))
            conn.execute("UPDATE delivery_channels SET last_delivery_at = ? WHERE channel = ?",
                         (now.isoformat(), batch.channel))
        LOG.info("channel %s: delivered %d notification(s) for group %s%s", batch.channel,
                 len(batch.rows), batch.group_key or "-", _not_mine(batch, mine))
        if retold:
            LOG.warning("channel %s: told at last %d notification(s) it had missed: %s",
                        batch.channel, len(retold),
                        ", ".join(r.notification_id for r in retold))

    def retry(self, conn: Connection, batch: OutboxBatch, now: datetime,
              error: DeliveryError) -> None:
        """Back to pending, due after an exponential backoff (at least the peer's
        Retry-After)."""
        attempts = max(r.attempts for r in batch.rows) + 1
        timing = self._timings[batch.channel]
        wait = max(backoff(attempts, timing.retry_initial, timing.retry_max),
                   error.retry_after or 0.0)
        with transaction(conn):
            mine = _settle(conn, "UPDATE delivery_outbox SET state = 'pending', owner = NULL,"
                           f" attempts = ?, due = ?, last_error = ? WHERE {MINE}",
                           [((attempts, now.timestamp() + wait, str(error),
                              r.notification_id, r.channel, self._owner), r)
                            for r in batch.rows])
            if mine:
                bump_counts(conn, batch.channel, retries=1)
            _note_error(conn, batch.channel, str(error), now)
        LOG.warning("channel %s: delivery failed (%s); try %d in %gs", batch.channel, error,
                    attempts + 1, wait)

    def failed(self, conn: Connection, batch: OutboxBatch, now: datetime,
               error: DeliveryError, *, configured: bool = True) -> None:
        """Given up: a permanent error. Rows still owed are kept, tried again after
        `retry_max` (never for a channel no longer `configured`)."""
        t = now.timestamp()
        wait = self._timings[batch.channel].retry_max
        with transaction(conn):
            kept = [r for r in batch.rows if configured and self._owed(conn, r)]
            kept_keys = {(r.notification_id, r.channel) for r in kept}
            gone = [r for r in batch.rows if (r.notification_id, r.channel) not in kept_keys]
            mine = _settle(conn, "UPDATE delivery_outbox SET state = 'failed', owner = NULL,"
                           f" finished = ?, last_error = ? WHERE {MINE}",
                           [((t, str(error), r.notification_id, r.channel, self._owner), r)
                            for r in gone])
            mine += _settle(conn, "UPDATE delivery_outbox SET state = 'pending', owner = NULL,"
                            " lost = lost + 1, requeued = ?, attempts = attempts + 1,"
                            f" due = ?, last_error = ? WHERE {MINE}",
                            [((t, t + wait, str(error), r.notification_id, r.channel,
                               self._owner), r) for r in kept])
            bump_counts(conn, batch.channel, failed=len(mine))
            _note_error(conn, batch.channel, str(error), now)
        LOG.error("channel %s: %d notification(s) not delivered, giving up: %s%s",
                  batch.channel, len(batch.rows), error, _lost_text(gone, kept, wait))

    def _owed(self, conn: Connection, row: OutboxRow) -> bool:
        """Whether the channel must still get `row` (see the module docstring)."""
        if row.event == "resolved":
            return True
        firing, as_of = self._firing()
        # A row made after the engine's last word on what fires is its own evidence.
        if row.fingerprint not in firing and (as_of is None or row.enqueued <= as_of):
            return False
        later = conn.execute("SELECT 1 FROM delivery_outbox WHERE channel = ? AND"
                             " fingerprint = ? AND enqueued > (SELECT enqueued FROM"
                             " delivery_outbox WHERE notification_id = ? AND channel = ?)"
                             " LIMIT 1", (row.channel, row.fingerprint,
                                          row.notification_id, row.channel)).fetchone()
        return later is None

    def release(self, conn: Connection, batch: OutboxBatch) -> None:
        """A send that did not finish (the thread was interrupted): back to pending, so a
        live process never leaves its rows `sending`."""
        with transaction(conn):
            conn.executemany("UPDATE delivery_outbox SET state = 'pending',"
                             f" owner = NULL WHERE {MINE}",
                             [(*key, self._owner) for key in batch.keys])

    def record_error(self, conn: Connection, channel: str, error: str,
                     now: datetime) -> None:
        """An error that is not a row's (a failed keep-alive), shown in the stats."""
        with transaction(conn):
            _note_error(conn, channel, error, now)


# A send's outcome touches a row only while this ledger's owner still has it in flight.
MINE = "notification_id = ? AND channel = ? AND state = 'sending' AND owner = ?"


def _settle(conn: Connection, update: str,
            rows: Sequence[tuple[Sequence[object], OutboxRow]]) -> list[OutboxRow]:
    """`update` (a send's outcome, WHERE MINE) run for each row with its parameters; the
    rows it changed: only those count in the channel's figures."""
    return [row for parameters, row in rows if conn.execute(update, parameters).rowcount > 0]


def _not_mine(batch: OutboxBatch, mine: Sequence[OutboxRow]) -> str:
    """For a send's log line: the rows of `batch` another owner took back meanwhile."""
    others = len(batch.rows) - len(mine)
    return (f" ({others} of them taken back meanwhile by another owner, which settles "
            "and counts them)" if others else "")


_COLUMNS = ("notification_id, channel, group_key, group_labels, payload, attempts, batch,"
            " fingerprint, event, lost, enqueued")


def _rows(conn: Connection, where: str, args: Sequence[object]) -> list[OutboxRow]:
    return [OutboxRow(*r) for r in conn.execute(
        f"SELECT {_COLUMNS} FROM delivery_outbox WHERE {where}"
        " ORDER BY enqueued, seq, notification_id", args)]


def unfinished(conn: Connection, t: float, lock: str = "") -> list[tuple[OutboxRow, float]]:
    """Every pending row with when it is due, in creation order; the payload only of
    those due at `t` (a long backlog is read every round). `lock`: a locking clause
    (PostgreSQL's FOR UPDATE SKIP LOCKED)."""
    columns = _COLUMNS.replace("payload", "CASE WHEN due <= ? THEN payload ELSE '' END")
    return [(OutboxRow(*r[:-1]), r[-1]) for r in conn.execute(
        f"SELECT {columns}, due FROM delivery_outbox WHERE state = 'pending'"
        f" ORDER BY enqueued, seq, notification_id {lock}", (t,))]


def _lone(conn: Connection, row: OutboxRow) -> bool:
    """Whether recovery `row` would reach its channel alone: its episode's firing and
    repeats there (the rows since the alert's previous recovery) all ended without
    being delivered. When no such row is left (never routed there, or pruned), it is
    not: a recovery is only withheld on evidence."""
    told = None
    for event, state in conn.execute(
            "SELECT event, state FROM delivery_outbox WHERE channel = ? AND fingerprint = ?"
            " AND notification_id != ? AND enqueued <= (SELECT enqueued FROM delivery_outbox"
            " WHERE notification_id = ? AND channel = ?) ORDER BY enqueued DESC, seq DESC",
            (row.channel, row.fingerprint, row.notification_id, row.notification_id,
             row.channel)):
        if event == "resolved":
            break
        if state in ("pending", "sending"):
            return False            # going out with it (an earlier row holds it otherwise)
        told = bool(told) or state == "delivered"
    return told is False


def _lost_text(gone: Sequence[OutboxRow], kept: Sequence[OutboxRow],
               wait: float | None = None) -> str:
    """What became of the notices given up, for the log line that says so."""
    parts = []
    if kept:
        when = f"every {wait:g}s" if wait is not None else "again"
        parts.append(f"{len(kept)} still owed, kept and tried {when} until the channel "
                     f"takes them ({', '.join(r.notification_id for r in kept)})")
    missed = [r for r in gone if r.event != "resolved"]
    if missed:
        parts.append(f"lost for good, their alerts no longer firing: "
                     f"{', '.join(r.notification_id for r in missed)} (their recoveries "
                     "are withheld from this channel)")
    lost = [r for r in gone if r.event == "resolved"]
    if lost:
        parts.append(f"recoveries lost: {', '.join(r.notification_id for r in lost)}")
    return ": " + "; ".join(parts) if parts else ""


def bump_counts(conn: Connection, channel: str, **counts: int) -> None:
    """Adds `counts` to the channel's delivery figures (both backends' ledgers)."""
    conn.execute("INSERT INTO delivery_channels (channel) VALUES (?) ON CONFLICT DO NOTHING",
                 (channel,))
    sets = ", ".join(f"{name} = {name} + ?" for name in counts)
    conn.execute(f"UPDATE delivery_channels SET {sets} WHERE channel = ?",
                 (*counts.values(), channel))


def _note_error(conn: Connection, channel: str, error: str, now: datetime) -> None:
    conn.execute("INSERT INTO delivery_channels (channel) VALUES (?) ON CONFLICT DO NOTHING",
                 (channel,))
    conn.execute("UPDATE delivery_channels SET last_error = ?, last_error_at = ?"
                 " WHERE channel = ?", (error[:500], now.isoformat(), channel))

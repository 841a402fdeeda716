"""The outbox rows' lifecycle, and each channel's counters, in SQLite.

    pending ──claim_due──► sending ──delivered──► delivered
       ▲                      ├──retry (backoff)──► pending, due later, same batch id
       │                      ├──failed (permanent)──► failed
       └──expire (too old)────┴──release (send interrupted)──► pending
    sending under another process's token ──recover_abandoned──► pending (re-sent)

Each change is its own committed transaction on the caller's connection; a row is
`sending` (committed) before its send starts. A claimed row is an `OutboxRow`; the rows
that go out in one send, an `OutboxBatch`. Rows claimed once keep their batch id, also
across retries and after a crash, so a re-send is the same message (same
Idempotency-Key, deliveryId, Message-ID) and never merges with newer rows. Finished
rows are kept a week, then pruned.
"""
from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from alerts.delivery.timing import Timings
from alerts.model import DeliveryError
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


def batched(rows: Sequence[OutboxRow]) -> list[OutboxBatch]:
    """Rows claimed before (re-sent after a crash, or retried) go as the batch they were
    claimed in, under its id; new rows per (channel, group), at most MAX_BATCH a batch,
    under a new id."""
    kept: dict[tuple[str, str], list[OutboxRow]] = {}
    new: dict[tuple[str, str], list[OutboxRow]] = {}
    for row in rows:
        if row.batch is not None:
            kept.setdefault((row.channel, row.batch), []).append(row)
        else:
            new.setdefault((row.channel, row.group_key), []).append(row)
    batches = [OutboxBatch(batch_id, channel, chunk[0].group_key, tuple(chunk))
               for (channel, batch_id), chunk in kept.items()]
    batches += [OutboxBatch(uuid.uuid4().hex, channel, key, tuple(chunk[i:i + MAX_BATCH]))
                for (channel, key), chunk in new.items()
                for i in range(0, len(chunk), MAX_BATCH)]
    return batches


class Ledger:
    """Moves rows between states. `owner` marks the rows this process claims: rows
    `sending` under another token were left by an earlier process."""

    def __init__(self, owner: str, timings: Timings) -> None:
        self._owner, self._timings = owner, timings
        self._last_prune = float("-inf")

    # ---- before the sends -------------------------------------------------------------

    def recover_abandoned(self, conn: sqlite3.Connection, now: datetime) -> None:
        """Rows left `sending` by an earlier process: the peer may or may not have them.
        At-least-once: send them again."""
        rows = conn.execute("SELECT channel, COUNT(*) FROM delivery_outbox WHERE state ="
                            " 'sending' AND owner IS NOT ? GROUP BY channel",
                            (self._owner,)).fetchall()
        if not rows:
            return
        with transaction(conn):
            conn.execute("UPDATE delivery_outbox SET state = 'pending', due = ?, owner = NULL"
                         " WHERE state = 'sending' AND owner IS NOT ?",
                         (now.timestamp(), self._owner))
            for channel, count in rows:
                _bump(conn, channel, resent_after_restart=count)
                LOG.warning("channel %s: %d deliveries were in flight when the agent stopped;"
                            " sending them again (at-least-once)", channel, count)

    def expire(self, conn: sqlite3.Connection, now: datetime) -> None:
        """Pending rows older than their channel's `expire_after` are given up."""
        t = now.timestamp()
        channels = [r[0] for r in conn.execute(
            "SELECT DISTINCT channel FROM delivery_outbox WHERE state = 'pending'")]
        for channel in channels:
            expire_after = self._timings[channel].expire_after
            with transaction(conn):
                count = conn.execute(
                    "UPDATE delivery_outbox SET state = 'expired', finished = ? WHERE channel = ?"
                    " AND state = 'pending' AND enqueued <= ?",
                    (t, channel, t - expire_after)).rowcount
                if count:
                    _bump(conn, channel, expired=count)
            if count:
                LOG.error("channel %s: %d notifications expired undelivered after %gs",
                          channel, count, expire_after)

    def claim_due(self, conn: sqlite3.Connection, t: float,
                  busy: Collection[str] = ()) -> list[OutboxBatch]:
        """Marks the due rows of channels not `busy` `sending` (committed before any
        send), in batches, and records each row's batch id."""
        with transaction(conn):
            rows = [row for row in (OutboxRow(*r) for r in conn.execute(
                "SELECT notification_id, channel, group_key, group_labels, payload, attempts,"
                " batch FROM delivery_outbox WHERE state = 'pending' AND due <= ?"
                " ORDER BY channel, group_key, enqueued, notification_id", (t,)))
                if row.channel not in busy]
            batches = batched(rows)
            conn.executemany("UPDATE delivery_outbox SET state = 'sending', owner = ?,"
                             " batch = ? WHERE notification_id = ? AND channel = ?",
                             [(self._owner, b.id, *key) for b in batches for key in b.keys])
        return batches

    def prune(self, conn: sqlite3.Connection, t: float) -> None:
        """Deletes rows finished more than KEEP_FINISHED_SECONDS ago (hourly)."""
        if t - self._last_prune >= PRUNE_EVERY_SECONDS:
            conn.execute("DELETE FROM delivery_outbox WHERE state IN"
                         " ('delivered', 'failed', 'expired') AND finished < ?",
                         (t - KEEP_FINISHED_SECONDS,))
            self._last_prune = t

    # ---- after a send -----------------------------------------------------------------

    def delivered(self, conn: sqlite3.Connection, batch: OutboxBatch, now: datetime) -> None:
        t = now.timestamp()
        with transaction(conn):
            conn.executemany("UPDATE delivery_outbox SET state = 'delivered', finished = ?,"
                             " owner = NULL WHERE notification_id = ? AND channel = ?",
                             [(t, *key) for key in batch.keys])
            conn.execute("INSERT INTO delivery_groups (channel, group_key, last_sent)"
                         " VALUES (?, ?, ?)"
                         " ON CONFLICT DO UPDATE SET last_sent = excluded.last_sent",
                         (batch.channel, batch.group_key, t))
            _bump(conn, batch.channel, delivered=len(batch.rows))
            conn.execute("UPDATE delivery_channels SET last_delivery_at = ? WHERE channel = ?",
                         (now.isoformat(), batch.channel))
        LOG.info("channel %s: delivered %d notification(s) for group %s", batch.channel,
                 len(batch.rows), batch.group_key or "-")

    def retry(self, conn: sqlite3.Connection, batch: OutboxBatch, now: datetime,
              error: DeliveryError) -> None:
        """Back to pending, due after an exponential backoff (at least the peer's
        Retry-After)."""
        attempts = max(r.attempts for r in batch.rows) + 1
        timing = self._timings[batch.channel]
        wait = max(backoff(attempts, timing.retry_initial, timing.retry_max),
                   error.retry_after or 0.0)
        with transaction(conn):
            conn.executemany("UPDATE delivery_outbox SET state = 'pending', owner = NULL,"
                             " attempts = ?, due = ?, last_error = ? WHERE notification_id = ?"
                             " AND channel = ?",
                             [(attempts, now.timestamp() + wait, str(error), *key)
                              for key in batch.keys])
            _bump(conn, batch.channel, retries=1)
            _note_error(conn, batch.channel, str(error), now)
        LOG.warning("channel %s: delivery failed (%s); try %d in %gs", batch.channel, error,
                    attempts + 1, wait)

    def failed(self, conn: sqlite3.Connection, batch: OutboxBatch, now: datetime,
               error: DeliveryError) -> None:
        """Given up: a permanent error."""
        with transaction(conn):
            conn.executemany("UPDATE delivery_outbox SET state = 'failed', owner = NULL,"
                             " finished = ?, last_error = ? WHERE notification_id = ?"
                             " AND channel = ?",
                             [(now.timestamp(), str(error), *key) for key in batch.keys])
            _bump(conn, batch.channel, failed=len(batch.rows))
            _note_error(conn, batch.channel, str(error), now)
        LOG.error("channel %s: %d notification(s) not delivered, giving up: %s",
                  batch.channel, len(batch.rows), error)

    def release(self, conn: sqlite3.Connection, batch: OutboxBatch) -> None:
        """A send that did not finish (the thread was interrupted): back to pending, so a
        live process never leaves its rows `sending`."""
        with transaction(conn):
            conn.executemany("UPDATE delivery_outbox SET state = 'pending',"
                             " owner = NULL WHERE notification_id = ?"
                             " AND channel = ? AND state = 'sending'", batch.keys)

    def record_error(self, conn: sqlite3.Connection, channel: str, error: str,
                     now: datetime) -> None:
        """An error that is not a row's (a failed keep-alive), shown in the stats."""
        with transaction(conn):
            _note_error(conn, channel, error, now)


def _bump(conn: sqlite3.Connection, channel: str, **counts: int) -> None:
    conn.execute("INSERT INTO delivery_channels (channel) VALUES (?) ON CONFLICT DO NOTHING",
                 (channel,))
    sets = ", ".join(f"{name} = {name} + ?" for name in counts)
    conn.execute(f"UPDATE delivery_channels SET {sets} WHERE channel = ?",
                 (*counts.values(), channel))


def _note_error(conn: sqlite3.Connection, channel: str, error: str, now: datetime) -> None:
    conn.execute("INSERT INTO delivery_channels (channel) VALUES (?) ON CONFLICT DO NOTHING",
                 (channel,))
    conn.execute("UPDATE delivery_channels SET last_error = ?, last_error_at = ?"
                 " WHERE channel = ?", (error[:500], now.isoformat(), channel))

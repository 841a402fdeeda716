"""The delivery outbox: every (notification, channel) pair kept in SQLite until delivered,
failed for good, or expired.

Flow
  engine transaction ──enqueue──► rows `pending` (one per notification and routed channel)
  delivery thread ──deliver_due──► due rows claimed as `sending` (committed) in batches,
      each with a batch id, per (channel, group key); each channel's batches handed to
      that channel's own worker thread: ONE `Channel.send` per batch, then `delivered`, or
      back to `pending` with an exponential backoff, or `failed` (permanent error), or
      `expired`.

Slow channels: `deliver_due` never waits for a send. A channel whose worker is still busy
(a dead SMTP server timing out group after group) is skipped by the next rounds, its rows
left pending and unclaimed, while the other channels' workers keep delivering.

Grouping: the first row of a burst in a group is due `group_wait` after it was enqueued;
rows that arrive while it waits join it. After a group was sent, its next batch waits at
least `group_interval` since that send.

The crash window, and the side chosen: **at-least-once on every channel**. A row is marked
`sending` in a committed transaction before the send and `delivered` after it. If the
agent dies between the peer accepting and our commit (milliseconds), the next agent finds
rows `sending` by a previous process and sends them again, counting them as
`resent_after_restart` and logging it: each batch as it was claimed (its rows keep their
batch id, also across retries, and never merge with newer rows), so the re-send is the
same message. Losing a notification (above all a recovery) costs
more than a rare duplicate, and each channel makes the duplicate recognisable:
Alertmanager merges a re-posted alert by its labels (idempotent), a webhook re-post
carries the same `Idempotency-Key` header and `deliveryId`, a re-sent mail the same
Message-ID, and a log line is harmless. One agent per state directory is assumed (the
rows `sending` of another live process would be taken as abandoned).
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import closing as _closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alerts.delivery import codec
from alerts.delivery.retry import backoff
from alerts.delivery.routing import route
from alerts.model import Alert, Channel, DeliveryError, Notification
from config.model import DeliveryTiming
from inventory.model import Config

LOG = logging.getLogger("lifeline.alerts.outbox")

MAX_BATCH = 100                 # notifications per send: one mail, one POST
KEEP_FINISHED_SECONDS = 7 * 86400
PRUNE_EVERY_SECONDS = 3600
CLOSE_WAIT_SECONDS = 30.0       # at close, for sends in flight to finish and be recorded
BUSY_TIMEOUT_MS = 10_000
# Rows `sending` under another token were left by an earlier process (see the docstring);
# one token per process, so an Outbox rebuilt on a config reload never takes its own rows.
_PROCESS = uuid.uuid4().hex

SCHEMA = """
CREATE TABLE IF NOT EXISTS delivery_outbox (
    notification_id TEXT NOT NULL,
    channel         TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    group_labels    TEXT NOT NULL,              -- JSON object
    fingerprint     TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,              -- the Notification as JSON
    state           TEXT NOT NULL DEFAULT 'pending',  -- pending|sending|delivered|failed|expired
    enqueued        REAL NOT NULL,              -- epoch seconds of the injected clock
    due             REAL NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    owner           TEXT,                       -- the Outbox instance that claimed it
    finished        REAL,
    last_error      TEXT,
    batch           TEXT,                       -- set when first claimed; kept for re-sends
    PRIMARY KEY (notification_id, channel)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivery_outbox_due ON delivery_outbox (state, due);
CREATE TABLE IF NOT EXISTS delivery_channels (
    channel              TEXT PRIMARY KEY,
    delivered            INTEGER NOT NULL DEFAULT 0,
    failed               INTEGER NOT NULL DEFAULT 0,
    expired              INTEGER NOT NULL DEFAULT 0,
    retries              INTEGER NOT NULL DEFAULT 0,
    resent_after_restart INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    last_error_at        TEXT,
    last_delivery_at     TEXT
);
CREATE TABLE IF NOT EXISTS delivery_groups (
    channel   TEXT NOT NULL,
    group_key TEXT NOT NULL,
    last_sent REAL NOT NULL,
    PRIMARY KEY (channel, group_key)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class _Row:
    notification_id: str
    channel: str
    group_key: str
    group_labels: str
    payload: str
    attempts: int
    batch: str | None


@dataclass(frozen=True, slots=True)
class _Batch:
    id: str
    channel: str
    group_key: str
    rows: tuple[_Row, ...]

    @property
    def keys(self) -> list[tuple[str, str]]:
        return [(r.notification_id, r.channel) for r in self.rows]


def connect(db_path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, with a busy wait."""
    if read_only:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


class Outbox:
    """Routes notifications to channels, keeps them in SQLite and delivers them.

    `enqueue` runs on the engine's thread and connection; `deliver_due` on a delivery
    thread, which starts one worker thread per channel with work; `stats` anywhere. Each
    of the latter uses its own connection."""

    def __init__(self, db_path: Path, config: Config, channels: Mapping[str, Channel],
                 clock: Callable[[], datetime]) -> None:
        self.db_path = db_path
        self.config = config
        self.channels = dict(channels)
        self.clock = clock
        self.policies = {spec.name: spec.delivery for spec in config.alerts.channels}
        self._names = [spec.name for spec in config.alerts.channels]
        self._owner = _PROCESS
        self._lock = threading.Lock()
        self._active: tuple[Alert, ...] = ()
        self._last_refresh: dict[str, float] = {}
        self._recovered = False
        self._last_prune = float("-inf")
        self._workers: dict[str, threading.Thread] = {}
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with _closing(connect(db_path)) as conn:
            conn.executescript(SCHEMA)
            columns = {r[1] for r in conn.execute("PRAGMA table_info(delivery_outbox)")}
            if "batch" not in columns:          # a database from before batch ids
                conn.execute("ALTER TABLE delivery_outbox ADD COLUMN batch TEXT")

    def take_over(self, previous: Outbox) -> None:
        """After a reload in the same process: the old outbox's workers still sending keep
        their channels busy here too, and the keep-alive goes on where it was."""
        with previous._lock:
            self._workers = {k: w for k, w in previous._workers.items() if w.is_alive()}
            self._last_refresh = dict(previous._last_refresh)
            self._active = previous._active
            self._recovered = previous._recovered

    def close(self, timeout: float = CLOSE_WAIT_SECONDS) -> None:
        """Waits up to `timeout` seconds for the sends in flight (their outcome recorded).
        A send still running after that is left: its rows, `sending`, go out again after
        the next start (at-least-once)."""
        with self._lock:
            workers = list(self._workers.values())
        _join(workers, timeout)

    def policy(self, channel: str) -> DeliveryTiming:
        return self.policies.get(channel, DeliveryTiming())

    # ---- enqueue: inside the engine's transaction -------------------------------------

    def enqueue(self, conn: sqlite3.Connection, notifications: Sequence[Notification]) -> None:
        """Route each notification and add one row per channel; the same id twice is a
        no-op. Runs in the caller's open transaction and never commits."""
        now = self.clock().timestamp()
        for notification in notifications:
            destinations = route(notification.alert, self.config.alerts.routes, self._names)
            if not destinations:
                LOG.info("notification %s (%s) matches no route", notification.id,
                         notification.alert.rule)
            payload = codec.dumps(notification)
            for dest in destinations:
                due = self._due_for_new(conn, dest.channel, dest.group_key, now)
                conn.execute(
                    "INSERT OR IGNORE INTO delivery_outbox (notification_id, channel, group_key,"
                    " group_labels, fingerprint, event, payload, enqueued, due)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (notification.id, dest.channel, dest.group_key,
                     json.dumps(dict(dest.group_labels), ensure_ascii=False),
                     notification.alert.fingerprint, notification.event, payload, now, due))

    def _due_for_new(self, conn: sqlite3.Connection, channel: str, group_key: str,
                     now: float) -> float:
        """Join the group's waiting first-try batch, or start one `group_wait` from now
        (and no sooner than `group_interval` after the group's last send)."""
        waiting = conn.execute(
            "SELECT MIN(due) FROM delivery_outbox WHERE channel = ? AND group_key = ?"
            " AND state = 'pending' AND attempts = 0 AND batch IS NULL",
            (channel, group_key)).fetchone()[0]
        if waiting is not None:
            return float(waiting)
        policy = self.policy(channel)
        due = now + policy.group_wait
        last = conn.execute("SELECT last_sent FROM delivery_groups WHERE channel = ?"
                            " AND group_key = ?", (channel, group_key)).fetchone()
        if last is not None:
            due = max(due, last[0] + policy.group_interval)
        return due

    # ---- deliver: on the delivery thread ----------------------------------------------

    def deliver_due(self, *, wait: bool = False) -> None:
        """One delivery round: claims the due batches of every channel whose worker is
        idle and starts a worker per such channel to send them (and to re-post the
        Alertmanager keep-alive when due); the outcome of each send is recorded by its
        worker. Returns at once, or with `wait` once the workers this round started are
        done (tests, and a last round before `close`). A channel still busy from an
        earlier round is not waited for and not given more work."""
        with self._lock:
            with _closing(connect(self.db_path)) as conn:
                now = self.clock()
                t = now.timestamp()
                if not self._recovered:
                    self._recover_abandoned(conn, now)
                    self._recovered = True
                self._expire(conn, now)
                busy = {name for name, w in self._workers.items() if w.is_alive()}
                work: dict[str, list[_Batch]] = {}
                for batch in self._claim_due(conn, t, busy):
                    work.setdefault(batch.channel, []).append(batch)
                refresh = self._refresh_due(t, busy)
                for name in refresh:
                    work.setdefault(name, [])
                self._prune(conn, t)
            started = [self._start(name, batches, name in refresh, now)
                       for name, batches in work.items()]
        if wait:
            _join(started, None)

    def _start(self, channel: str, batches: list[_Batch], refresh: bool,
               now: datetime) -> threading.Thread:
        worker = threading.Thread(target=self._work, args=(channel, batches, refresh, now),
                                  name=f"lifeline-delivery-{channel}", daemon=True)
        self._workers[channel] = worker
        worker.start()
        return worker

    def _work(self, channel: str, batches: list[_Batch], refresh: bool,
              now: datetime) -> None:
        """One channel's share of a round, on its own thread and connection: its sends,
        then (after them: a recovery just sent is not re-posted) its keep-alive."""
        try:
            with _closing(connect(self.db_path)) as conn:
                self._deliver_channel(conn, batches, now)
                if refresh:
                    self._refresh(conn, channel, self.clock())
        except Exception:       # recorded and logged: the next round tries again
            LOG.exception("channel %s: delivery stopped by an internal error", channel)

    def _prune(self, conn: sqlite3.Connection, t: float) -> None:
        if t - self._last_prune >= PRUNE_EVERY_SECONDS:
            conn.execute("DELETE FROM delivery_outbox WHERE state IN"
                         " ('delivered', 'failed', 'expired') AND finished < ?",
                         (t - KEEP_FINISHED_SECONDS,))
            self._last_prune = t

    def _recover_abandoned(self, conn: sqlite3.Connection, now: datetime) -> None:
        """Rows left `sending` by an earlier process: the peer may or may not have them.
        At-least-once: send them again (see the module docstring)."""
        rows = conn.execute("SELECT channel, COUNT(*) FROM delivery_outbox WHERE state ="
                            " 'sending' AND owner IS NOT ? GROUP BY channel",
                            (self._owner,)).fetchall()
        if not rows:
            return
        with _transaction(conn):
            conn.execute("UPDATE delivery_outbox SET state = 'pending', due = ?, owner = NULL"
                         " WHERE state = 'sending' AND owner IS NOT ?",
                         (now.timestamp(), self._owner))
            for channel, count in rows:
                _bump(conn, channel, resent_after_restart=count)
                LOG.warning("channel %s: %d deliveries were in flight when the agent stopped;"
                            " sending them again (at-least-once)", channel, count)

    def _expire(self, conn: sqlite3.Connection, now: datetime) -> None:
        t = now.timestamp()
        channels = [r[0] for r in conn.execute(
            "SELECT DISTINCT channel FROM delivery_outbox WHERE state = 'pending'")]
        for channel in channels:
            limit = t - self.policy(channel).expire_after
            with _transaction(conn):
                count = conn.execute(
                    "UPDATE delivery_outbox SET state = 'expired', finished = ? WHERE channel = ?"
                    " AND state = 'pending' AND enqueued <= ?", (t, channel, limit)).rowcount
                if count:
                    _bump(conn, channel, expired=count)
            if count:
                LOG.error("channel %s: %d notifications expired undelivered after %gs",
                          channel, count, self.policy(channel).expire_after)

    def _claim_due(self, conn: sqlite3.Connection, t: float,
                   busy: Collection[str] = ()) -> list[_Batch]:
        """Mark the due rows of channels not `busy` `sending` (committed before any
        send), in batches, and record each row's batch id."""
        with _transaction(conn):
            rows = [row for row in (_Row(*r) for r in conn.execute(
                "SELECT notification_id, channel, group_key, group_labels, payload, attempts,"
                " batch FROM delivery_outbox WHERE state = 'pending' AND due <= ?"
                " ORDER BY channel, group_key, enqueued, notification_id", (t,)))
                if row.channel not in busy]
            batches = _batched(rows)
            conn.executemany("UPDATE delivery_outbox SET state = 'sending', owner = ?,"
                             " batch = ? WHERE notification_id = ? AND channel = ?",
                             [(self._owner, b.id, *key) for b in batches for key in b.keys])
        return batches

    def _deliver_channel(self, conn: sqlite3.Connection, batches: list[_Batch],
                         now: datetime) -> None:
        for batch in batches:
            try:
                self._send(conn, batch, now)
            except BaseException:
                # Never leave our rows `sending` in a live process: back to pending.
                with _transaction(conn):
                    conn.executemany("UPDATE delivery_outbox SET state = 'pending',"
                                     " owner = NULL WHERE notification_id = ?"
                                     " AND channel = ? AND state = 'sending'", batch.keys)
                raise

    def _send(self, conn: sqlite3.Connection, batch: _Batch, now: datetime) -> None:
        channel = self.channels.get(batch.channel)
        if channel is None:
            self._failed(conn, batch, now, DeliveryError(
                f"channel {batch.channel} is not configured any more", retryable=False))
            return
        notifications = [codec.loads(r.payload) for r in batch.rows]
        group = json.loads(batch.rows[0].group_labels)
        try:
            channel.send(notifications, group)
        except DeliveryError as exc:
            if exc.retryable:
                self._retry(conn, batch, now, exc)
            else:
                self._failed(conn, batch, now, exc)
            return
        except Exception as exc:   # a bug in a channel must not stop delivery to others
            LOG.exception("channel %s: unexpected error while sending", batch.channel)
            self._retry(conn, batch, now, DeliveryError(f"internal error: {type(exc).__name__}"))
            return
        self._delivered(conn, batch, now)

    def _delivered(self, conn: sqlite3.Connection, batch: _Batch, now: datetime) -> None:
        t = now.timestamp()
        with _transaction(conn):
            conn.executemany("UPDATE delivery_outbox SET state = 'delivered', finished = ?,"
                             " owner = NULL WHERE notification_id = ? AND channel = ?",
                             [(t, *key) for key in batch.keys])
            conn.execute("INSERT INTO delivery_groups (channel, group_key, last_sent)"
                         " VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET last_sent = excluded.last_sent",
                         (batch.channel, batch.group_key, t))
            _bump(conn, batch.channel, delivered=len(batch.rows))
            conn.execute("UPDATE delivery_channels SET last_delivery_at = ? WHERE channel = ?",
                         (now.isoformat(), batch.channel))
        LOG.info("channel %s: delivered %d notification(s) for group %s", batch.channel,
                 len(batch.rows), batch.group_key or "-")

    def _retry(self, conn: sqlite3.Connection, batch: _Batch, now: datetime,
               error: DeliveryError) -> None:
        attempts = max(r.attempts for r in batch.rows) + 1
        policy = self.policy(batch.channel)
        wait = max(backoff(attempts, policy.retry_initial, policy.retry_max),
                   error.retry_after or 0.0)
        with _transaction(conn):
            conn.executemany("UPDATE delivery_outbox SET state = 'pending', owner = NULL,"
                             " attempts = ?, due = ?, last_error = ? WHERE notification_id = ?"
                             " AND channel = ?",
                             [(attempts, now.timestamp() + wait, str(error), *key)
                              for key in batch.keys])
            _bump(conn, batch.channel, retries=1)
            _record_error(conn, batch.channel, str(error), now)
        LOG.warning("channel %s: delivery failed (%s); try %d in %gs", batch.channel, error,
                    attempts + 1, wait)

    def _failed(self, conn: sqlite3.Connection, batch: _Batch, now: datetime,
                error: DeliveryError) -> None:
        with _transaction(conn):
            conn.executemany("UPDATE delivery_outbox SET state = 'failed', owner = NULL,"
                             " finished = ?, last_error = ? WHERE notification_id = ?"
                             " AND channel = ?",
                             [(now.timestamp(), str(error), *key) for key in batch.keys])
            _bump(conn, batch.channel, failed=len(batch.rows))
            _record_error(conn, batch.channel, str(error), now)
        LOG.error("channel %s: %d notification(s) not delivered, giving up: %s",
                  batch.channel, len(batch.rows), error)

    # ---- Alertmanager keep-alive -------------------------------------------------------

    def refresh_active(self, alerts: Sequence[Alert]) -> None:
        """The alerts still firing, as the engine sees them now. Channels that need it
        (Alertmanager) get them re-posted by `deliver_due` every `refresh_interval`."""
        self._active = tuple(alerts)   # one assignment: atomic for the delivery thread

    @property
    def _refreshing(self) -> dict[str, float]:
        """The channels with a keep-alive, and its interval."""
        found = {}
        for name, channel in self.channels.items():
            interval = float(getattr(channel, "refresh_interval", 0) or 0)
            if getattr(channel, "refresh", None) is not None and interval > 0:
                found[name] = interval
        return found

    def _refresh_due(self, t: float, busy: Collection[str]) -> set[str]:
        """The idle channels whose keep-alive is due now (marked as done)."""
        due = {name for name, interval in self._refreshing.items() if name not in busy
               and t - self._last_refresh.get(name, float("-inf")) >= interval}
        for name in due:
            self._last_refresh[name] = t
        return due

    def _refresh(self, conn: sqlite3.Connection, name: str, now: datetime) -> None:
        alerts = self._routed_and_delivered(conn, name)
        try:
            self.channels[name].refresh(alerts)  # type: ignore[attr-defined]
        except DeliveryError as exc:
            with _transaction(conn):
                _record_error(conn, name, f"refresh: {exc}", now)
            LOG.warning("channel %s: re-posting %d firing alerts failed: %s", name,
                        len(alerts), exc)

    def _routed_and_delivered(self, conn: sqlite3.Connection, channel: str) -> list[Alert]:
        """The active alerts routed to `channel`, less those with a notice still waiting
        there (their own send comes first, after group_wait) and those whose latest notice
        there is a recovery (the engine's active list may predate it: re-posting them as
        firing would undo the recovery)."""
        skip, latest = set(), {}
        for fp, event, state in conn.execute(
                "SELECT fingerprint, event, state FROM delivery_outbox WHERE channel = ?"
                " ORDER BY enqueued, event = 'resolved'", (channel,)):
            latest[fp] = event
            if state in ("pending", "sending"):
                skip.add(fp)
        skip.update(fp for fp, event in latest.items() if event == "resolved")
        return [alert for alert in self._active
                if alert.fingerprint not in skip and any(
                    d.channel == channel
                    for d in route(alert, self.config.alerts.routes, self._names))]

    # ---- status ------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Per channel: pending, delivered, failed, expired, retries, resent_after_restart,
        last_error (secret-free), last_error_at, last_delivery_at, oldest_pending."""
        with _closing(connect(self.db_path)) as conn:
            return _read_stats(conn, self._names)


def delivery_status(db_path: Path) -> dict[str, Any]:
    """`Outbox.stats()` read-only from another process (`lifeline status`); {} when the
    agent has not created its database yet."""
    if not db_path.exists():
        return {}
    with _closing(connect(db_path, read_only=True)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "delivery_outbox" not in tables:
            return {}
        return _read_stats(conn, ())


_COUNTERS = ("delivered", "failed", "expired", "retries", "resent_after_restart")
_NOTES = ("last_error", "last_error_at", "last_delivery_at")


def _empty_stats() -> dict[str, Any]:
    return {"pending": 0, **dict.fromkeys(_COUNTERS, 0), **dict.fromkeys(_NOTES),
            "oldest_pending": None}


def _read_stats(conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, Any]:
    result: dict[str, dict[str, Any]] = {name: _empty_stats() for name in names}
    columns = (*_COUNTERS, *_NOTES)
    for row in conn.execute(f"SELECT channel, {', '.join(columns)} FROM delivery_channels"):
        result.setdefault(row[0], _empty_stats()).update(zip(columns, row[1:]))
    for channel, count, oldest in conn.execute(
            "SELECT channel, COUNT(*), MIN(enqueued) FROM delivery_outbox"
            " WHERE state IN ('pending', 'sending') GROUP BY channel"):
        entry = result.setdefault(channel, _empty_stats())
        entry["pending"] = count
        entry["oldest_pending"] = datetime.fromtimestamp(oldest, UTC).isoformat()
    return dict(sorted(result.items()))


def _batched(rows: Sequence[_Row]) -> list[_Batch]:
    """Rows claimed before (re-sent after a crash, or retried) go as the batch they were
    claimed in, under its id; new rows per (channel, group), at most MAX_BATCH a batch,
    under a new id."""
    kept: dict[tuple[str, str], list[_Row]] = {}
    new: dict[tuple[str, str], list[_Row]] = {}
    for row in rows:
        if row.batch is not None:
            kept.setdefault((row.channel, row.batch), []).append(row)
        else:
            new.setdefault((row.channel, row.group_key), []).append(row)
    batches = [_Batch(batch_id, channel, chunk[0].group_key, tuple(chunk))
               for (channel, batch_id), chunk in kept.items()]
    batches += [_Batch(uuid.uuid4().hex, channel, key, tuple(chunk[i:i + MAX_BATCH]))
                for (channel, key), chunk in new.items()
                for i in range(0, len(chunk), MAX_BATCH)]
    return batches


def _join(threads: Sequence[threading.Thread], timeout: float | None) -> None:
    """Joins `threads`, all within `timeout` seconds in total (None: no limit)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))


def _bump(conn: sqlite3.Connection, channel: str, **counts: int) -> None:
    conn.execute("INSERT INTO delivery_channels (channel) VALUES (?) ON CONFLICT DO NOTHING",
                 (channel,))
    sets = ", ".join(f"{name} = {name} + ?" for name in counts)
    conn.execute(f"UPDATE delivery_channels SET {sets} WHERE channel = ?",
                 (*counts.values(), channel))


def _record_error(conn: sqlite3.Connection, channel: str, error: str, now: datetime) -> None:
    conn.execute("INSERT INTO delivery_channels (channel) VALUES (?) ON CONFLICT DO NOTHING",
                 (channel,))
    conn.execute("UPDATE delivery_channels SET last_error = ?, last_error_at = ?"
                 " WHERE channel = ?", (error[:500], now.isoformat(), channel))


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if kind else "COMMIT")

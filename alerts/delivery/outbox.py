"""The delivery outbox: every (notification, channel) pair kept in SQLite until delivered,
failed for good, or expired.

Flow
  engine transaction ──enqueue──► rows `pending` (one per notification and routed channel)
  delivery thread ──deliver_due──► due rows claimed as `sending` (committed) in batches,
      each with a batch id, per (channel, group key), in creation order; each channel's
      batches handed to that channel's own worker thread: ONE `Channel.send` per batch,
      then `delivered`, or back to `pending` with an exponential backoff, or `failed`
      (permanent error), or `expired`; a notice still owed (a firing while its alert
      fires, a recovery) is kept instead, and a recovery whose firing never reached the
      channel is `withheld` (ledger.py, "Lost notices").

    dispatch.py   enqueue: routing (routing.py), grouping, when each row is due
    ledger.py     the rows' states: claim, outcome, expiry, recovery, pruning, counters
    send.py       one send per batch and its outcome
    workers.py    a worker thread per channel
    keepalive.py  firing alerts re-posted to Alertmanager
    stats.py      each channel's figures
    outbox.py     this wiring, and the tables ("outbox" schema in alerts.db)

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

import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from datetime import datetime
from functools import partial
from pathlib import Path

from alerts.delivery.backend import OutboxBackend
from alerts.delivery.dispatch import Dispatcher
from alerts.delivery.keepalive import KeepAlive
from alerts.delivery.ledger import Firing, Ledger, OutboxBatch
from alerts.delivery.send import send_batches
from alerts.delivery.stats import read_stats
from alerts.delivery.timing import Timings
from alerts.delivery.workers import Workers, join
from alerts.model import Alert, Channel, ChannelStats, Clock, Notification
from config.db import Connection
from config.sqlite import Schema, connect, open_database, transaction
from inventory.model import Config

LOG = logging.getLogger("lifeline.alerts.outbox")

CLOSE_WAIT_SECONDS = 30.0       # at close, for sends in flight to finish and be recorded
# Rows `sending` under another token were left by an earlier process (see the docstring);
# one token per process, so an Outbox rebuilt on a config reload never takes its own rows.
PROCESS_TOKEN = uuid.uuid4().hex


def _add_batch_column(conn: sqlite3.Connection) -> None:
    """Batch ids, set when a row is first claimed and kept for its re-sends. The code
    before schema versions made the table with them or, earlier still, without."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(delivery_outbox)")}
    if "batch" not in columns:
        conn.execute("ALTER TABLE delivery_outbox ADD COLUMN batch TEXT")


# Migration 1 is what the code before schema versions created (IF NOT EXISTS), so it
# adopts such a database as it is.
SCHEMA = Schema("outbox", ("""
CREATE TABLE IF NOT EXISTS delivery_outbox (
    notification_id TEXT NOT NULL,
    channel         TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    group_labels    TEXT NOT NULL,              -- JSON object
    fingerprint     TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,              -- the Notification as JSON
    state           TEXT NOT NULL DEFAULT 'pending',  -- pending|sending|delivered|failed|
                                                -- expired|withheld
    enqueued        REAL NOT NULL,              -- epoch seconds of the injected clock
    due             REAL NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    owner           TEXT,                       -- the process that claimed it
    finished        REAL,
    last_error      TEXT,
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
) WITHOUT ROWID
""", _add_batch_column, """
ALTER TABLE delivery_outbox ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;  -- times given up
ALTER TABLE delivery_outbox ADD COLUMN requeued REAL;   -- last given up and kept (owed)
ALTER TABLE delivery_channels ADD COLUMN retold INTEGER NOT NULL DEFAULT 0;
ALTER TABLE delivery_channels ADD COLUMN withheld INTEGER NOT NULL DEFAULT 0;
ALTER TABLE delivery_outbox ADD COLUMN seq INTEGER;     -- creation order (ties of enqueued)
CREATE INDEX delivery_outbox_seq ON delivery_outbox (seq)
"""))


class SqliteOutbox:
    """The outbox's rows in a SQLite file (alerts/delivery/backend.py)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def prepare(self) -> None:
        open_database(self.db_path, SCHEMA).close()

    def connect(self) -> closing[sqlite3.Connection]:
        return closing(connect(self.db_path))

    def ledger(self, owner: str, timings: Timings, firing: Callable[[], Firing]) -> Ledger:
        return Ledger(owner, timings, firing)

    def shift_times(self, conn: Connection, delta: float) -> None:
        with transaction(conn):
            conn.execute("UPDATE delivery_outbox SET enqueued = enqueued + :d,"
                         " due = due + :d, requeued = requeued + :d,"
                         " finished = finished + :d", {"d": delta})
            conn.execute("UPDATE delivery_groups SET last_sent = last_sent + :d",
                         {"d": delta})


class Outbox:
    """Routes notifications to channels, keeps them (`backend`: SQLite for a path, or the
    cluster's PostgreSQL) and delivers them.

    `enqueue` runs on the engine's thread and connection; `deliver_due` on a delivery
    thread, which starts one worker thread per channel with work; `stats` anywhere. Each
    of the latter uses its own connection. Raises config.sqlite.SchemaError for a
    file a newer Lifeline wrote."""

    def __init__(self, backend: Path | OutboxBackend, config: Config,
                 channels: Mapping[str, Channel], clock: Clock) -> None:
        self._backend = SqliteOutbox(backend) if isinstance(backend, Path) else backend
        self.db_path = backend if isinstance(backend, Path) else None   # SQLite's file
        self.channels = dict(channels)
        self.clock = clock
        names = [spec.name for spec in config.alerts.delivery_channels]
        timings = Timings(config.alerts.delivery_channels)
        self._names = names
        self._dispatcher = Dispatcher(config.alerts.routes, names, timings)
        # told and firing, per the engine, and when it said so
        self._firing: Firing = (frozenset(), None)
        self._ledger = self._backend.ledger(PROCESS_TOKEN, timings, lambda: self._firing)
        self._keepalive = KeepAlive(self.channels, config.alerts.routes, names)
        self._workers = Workers()
        self._lock = threading.Lock()
        self._recovered = False
        self._backend.prepare()

    def take_over(self, previous: Outbox) -> None:
        """After a reload in the same process: the old outbox's workers still sending keep
        their channels busy here too, and the keep-alive goes on where it was."""
        with previous._lock:
            self._workers.adopt(previous._workers)
            self._keepalive.continue_from(previous._keepalive)
            self._firing = previous._firing
            self._recovered = previous._recovered

    def close(self, timeout: float = CLOSE_WAIT_SECONDS) -> None:
        """Waits up to `timeout` seconds for the sends in flight (their outcome recorded).
        A send still running after that is left: its rows, `sending`, go out again after
        the next start (at-least-once)."""
        with self._lock:
            workers = self._workers.all()
        join(workers, timeout)

    def enqueue(self, conn: Connection, notifications: Sequence[Notification]) -> None:
        """Route each notification and add one row per channel; the same id twice is a
        no-op. Runs in the caller's open transaction and never commits."""
        self._dispatcher.enqueue(conn, notifications, self.clock().timestamp())

    def refresh_active(self, alerts: Sequence[Alert]) -> None:
        """The alerts still firing (their firing told), as the engine sees them now.
        Channels that need it (Alertmanager) get them re-posted by `deliver_due` every
        `refresh_interval`; a firing notice a channel missed stays owed while its alert
        is among them (ledger.py)."""
        self._keepalive.set_active(alerts)
        self._firing = (frozenset(a.fingerprint for a in alerts),   # one atomic assignment
                        self.clock().timestamp())

    def deliver_due(self, *, wait: bool = False) -> None:
        """One delivery round: claims the due batches of every channel whose worker is
        idle and starts a worker per such channel to send them (and to re-post the
        Alertmanager keep-alive when due); the outcome of each send is recorded by its
        worker. Returns at once, or with `wait` once the workers this round started are
        done (tests, and a last round before `close`). A channel still busy from an
        earlier round is not waited for and not given more work."""
        with self._lock:
            with self._backend.connect() as conn:
                now = self.clock()
                t = now.timestamp()
                if not self._recovered:
                    self._ledger.recover_abandoned(conn, now)
                    self._recovered = True
                self._ledger.expire(conn, now)
                busy = self._workers.busy()
                work: dict[str, list[OutboxBatch]] = {}
                for batch in self._ledger.claim_due(conn, t, busy):
                    work.setdefault(batch.channel, []).append(batch)
                refresh = self._keepalive.due(t, busy)
                for name in refresh:
                    work.setdefault(name, [])
                self._ledger.prune(conn, t)
            started = [self._workers.start(name, partial(self._work, name, batches,
                                                         name in refresh, now))
                       for name, batches in work.items()]
        if wait:
            join(started, None)

    def shift_times(self, delta: float) -> None:
        """The wall clock was stepped by `delta` seconds (+ forward): every time the
        outbox keeps moves by it (each row's enqueued, due, requeued and finished time,
        each group's last send, the keep-alive's last re-post, when the engine last said
        what fires), so a group_wait, a backoff or an expire_after keeps its real length.
        One UPDATE per table, between delivery rounds. A send in flight records its
        outcome by the time its round started (before or after the step)."""
        with self._lock:
            with self._backend.connect() as conn:
                self._backend.shift_times(conn, delta)
            self._keepalive.shift_times(delta)
            fingerprints, as_of = self._firing
            self._firing = (fingerprints, None if as_of is None else as_of + delta)

    def stats(self) -> dict[str, ChannelStats]:
        """Each channel's delivery figures."""
        with self._backend.connect() as conn:
            return read_stats(conn, self._names)

    def _work(self, channel: str, batches: list[OutboxBatch], refresh: bool,
              now: datetime) -> None:
        """One channel's share of a round, on its own thread and connection: its sends,
        then (after them: a recovery just sent is not re-posted) its keep-alive."""
        try:
            with self._backend.connect() as conn:
                send_batches(conn, self._ledger, self.channels, batches, now)
                if refresh:
                    self._keepalive.refresh(conn, self._ledger, channel, self.clock())
        except Exception:       # recorded and logged: the next round tries again
            LOG.exception("channel %s: delivery stopped by an internal error", channel)

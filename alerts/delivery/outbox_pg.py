"""The outbox on the cluster's PostgreSQL (alerts/delivery/backend.py): the tables of
the SQLite outbox, shared by every node, and a ledger for rows that several nodes claim.

Claims. A delivery round claims its rows in one transaction that first takes a
transaction-scoped advisory lock (one claim at a time across the cluster, a few
milliseconds each), then reads the pending rows `FOR UPDATE SKIP LOCKED`: no row is ever
claimed by two nodes, and the per-alert order the ledger keeps (a recovery never
overtakes its firing) holds across nodes, since a round sees every pending row.

Rows in flight carry their owner (a node process's token) and a lease (`lease_until`, by
the database's clock), which the live node renews with its bucket leases every second
(`renew_in_flight`). A node killed mid-send leaves rows `sending` under an expired
lease: the next claim anywhere puts them back to pending, under the batch id they were
claimed with, so they go out again as the same message (same Idempotency-Key,
deliveryId, Message-ID): at-least-once, the duplicate recognisable, as on one machine.

Notification ids are deterministic (the alert's fingerprint and episode), and the insert
is `ON CONFLICT DO NOTHING`: a notice decided twice (a takeover replaying a transition)
is stored once.

Clock jumps: the outbox's times are shared by every node, so a step of one node's clock
moves none of them.
"""
from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager

from alerts.delivery.ledger import (
    Firing,
    Ledger,
    OutboxBatch,
    OutboxRow,
    bump_counts,
    unfinished,
)
from alerts.delivery.timing import Timings
from config.db import Connection
from config.postgres import PgConnection, connect, open_database
from config.sqlite import Schema, transaction

LOG = logging.getLogger("lifeline.alerts.outbox")

# One claim at a time across the cluster (pg_advisory_xact_lock's key).
CLAIM_LOCK = zlib.crc32(b"lifeline outbox claim")

SCHEMA = Schema("outbox", ("""
CREATE TABLE IF NOT EXISTS delivery_outbox (
    notification_id TEXT NOT NULL,
    channel         TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    group_labels    TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    enqueued        DOUBLE PRECISION NOT NULL,
    due             DOUBLE PRECISION NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    owner           TEXT,
    finished        DOUBLE PRECISION,
    last_error      TEXT,
    batch           TEXT,
    lost            INTEGER NOT NULL DEFAULT 0,
    requeued        DOUBLE PRECISION,
    seq             BIGINT,
    lease_until     TIMESTAMPTZ,               -- rows `sending`: the owner's lease
    PRIMARY KEY (notification_id, channel));
CREATE INDEX IF NOT EXISTS delivery_outbox_due ON delivery_outbox (state, due);
CREATE INDEX IF NOT EXISTS delivery_outbox_seq ON delivery_outbox (seq);
CREATE INDEX IF NOT EXISTS delivery_outbox_fp ON delivery_outbox (channel, fingerprint);
CREATE TABLE IF NOT EXISTS delivery_channels (
    channel              TEXT PRIMARY KEY,
    delivered            INTEGER NOT NULL DEFAULT 0,
    failed               INTEGER NOT NULL DEFAULT 0,
    expired              INTEGER NOT NULL DEFAULT 0,
    retries              INTEGER NOT NULL DEFAULT 0,
    resent_after_restart INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    last_error_at        TEXT,
    last_delivery_at     TEXT,
    retold               INTEGER NOT NULL DEFAULT 0,
    withheld             INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS delivery_groups (
    channel   TEXT NOT NULL,
    group_key TEXT NOT NULL,
    last_sent DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (channel, group_key))
""",))


class PgOutbox:
    """The outbox's rows in the cluster's PostgreSQL; `lease` seconds for rows in
    flight (renewed by the node while it lives)."""

    def __init__(self, dsn: str, *, node: str, lease: float) -> None:
        self._dsn, self._node, self.lease = dsn, node, lease

    def prepare(self) -> None:
        open_database(self._dsn, SCHEMA, node=self._node).close()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        conn = connect(self._dsn, node=self._node)
        try:
            yield conn
        finally:
            conn.close()

    def ledger(self, owner: str, timings: Timings, firing: Callable[[], Firing]) -> Ledger:
        return PgLedger(owner, timings, firing, lease=self.lease)

    def shift_times(self, conn: Connection, delta: float) -> None:
        return None         # shared times: see the module


class PgLedger(Ledger):
    """The ledger for rows several nodes claim (see the module)."""

    def __init__(self, owner: str, timings: Timings, firing: Callable[[], Firing], *,
                 lease: float) -> None:
        super().__init__(owner, timings, firing)
        self._lease = lease

    def recover_abandoned(self, conn: Connection, now: object) -> None:
        """Nothing at start: rows of a dead process are taken back when their lease
        runs out, by whichever node claims next (`claim_due`)."""

    def claim_due(self, conn: Connection, t: float,
                  busy: Collection[str] = ()) -> list[OutboxBatch]:
        self._take_back_expired(conn, t)
        return super().claim_due(conn, t, busy)

    def _pending(self, conn: Connection, t: float) -> list[tuple[OutboxRow, float]]:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (CLAIM_LOCK,))
        return unfinished(conn, t, "FOR UPDATE SKIP LOCKED")

    def _mark_sending(self, conn: Connection, batches: Sequence[OutboxBatch]) -> None:
        conn.executemany("UPDATE delivery_outbox SET state = 'sending', owner = ?,"
                         " batch = ?, lease_until = clock_timestamp()"
                         " + make_interval(secs => ?) WHERE notification_id = ?"
                         " AND channel = ?",
                         [(self._owner, b.id, self._lease, *key) for b in batches
                          for key in b.keys])

    def _take_back_expired(self, conn: Connection, t: float) -> None:
        """Rows in flight whose owner's lease ran out: pending again, due now, under the
        batch id they were claimed with (sent again as the same message)."""
        with transaction(conn):
            rows = conn.execute(
                "UPDATE delivery_outbox SET state = 'pending', due = ?, owner = NULL,"
                " lease_until = NULL WHERE state = 'sending'"
                " AND (lease_until IS NULL OR lease_until < clock_timestamp())"
                " RETURNING channel", (t,)).fetchall()
            counts: dict[str, int] = {}
            for (channel,) in rows:
                counts[channel] = counts.get(channel, 0) + 1
            for channel, count in counts.items():
                bump_counts(conn, channel, resent_after_restart=count)
                LOG.warning("channel %s: %d deliveries were in flight on a node that stopped"
                            " renewing them; sending them again (at-least-once)",
                            channel, count)


def renew_in_flight(conn: PgConnection, owner: str, lease: float) -> int:
    """Extends the lease of the rows `owner` has in flight; how many."""
    cursor = conn.execute("UPDATE delivery_outbox SET lease_until = clock_timestamp()"
                          " + make_interval(secs => ?) WHERE owner = ? AND state = 'sending'",
                          (lease, owner))
    return int(cursor.rowcount)

"""The alert store on the cluster's PostgreSQL: the same interface as the SQLite `Store`
(alerts/evaluation/store_api.py), shared by every node.

Tables are those of alerts.db, plus each state's `bucket` (agent/cluster/buckets.py: a
device's whole dependency tree falls in one). A node reads and writes only the states of
the buckets it holds (`Scope`), so on a claim it loads exactly the states of the bucket it
took over (pending counters included) and never touches another node's. Silences, acks
and outage history are shared by all.

Fencing: every commit of alert states first asks `Scope.fence`, in the same transaction,
whether this node still holds their buckets at the epoch it claimed them with (and locks
those lease rows until the commit, so no takeover slips in between). A node paused past
its lease that wakes up gets `Fenced`: its transaction rolls back, nothing it decided is
stored or sent (the engine then reloads its states from the store).

Clock jumps: each node's clock is its own, so a step moves only the times of the states
this node holds; the shared silences, acks and outages stay (keep the nodes on NTP).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager
from typing import Protocol

from alerts.evaluation.state import TIME_FIELDS, TIME_LIST_FIELD, AlertState
from alerts.evaluation.store_api import Fenced, SharedRecords
from config.db import Connection
from config.postgres import PgConnection, open_database
from config.sqlite import Schema, transaction

__all__ = ["SCHEMA", "EverythingScope", "Fenced", "PgStore", "Scope"]

SCHEMA = Schema("alerts", ("""
CREATE TABLE IF NOT EXISTS alert_state (
    fingerprint TEXT PRIMARY KEY, device_id TEXT NOT NULL, rule TEXT NOT NULL,
    status TEXT NOT NULL, data TEXT NOT NULL, updated DOUBLE PRECISION NOT NULL,
    bucket TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alert_state_bucket ON alert_state (bucket);
CREATE TABLE IF NOT EXISTS outages (
    id BIGSERIAL PRIMARY KEY, device_id TEXT NOT NULL, fingerprint TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL, ended DOUBLE PRECISION);
CREATE INDEX IF NOT EXISTS outages_device ON outages (device_id, started);
CREATE INDEX IF NOT EXISTS outages_open ON outages (fingerprint) WHERE ended IS NULL;
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts DOUBLE PRECISION NOT NULL,
    ends DOUBLE PRECISION NOT NULL, reason TEXT NOT NULL, author TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL, removed DOUBLE PRECISION);
CREATE TABLE IF NOT EXISTS acks (
    fingerprint TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL, author TEXT NOT NULL,
    reason TEXT NOT NULL)
""",))


class Scope(Protocol):
    """What the cluster tells the store (agent/cluster/node.py implements it)."""

    def bucket_of(self, device_id: str) -> str:
        """The bucket a device's alert states belong to."""

    def held(self) -> Collection[str]:
        """The buckets this node holds now."""

    def fence(self, conn: Connection, buckets: Collection[str]) -> None:
        """Raises Fenced unless this node still holds `buckets` at its epochs; locks
        their lease rows until the caller's transaction ends."""


class EverythingScope:
    """No cluster bookkeeping: every state, no fencing (the `cluster status` command and
    the contract tests, which read or write as one process)."""

    def bucket_of(self, device_id: str) -> str:
        return ""

    def held(self) -> Collection[str]:
        return ("",)

    def fence(self, conn: Connection, buckets: Collection[str]) -> None:
        return None


class PgStore(SharedRecords):
    """One thread's view of the shared alert tables (`conn`: opened by `open`)."""

    def __init__(self, conn: PgConnection, scope: Scope | None = None) -> None:
        self._conn = conn
        self._scope: Scope = scope or EverythingScope()

    @classmethod
    def open(cls, dsn: str, scope: Scope | None = None, *, node: str = "lifeline"
             ) -> PgStore:
        """Connects and migrates. Raises config.postgres.DatabaseUnavailableError."""
        return cls(open_database(dsn, SCHEMA, node=node), scope)

    @property
    def conn(self) -> Connection:
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def transaction(self) -> AbstractContextManager[Connection]:
        return transaction(self.conn)

    # ---- alert state: this node's buckets only ----------------------------------------

    def load_states(self) -> list[AlertState]:
        rows = self._scoped("SELECT data FROM alert_state")
        return [AlertState.from_json(json.loads(data)) for (data,) in rows]

    def save_states(self, states: Iterable[AlertState], now: float) -> None:
        states = list(states)
        if not states:
            return
        self._scope.fence(self.conn, {self._scope.bucket_of(s.device_id) for s in states})
        for s in states:
            if s.live:
                self.conn.execute(
                    "INSERT INTO alert_state (fingerprint, device_id, rule, status, data,"
                    " updated, bucket) VALUES (?,?,?,?,?,?,?) ON CONFLICT (fingerprint) DO "
                    "UPDATE SET status=excluded.status, data=excluded.data, "
                    "updated=excluded.updated, bucket=excluded.bucket",
                    (s.fingerprint, s.device_id, s.rule, s.status,
                     json.dumps(s.to_json(), ensure_ascii=False), now,
                     self._scope.bucket_of(s.device_id)))
            else:
                self.conn.execute("DELETE FROM alert_state WHERE fingerprint=?",
                                  (s.fingerprint,))

    def _scoped(self, select: str) -> list[tuple[str, ...]]:
        held = list(self._scope.held())
        if isinstance(self._scope, EverythingScope):
            return list(self.conn.execute(select).fetchall())
        return list(self.conn.execute(f"{select} WHERE bucket = ANY(?)", (held,)).fetchall())

    # ---- outage history, silences and acks: shared (SharedRecords) ------------------

    def _shared(self) -> Connection:
        return self._conn

    def shift_times(self, delta: float) -> None:
        """Only the states this node holds move (see the module)."""
        moved = _shifted(delta)
        for fingerprint, data, updated in self._scoped(
                "SELECT fingerprint, data, updated FROM alert_state"):
            self.conn.execute("UPDATE alert_state SET data = ?, updated = ?"
                              " WHERE fingerprint = ?",
                              (json.dumps(moved(json.loads(data)), ensure_ascii=False),
                               float(updated) + delta, fingerprint))


def _shifted(delta: float) -> Callable[[dict[str, object]], dict[str, object]]:
    def move(data: dict[str, object]) -> dict[str, object]:
        for name in TIME_FIELDS:
            value = data.get(name)
            if isinstance(value, (int, float)):
                data[name] = value + delta
        times = data.get(TIME_LIST_FIELD)
        if isinstance(times, list):
            data[TIME_LIST_FIELD] = [t + delta for t in times]
        return data
    return move

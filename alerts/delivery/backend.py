"""Where the outbox keeps its rows: an interface with two implementations.

    SqliteOutbox   alerts/delivery/outbox.py     `state_dir/alerts.db`, one agent
    PgOutbox       alerts/delivery/outbox_pg.py  the cluster's PostgreSQL, shared by nodes

Both hold the same tables and run the same statements (the ledger's, the dispatcher's,
the stats'), written in the dialect both engines understand (config/postgres.py). They
differ in how rows in flight are owned: one process per SQLite file (rows `sending` under
another process's token were abandoned), or leases that live nodes renew (a row in
flight on a node that died is sent again by another once its lease ran out).
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from alerts.delivery.ledger import Firing, Ledger
from alerts.delivery.timing import Timings
from config.db import Connection


class OutboxBackend(Protocol):
    """The outbox's storage: tables, connections and the ledger that fits them."""

    def prepare(self) -> None:
        """Create or migrate the tables (at the outbox's start)."""

    def connect(self) -> AbstractContextManager[Connection]:
        """A connection of its own for one round or one worker, closed after."""

    def ledger(self, owner: str, timings: Timings, firing: Callable[[], Firing]) -> Ledger:
        """The ledger that moves this backend's rows (`owner`: this process's token)."""

    def shift_times(self, conn: Connection, delta: float) -> None:
        """The wall clock of this process was stepped by `delta` seconds."""

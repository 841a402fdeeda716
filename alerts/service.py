"""The facade the agent calls: the engine and the outbox on one `state_dir/alerts.db`.

    svc = AlertService.open(config)       # clock defaults to now in agent.timezone
    svc.observe(result)                   # after every poll (engine thread)
    svc.observe_trap(device_id, says)     # what a trap says, at once (engine thread)
    svc.tick()                            # every few seconds (engine thread)
    svc.evaluate_lifecycle()              # at start and daily (engine thread)
    svc.deliver_due()                     # every ~2 s on the delivery thread; returns at
                                          # once, the sends run on per-channel workers
    svc.clock_jumped(delta)               # the wall clock was stepped (engine thread)
    svc.status(); svc.reload(config); svc.close()

The engine thread and the delivery thread each use their own sqlite3 connection (the
store's, the outbox's); WAL lets them work side by side. Both stores' tables are
migrated on open (config/sqlite.py); a file a newer Lifeline wrote raises SchemaError.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from alerts.delivery.backend import OutboxBackend
from alerts.delivery.channels import build_channels
from alerts.delivery.outbox import Outbox
from alerts.evaluation.engine import Engine
from alerts.evaluation.store import DB_NAME, Store
from alerts.evaluation.store_api import AlertStore
from alerts.model import AlertStatus, Clock, NotificationSink
from collectors.base import PollResult
from collectors.snmp.traps import TrapSays
from inventory.model import Config

if TYPE_CHECKING:       # psycopg is imported only when a cluster is configured
    from alerts.evaluation.store_pg import Scope


def _build_outbox(config: Config, backend: Path | OutboxBackend, clock: Clock) -> Outbox:
    return Outbox(backend, config, build_channels(config, clock), clock)


def _open_backends(config: Config, scope: Scope | None
                   ) -> tuple[AlertStore, Path | OutboxBackend]:
    """The store and the outbox's backend: `state_dir/alerts.db`, or with `cluster:` the
    shared PostgreSQL (`scope`: the node's buckets and fence, agent/cluster/node.py).
    Raises config.postgres.DatabaseUnavailableError (naming no DSN), SchemaError."""
    if config.cluster is None:
        db_path = Path(config.agent.state_dir) / DB_NAME
        return Store(db_path), db_path
    from alerts.delivery.outbox_pg import PgOutbox  # psycopg: only for a cluster
    from alerts.evaluation.store_pg import PgStore

    cluster = config.cluster
    dsn = cluster.dsn.reveal()
    return (PgStore.open(dsn, scope, node=cluster.node),
            PgOutbox(dsn, node=cluster.node, lease=cluster.lease))


class AlertService:
    """The evaluating side (the engine on its store) and the delivering side (the
    outbox), wired on one database; `outbox` None when a `sink` stands in for it."""

    def __init__(self, config: Config, store: AlertStore, outbox: Outbox | None,
                 sink: NotificationSink, clock: Clock,
                 backend: Path | OutboxBackend | None = None) -> None:
        self._store, self._outbox, self._clock = store, outbox, clock
        self._backend = backend
        self.engine = Engine(config, store, sink, clock)
        self._hand_over_active()    # from the start: which missed firings are still owed

    @classmethod
    def open(cls, config: Config, clock: Clock | None = None,
             sink: NotificationSink | None = None, scope: Scope | None = None
             ) -> AlertService:
        """Opens `state_dir/alerts.db` (or the cluster's database) and builds the
        delivery side. `sink` replaces the outbox (tests that only look at what the
        engine emits)."""
        zone = config.agent.zone
        now = clock or (lambda: datetime.now(zone))
        store, backend = _open_backends(config, scope)
        try:
            if sink is not None:
                return cls(config, store, None, sink, now, backend)
            outbox = _build_outbox(config, backend, now)
            return cls(config, store, outbox, outbox, now, backend)
        except BaseException:
            store.close()
            raise

    @property
    def db_path(self) -> Path:
        return Path(self._backend) if isinstance(self._backend, Path) else Path(DB_NAME)

    def observe(self, result: PollResult) -> None:
        self.engine.observe(result)

    def observe_trap(self, device_id: str, says: TrapSays) -> None:
        self.engine.observe_trap(device_id, says)

    def tick(self) -> None:
        self.engine.tick()
        self._hand_over_active()

    def evaluate_lifecycle(self) -> None:
        self.engine.evaluate_lifecycle()

    def clock_jumped(self, delta: float) -> None:
        """The wall clock was stepped by `delta` seconds (+ forward) under the running
        agent: the engine's and the outbox's times move by it, so every interval they
        measure (a `for`, a repeat, a silence, a group_wait, an expiry) keeps its real
        length. Call on the engine thread, before it next observes or ticks."""
        self.engine.shift_times(delta)
        if self._outbox is not None:
            self._outbox.shift_times(delta)
        self._hand_over_active()

    def deliver_due(self, *, wait: bool = False) -> None:
        """Starts the due sends, each channel on its own worker (see Outbox.deliver_due);
        with `wait`, returns once they are done. Call from the delivery thread."""
        if self._outbox is not None:
            self._outbox.deliver_due(wait=wait)

    def rows_written(self) -> int:
        """Rows the engine's connection has changed since it opened: a caller that sees
        it move knows a write reached the store (the agent's health, after a full disk)."""
        return self._store.conn.total_changes

    def status(self) -> AlertStatus:
        """Alerts by state, and per channel the outbox backlog and delivery failures."""
        status = self.engine.status()
        if self._outbox is None:
            return status
        return replace(status, delivery=self._outbox.stats())

    def reload(self, config: Config) -> None:
        """A new valid config (SIGHUP): rules, thresholds, devices, channels, routes. The
        delivery side first: the recoveries the engine's reload sends for devices no
        longer watched are routed by the new config."""
        if self._outbox is not None:
            assert self._backend is not None
            outbox = _build_outbox(config, self._backend, self._clock)
            outbox.take_over(self._outbox)
            self._outbox = outbox
            self.engine.set_sink(outbox)
        self.engine.reload(config)
        self._hand_over_active()

    def rescope(self, config: Config) -> None:
        """A cluster node's buckets changed (`config`: their devices only): the engine
        takes the states of the buckets held now from the store (Engine.rescope)."""
        self.engine.rescope(config)
        self._hand_over_active()

    def _hand_over_active(self) -> None:
        """The alerts firing now, to the outbox (keep-alive, and lost firings owed)."""
        if self._outbox is not None:
            self._outbox.refresh_active(self.engine.active_alerts())

    def close(self) -> None:
        """Waits (bounded) for the sends in flight, then closes the store."""
        if self._outbox is not None:
            self._outbox.close()
        self._store.close()

"""The facade the agent calls: the engine and the outbox on one `state_dir/alerts.db`.

    svc = AlertService.open(config)       # clock defaults to now in agent.timezone
    svc.observe(result)                   # after every poll (engine thread)
    svc.observe_trap(device_id, meaning)  # a trap's meaning, at once (engine thread)
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

from alerts.delivery.channels import build_channels
from alerts.delivery.outbox import Outbox
from alerts.evaluation.engine import Engine
from alerts.evaluation.store import DB_NAME, Store
from alerts.model import AlertStatus, Clock, NotificationSink
from collectors.base import PollResult
from inventory.model import Config


def _build_outbox(config: Config, db_path: Path, clock: Clock) -> Outbox:
    return Outbox(db_path, config, build_channels(config, clock), clock)


class AlertService:
    """The evaluating side (the engine on its store) and the delivering side (the
    outbox), wired on one database; `outbox` None when a `sink` stands in for it."""

    def __init__(self, config: Config, store: Store, outbox: Outbox | None,
                 sink: NotificationSink, clock: Clock) -> None:
        self._store, self._outbox, self._clock = store, outbox, clock
        self.engine = Engine(config, store, sink, clock)
        self._hand_over_active()    # from the start: which missed firings are still owed

    @classmethod
    def open(cls, config: Config, clock: Clock | None = None,
             sink: NotificationSink | None = None) -> AlertService:
        """Opens `state_dir/alerts.db` and builds the delivery side. `sink` replaces the
        outbox (tests that only look at what the engine emits)."""
        zone = config.agent.zone
        now = clock or (lambda: datetime.now(zone))
        db_path = Path(config.agent.state_dir) / DB_NAME
        store = Store(db_path)
        try:
            if sink is not None:
                return cls(config, store, None, sink, now)
            outbox = _build_outbox(config, db_path, now)
            return cls(config, store, outbox, outbox, now)
        except BaseException:
            store.close()
            raise

    @property
    def db_path(self) -> Path:
        return self._store.path

    def observe(self, result: PollResult) -> None:
        self.engine.observe(result)

    def observe_trap(self, device_id: str, meaning: str) -> None:
        self.engine.observe_trap(device_id, meaning)

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
            outbox = _build_outbox(config, self._store.path, self._clock)
            outbox.take_over(self._outbox)
            self._outbox = outbox
            self.engine.set_sink(outbox)
        self.engine.reload(config)
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

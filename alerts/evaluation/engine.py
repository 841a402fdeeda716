"""The alert engine: rules -> state machine -> notifications, committed together.

`observe` (after each poll), `observe_trap` (what a trap says), `tick` (every few
seconds) and `evaluate_lifecycle` (daily) run on one thread and share one `Store`. Each
call changes states, writes the outage history and hands the notifications it causes to
the sink (the outbox) inside one SQLite transaction: a crash loses neither a state change
nor a notice, and sends none twice.

The engine only orchestrates; each job is a module of its own:

    rules.py         what a poll result or a lifecycle assessment says (pure)
    episodes.py      those evaluations and the passing time applied to the live states
    state.py         the state machine of one alert, and the live states in memory
    dependencies.py  suppression and holding behind a down parent
    closures.py      closed sites (opening hours): failures while closed, firing at
                     opening
    gates.py         what may stop a notice now (silenced, suppressed, acked, quiet)
    notices.py       the Alert and Notification records
    unmonitored.py   the alerts of devices no longer watched, which end
    report.py        alert counts and the firing alerts (AlertStatus)

Devices no longer watched are looked for on start, on reload and with the daily lifecycle
evaluation. What survives a restart: alert states with their pending counters (exactly),
silences, acks, outage history. What is rebuilt conservatively: when each device was last
heard from (so a child outage is held until its parent has been polled again) and failed
polls while closed (counting starts again at opening).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from alerts.evaluation import rules
from alerts.evaluation.closures import ClosedSites, Opening
from alerts.evaluation.dependencies import Dependencies
from alerts.evaluation.episodes import Changes, Episodes
from alerts.evaluation.gates import Gatekeeper
from alerts.evaluation.notices import Notices
from alerts.evaluation.report import alert_status
from alerts.evaluation.rules import Evaluation
from alerts.evaluation.state import FIRING, AlertState, LiveStates
from alerts.evaluation.store_api import AlertStore
from alerts.evaluation.thresholds import Thresholds, ThresholdTable
from alerts.evaluation.unmonitored import log_ended, polled, unwatched
from alerts.model import Alert, AlertStatus, Clock, NotificationSink
from collectors.base import PollResult
from collectors.snmp.traps import TrapSays
from inventory.lifecycle import assess
from inventory.model import Config, Device

log = logging.getLogger("lifeline.alerts")


@dataclass(frozen=True, slots=True)
class _Evaluated:
    """One device's evaluation, and the failed polls a new outage starts from."""

    device: Device
    evaluation: Evaluation
    carried: int = 0


class Engine:
    """Runs each entry point as one transaction over the parts listed above."""

    _config: Config                 # these four: the config last loaded (`reload`)
    _zone: ZoneInfo
    _devices: Mapping[str, Device]
    _table: ThresholdTable

    def __init__(self, config: Config, store: AlertStore, sink: NotificationSink,
                 clock: Clock) -> None:
        self._store, self._sink, self._clock = store, sink, clock
        self._devices = {}
        self._lifecycle_failed: set[str] = set()   # devices whose failure was logged
        self._stale = False         # memory may be ahead of the store (see _commit)
        self._states = LiveStates(store.load_states())
        self._dependencies = Dependencies(self._states, self.thresholds)
        self._closed = ClosedSites()
        self._gates = Gatekeeper(self._dependencies, self._closed,
                                 lambda now: (store.silences(now), store.acks()))
        self._notices = Notices(self._gates, self._dependencies, self._time)
        self._episodes = Episodes(self._states, store, self._gates, self._closed,
                                  self._dependencies, self._notices)
        self._refresh_gates(self._now())    # before reload: ending an alert clears its ack
        self.reload(config)

    def reload(self, config: Config) -> None:
        """A new config: devices, thresholds, hours, dependencies. States are kept, but
        those of devices no longer watched end (see alerts/evaluation/unmonitored.py)."""
        previous = self._devices
        self._take(config)
        self._end_unmonitored(previous)

    def rescope(self, config: Config) -> None:
        """A cluster node's buckets changed; `config` holds their devices only. The states
        are read again from the store (its scope: the buckets held now): those of a bucket
        taken over come with their pending counters, those of a bucket let go are
        forgotten here, never ended (their new holder carries them on)."""
        self._states.reset(self._store.load_states())
        self._stale = False
        self._take(config)

    def _take(self, config: Config) -> None:
        self._config, self._zone = config, config.agent.zone
        self._devices = {d.id: d for d in config.devices}
        self._table = ThresholdTable(config.alerts)
        self._dependencies.reload(self._devices)
        self._closed.reload(config.devices, self._zone)

    def set_sink(self, sink: NotificationSink) -> None:
        self._sink = sink

    def thresholds(self, device: Device) -> Thresholds:
        return self._table.for_device(device)

    # ---- the three entry points -------------------------------------------------------

    def observe(self, result: PollResult) -> None:
        """One poll result: fast, no network; commits its state changes."""
        device = self._devices.get(result.device_id)
        now = self._now()
        if device is None or not polled(device, self._time(now).date()):
            return          # a poll still in flight when its device was retired or unpolled
        evaluation = rules.poll(result, device, self.thresholds(device), self._clock(),
                                self._zone)
        self._dependencies.heard(device.id, now, started=result.started.timestamp(),
                                 down=any(c.rule == rules.OUTAGE for c in evaluation.active))
        carried = self._closed.observed(device.id, result, evaluation)
        if not evaluation.active and not self._states.of_device(device.id):
            return          # the common case: healthy and nothing remembered, no write
        self._run([_Evaluated(device, evaluation, carried)], now)

    def observe_trap(self, device_id: str, says: TrapSays) -> None:
        """What a trap says, at once (rules.trap): evidence the next poll confirms or
        ends. A meaning no rule reads changes nothing and writes nothing."""
        device = self._devices.get(device_id)
        now = self._now()
        if device is None or not polled(device, self._time(now).date()):
            return
        evaluation = rules.trap(says, device, self.thresholds(device))
        if evaluation.active:
            self._run([_Evaluated(device, evaluation)], now)

    def tick(self) -> None:
        """Timers: `for` durations, opening and closing, repeats, flapping, silences."""
        now = self._now()
        self._refresh_gates(now)
        self._run([self._reopened(opening, now) for opening in self._closed.openings(now)],
                  now, sweep=True)

    def evaluate_lifecycle(self) -> None:
        """Lifecycle conditions for every asset as of today (at start and daily)."""
        self._end_unmonitored()         # devices whose `retired` date has come
        now = self._now()
        today = self._time(now).date()
        horizon = self._config.alerts.lifecycle_horizon_months
        work = []
        for device in self._config.devices:
            if not device.is_retired(today):
                evaluated = self._lifecycle_of(device, today, horizon)
                if evaluated is not None:
                    work.append(evaluated)
        self._run(work, now)

    def shift_times(self, delta: float) -> None:
        """The wall clock was stepped by `delta` seconds (+ forward): every time the
        engine keeps, stored and in memory, moves by it, so a pending `for`, a repeat, a
        flap window, a silence or a dependency hold keeps its real length. Call before
        the next `observe` or `tick` reads the new clock."""
        with self._store.transaction():
            self._store.shift_times(delta)
        self._states.reset(self._store.load_states())    # the store's shifted rows
        self._dependencies.shift_times(delta)
        self._refresh_gates(self._now())

    # ---- what the engine reports ------------------------------------------------------

    def active_alerts(self) -> list[Alert]:
        """Firing alerts whose firing notice went out (Alertmanager's keep-alive)."""
        found = []
        for state in self._states.snapshot():
            device = self._devices.get(state.device_id)
            if state.status == FIRING and state.notified and device is not None:
                found.append(self._notices.firing(state, device))
        return found

    def states(self) -> list[AlertState]:
        return self._states.snapshot()

    def status(self) -> AlertStatus:
        """Alerts by state and the firing ones, oldest first (the service adds the
        outbox's delivery figures). A snapshot: may be called from another thread."""
        return alert_status(self._states.snapshot(), self._devices, self._gates,
                            self._now(), self._zone)

    # ---- orchestration ----------------------------------------------------------------

    def _run(self, work: Sequence[_Evaluated], now: float, *, sweep: bool = False) -> None:
        """Applies `work`, then steps the states it touched (a `sweep`: every state)."""
        def apply(changes: Changes) -> None:
            for item in work:
                self._episodes.apply(changes, item.device, item.evaluation, item.carried,
                                     self.thresholds(item.device), now)
            for state in self._states.snapshot() if sweep else list(changes.states.values()):
                device = self._devices.get(state.device_id)
                if device is not None:      # removed from the inventory: kept, not told
                    self._episodes.step(changes, state, device, self.thresholds(device),
                                        now, sweep=sweep)

        self._commit(apply, now)

    def _end_unmonitored(self, previous: Mapping[str, Device] | None = None) -> None:
        """Ends the states of devices no longer watched; `previous` (the devices before a
        reload) names a removed device in its recovery notice."""
        now = self._now()
        gone = unwatched(self._states.snapshot(), self._devices, self._time(now).date())
        if not gone:
            return

        def apply(changes: Changes) -> None:
            for item in gone:
                device_id = item.state.device_id
                device = self._devices.get(device_id) or (previous or {}).get(device_id)
                self._episodes.end_for_good(changes, item.state, device, item.why, now)

        self._commit(apply, now)
        log_ended(gone)

    def _commit(self, apply: Callable[[Changes], None], now: float) -> None:
        """`apply` changes states; they and the notices they owe commit together."""
        changes = Changes()
        if self._stale:     # a failed commit could not read the store back: now
            self._states.reset(self._store.load_states())
            self._stale = False
        self._gates.begin()
        try:
            with self._store.transaction() as conn:
                apply(changes)
                self._store.save_states(changes.states.values(), now)
                if changes.notices:
                    self._sink.enqueue(conn, changes.notices)
        except Exception:
            # The transaction rolled back: memory must not run ahead of the store. A
            # store that cannot be read now either (a cluster's database gone) is read
            # before the next commit.
            self._stale = True
            self._states.reset(self._store.load_states())
            self._stale = False
            raise
        for state in changes.states.values():
            if not state.live:
                self._states.discard(state)

    def _lifecycle_of(self, device: Device, today: date, horizon: int) -> _Evaluated | None:
        """One asset's lifecycle evaluation, or None when it fails: that asset is skipped
        (its alerts stay as they were), the others are still evaluated. The failure is
        logged once per asset, not every day, until the asset evaluates again."""
        try:
            life = assess(device, self._config.categories, today, horizon)
            evaluated = _Evaluated(device, rules.lifecycle(device, life,
                                                           self.thresholds(device)))
        except Exception as exc:   # one asset's bad data must not silence every other one
            if device.id not in self._lifecycle_failed:
                self._lifecycle_failed.add(device.id)
                log.error("lifecycle of %s not evaluated (%s: %s); its lifecycle alerts stay "
                          "as they were", device.id, type(exc).__name__, exc,
                          extra={"device_id": device.id})
                log.debug("lifecycle of %s", device.id, exc_info=True)
            return None
        self._lifecycle_failed.discard(device.id)
        return evaluated

    def _reopened(self, opening: Opening, now: float) -> _Evaluated:
        """A site that opened: its last failure while closed, evaluated now."""
        device = opening.device
        evaluation = rules.poll(opening.failure, device, self.thresholds(device),
                                self._time(now), self._zone)
        return _Evaluated(device, evaluation, opening.carried)

    def _refresh_gates(self, now: float) -> None:
        """Silences and acks are written by `lifeline alerts` in another process
        (read again before a firing is told, too: `Gatekeeper.recheck`)."""
        self._gates.refresh(self._store.silences(now), self._store.acks())

    def _now(self) -> float:
        return self._clock().timestamp()

    def _time(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, self._zone)

"""The alert engine: rules -> state machine -> notifications, committed together.

`observe` (after each poll), `tick` (every few seconds) and `evaluate_lifecycle` (daily)
run on one thread and share one `Store`. Each call changes states, writes the outage
history and hands the notifications it causes to the sink (the outbox) inside one SQLite
transaction: a crash loses neither a state change nor a notice, and sends none twice.

Dependencies: an outage of a device whose ancestor (`parent`, transitively) is pending or
firing is *suppressed*: it fires and counts in the outage history, but the ancestor's
alert speaks for it ("83 devices behind it unreachable"; `Alert.suppressed`). A child
outage is *held* pending until every polled ancestor has been heard from since the child
went pending, or for at most that ancestor's own `for` (interval x outage_polls), so a
child polled just before its parent cannot slip out first.

Opening hours: failed polls outside the hours do not count and a pending outage is reset
at closing; failed polls while closed are remembered, so a device still down when the
site opens fires at opening (from `tick`, without waiting for N more polls).

Devices no longer watched: when a device is retired, removed from the inventory, or (for
every rule but lifecycle) no longer polled, its alerts can never clear by themselves. On
start, on reload and with the daily lifecycle evaluation they are ended: a `resolved`
notice for those that were told ("retired / no longer monitored"), open outages closed,
their rows deleted. Lifecycle alerts of a device merely not polled stay.

What survives a restart: alert states with their pending counters (exactly), silences,
acks, outage history. What is rebuilt conservatively: when each device was last heard
from (so a child outage is held until its parent has been polled again) and failed polls
while closed (counting starts again at opening).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Protocol

from alerts.evaluation import rules
from alerts.evaluation.rules import OUTAGE, Evaluation
from alerts.evaluation.silences import silencing
from alerts.evaluation.state import (
    FIRING,
    INACTIVE,
    PENDING,
    AlertState,
    Gates,
    clear,
    fingerprint,
    hold,
    idle,
    next_event,
    ready,
    record_sent,
    ripen,
    settle,
)
from alerts.evaluation.store import Store
from alerts.evaluation.thresholds import Thresholds, ThresholdTable
from alerts.model import Alert, Notification, Severity
from collectors.base import PollResult
from inventory.hours import OperatingHours
from inventory.lifecycle import assess
from inventory.model import Config, Device

log = logging.getLogger("lifeline.alerts")
Clock = Callable[[], datetime]

# Why an alert ended without its condition clearing: the description of its `resolved`.
UNMONITORED = {
    "retired": ("device retired: no longer monitored",
                "장비 불용(폐기) 처리: 더 이상 감시하지 않음"),
    "removed": ("device removed from the inventory: no longer monitored",
                "자산 목록에서 삭제됨: 더 이상 감시하지 않음"),
    "unpolled": ("device no longer polled: no longer monitored",
                 "장비 수집(폴링) 중지: 더 이상 감시하지 않음"),
}


class Sink(Protocol):
    """Where notifications go: the outbox, inside the engine's open transaction."""

    def enqueue(self, conn: object, notifications: Sequence[Notification]) -> None: ...


class MemorySink:
    """Keeps notifications in a list. A stand-in for the outbox in unit tests (and a
    sink for tools that only want to see what would be sent)."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    def enqueue(self, conn: object, notifications: Sequence[Notification]) -> None:
        self.notifications.extend(notifications)


@dataclass(slots=True)
class _Heard:
    """When a device was last polled, in memory only (rebuilt after a restart)."""

    at: float = 0.0
    closed_failures: int = 0
    last_failure: PollResult | None = None
    open: bool | None = None


@dataclass(slots=True)
class _Batch:
    touched: dict[str, AlertState] = field(default_factory=dict)
    out: list[Notification] = field(default_factory=list)


class Engine:
    def __init__(self, config: Config, store: Store, sink: Sink, clock: Clock) -> None:
        self._store, self._sink, self._clock = store, sink, clock
        self._heard: dict[str, _Heard] = {}
        self._states: dict[str, AlertState] = {}
        self._by_device: dict[str, dict[str, AlertState]] = {}
        self._load_states()
        self._refresh_gates(self._now())    # before reload: ending an alert clears its ack
        self.reload(config)

    # ---- configuration -----------------------------------------------------------------

    def reload(self, config: Config) -> None:
        """A new config: devices, thresholds, hours, dependencies. States are kept, but
        those of devices no longer watched end (see the module docstring)."""
        previous: Mapping[str, Device] = getattr(self, "_devices", {})
        self._config = config
        self._zone = config.agent.zone
        self._devices = {d.id: d for d in config.devices}
        self._table = ThresholdTable(config.alerts)
        self._hours = {d.id: OperatingHours.parse(d.operating_hours)
                       for d in config.devices if d.operating_hours}
        self._children: dict[str, list[str]] = {}
        for d in config.devices:
            if d.parent:
                self._children.setdefault(d.parent, []).append(d.id)
        self._end_unmonitored(previous)

    def _now(self) -> float:
        return self._clock().timestamp()

    def _time(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, self._zone)

    def thresholds(self, device: Device) -> Thresholds:
        return self._table.for_device(device)

    # ---- the three entry points -------------------------------------------------------------

    def observe(self, result: PollResult) -> None:
        """One poll result: fast, no network; commits its state changes."""
        device = self._devices.get(result.device_id)
        now = self._now()
        if device is None or not self._polled(device, self._time(now).date()):
            return          # a poll still in flight when its device was retired or unpolled
        heard = self._heard.setdefault(device.id, _Heard())
        heard.at = now
        t = self.thresholds(device)
        evaluation = rules.poll(result, device, t, self._clock(), self._zone)
        carried = 0
        if result.reachable:
            heard.closed_failures, heard.last_failure = 0, None
        elif OUTAGE not in evaluation.checked:     # closed: remembered, not counted
            heard.closed_failures += 1
            heard.last_failure = result
        else:
            carried, heard.closed_failures = heard.closed_failures, 0
        if not evaluation.active and not self._by_device.get(device.id):
            return          # the common case: healthy and nothing remembered, no write
        self._run([(device, evaluation, carried)], now)

    def tick(self) -> None:
        """Timers: `for` durations, opening and closing, repeats, flapping, silences."""
        now = self._now()
        self._refresh_gates(now)
        work = self._opening_transitions(now)
        self._run(work, now, sweep=True)

    def evaluate_lifecycle(self) -> None:
        """Lifecycle conditions for every asset as of today (at start and daily)."""
        self._end_unmonitored()         # devices whose `retired` date has come
        now = self._now()
        today = self._time(now).date()
        horizon = self._config.alerts.lifecycle_horizon_months
        work = []
        for device in self._config.devices:
            if device.is_retired(today):
                continue
            life = assess(device, self._config.categories, today, horizon)
            work.append((device, rules.lifecycle(device, life, self.thresholds(device)), 0))
        self._run(work, now)

    # ---- applying evaluations ---------------------------------------------------------

    def _run(self, work: Iterable[tuple[Device, Evaluation, int]], now: float,
             sweep: bool = False) -> None:
        def apply(batch: _Batch) -> None:
            for device, evaluation, carried in work:
                self._apply(batch, device, evaluation, carried, now)
            for state in list(self._states.values() if sweep else batch.touched.values()):
                self._step(batch, state, now, sweep)

        self._commit(apply, now)

    def _commit(self, apply: Callable[[_Batch], None], now: float) -> None:
        """`apply` changes states into a batch; its states and notices commit together."""
        batch = _Batch()
        try:
            with self._store.transaction() as conn:
                apply(batch)
                self._store.save_states(batch.touched.values(), now)
                if batch.out:
                    self._sink.enqueue(conn, batch.out)
        except Exception:
            # The transaction rolled back: memory must not run ahead of the store.
            self._load_states()
            raise
        for state in batch.touched.values():
            if not state.live:
                self._forget(state)

    def _apply(self, batch: _Batch, device: Device, evaluation: Evaluation, carried: int,
               now: float) -> None:
        t = self.thresholds(device)
        active: set[str] = set()
        for condition in evaluation.active:
            fp = fingerprint(condition.rule, condition.device_id, condition.instance)
            active.add(fp)
            state = self._states.get(fp) or self._remember(AlertState.new(condition))
            fresh = state.status == INACTIVE
            hold(state, condition, now)
            if fresh and condition.rule == OUTAGE:
                state.polls += carried
            batch.touched[fp] = state
        for state in list(self._by_device.get(device.id, {}).values()):
            if (state.rule in evaluation.checked and state.fingerprint not in active
                    and state.status != INACTIVE):
                self._clear(state, t, now)
                batch.touched[state.fingerprint] = state

    def _clear(self, state: AlertState, t: Thresholds, now: float) -> None:
        if clear(state, now, t):
            if state.rule == OUTAGE:
                self._store.close_outage(state.fingerprint, now)
            self._store.clear_ack(state.fingerprint)
            self._acks.discard(state.fingerprint)

    def _step(self, batch: _Batch, state: AlertState, now: float, sweep: bool) -> None:
        """Timers and notices for one state: flapping settles, closing resets a pending
        outage, pending -> firing where due (and not held), then the notice it owes."""
        device = self._devices.get(state.device_id)
        if device is None:
            return          # removed from the inventory: kept as it is, not told
        t = self.thresholds(device)
        if sweep and idle(state, now, t):
            return
        before = state.to_json() if sweep else None
        if sweep:
            settle(state, now, t)
            # Every outage-kind rule (device_down, the kiosk faults) restarts at opening.
            if state.kind == "outage" and state.status == PENDING and self._closed(device, now):
                self._clear(state, t, now)
        if ready(state, now, t) and not self._held(state, device, now):
            ripen(state, now, t)
            if state.rule == OUTAGE:
                self._store.open_outage(device.id, state.fingerprint, state.active_since or now)
        notice = self._notice(state, device, now)
        if notice is not None:
            batch.out.append(notice)
        if not sweep or state.to_json() != before:
            batch.touched[state.fingerprint] = state

    # ---- devices no longer watched ---------------------------------------------------

    @staticmethod
    def _polled(device: Device, today: date) -> bool:
        return device.poll is not None and not device.is_retired(today)

    def _unmonitored(self, state: AlertState, today: date) -> str | None:
        """Why `state` can no longer clear by itself (a key of UNMONITORED), or None."""
        device = self._devices.get(state.device_id)
        if device is None:
            return "removed"
        if device.is_retired(today):
            return "retired"
        if device.poll is None and state.kind != "lifecycle":    # lifecycle needs no poll
            return "unpolled"
        return None

    def _end_unmonitored(self, previous: Mapping[str, Device] | None = None) -> None:
        """Ends the states of devices no longer watched; `previous` (the devices before a
        reload) names a removed device in its recovery notice."""
        now = self._now()
        today = self._time(now).date()
        gone = [(state, why) for state in list(self._states.values())
                if (why := self._unmonitored(state, today)) is not None]
        if not gone:
            return

        def apply(batch: _Batch) -> None:
            for state, why in gone:
                device = self._devices.get(state.device_id) or (previous or {}).get(
                    state.device_id)
                self._end(batch, state, device, why, now)

        self._commit(apply, now)
        for why, (text, _) in UNMONITORED.items():
            ids = sorted({state.device_id for state, w in gone if w == why})
            if ids:
                log.info("alerts ended, %s: %s", text, ", ".join(ids))

    def _end(self, batch: _Batch, state: AlertState, device: Device | None, why: str,
             now: float) -> None:
        """Ends one state for good: its outage closed, its ack gone, a recovery told if a
        firing notice went out; left inactive with nothing owed, so its row is deleted."""
        if state.status != INACTIVE or state.resolved_at is None:
            state.resolved_at = now
        state.status, state.polls = INACTIVE, 0
        state.flapping = state.flap_notice_owed = False
        state.changes = []
        self._store.close_outage(state.fingerprint, now)
        self._store.clear_ack(state.fingerprint)
        self._acks.discard(state.fingerprint)
        if state.notified:
            labels = state.labels or (self.labels(state, device) if device is not None
                                      else self._bare_labels(state))
            notification_id = record_sent(state, "resolved", now)
            text, text_ko = UNMONITORED[why]
            alert = replace(self._alert(state, state.device_id, labels, True),
                            description=text, description_ko=text_ko)
            batch.out.append(Notification(id=notification_id, event="resolved", alert=alert,
                                          created=self._time(now)))
        batch.touched[state.fingerprint] = state

    @staticmethod
    def _bare_labels(state: AlertState) -> dict[str, str]:
        """Labels from the state alone (a state saved before labels were remembered)."""
        labels = {"device_id": state.device_id, "device_name": state.device_id,
                  "severity": state.severity, "kind": state.kind, "rule": state.rule}
        if state.instance:
            labels["instance"] = state.instance
        return labels

    # ---- gates -----------------------------------------------------------------------------

    def _refresh_gates(self, now: float) -> None:
        """Silences and acks are written by `lifeline alerts` in another process."""
        self._silences = self._store.silences(now)
        self._acks = set(self._store.acks())

    def _closed(self, device: Device, now: float) -> bool:
        hours = self._hours.get(device.id)
        return hours is not None and not hours.is_open(self._time(now), self._zone)

    def _opening_transitions(self, now: float) -> list[tuple[Device, Evaluation, int]]:
        """Devices whose site just opened while their last polls failed: their outage
        counts from the failures seen while closed, so it can fire at opening."""
        work = []
        today = self._time(now).date()
        for device_id in self._hours:
            device = self._devices[device_id]
            if not self._polled(device, today):
                continue
            heard = self._heard.setdefault(device_id, _Heard())
            is_open = not self._closed(device, now)
            opened = heard.open is False and is_open
            heard.open = is_open
            if opened and heard.closed_failures and heard.last_failure is not None:
                evaluation = rules.poll(heard.last_failure, device, self.thresholds(device),
                                        self._time(now), self._zone)
                work.append((device, evaluation, heard.closed_failures - 1))
                heard.closed_failures, heard.last_failure = 0, None
        return work

    def _down_ancestor(self, device: Device) -> str | None:
        for ancestor in self._ancestors(device):
            state = self._states.get(fingerprint(OUTAGE, ancestor.id))
            if state is not None and state.status in (PENDING, FIRING):
                return ancestor.id
        return None

    def _ancestors(self, device: Device) -> Iterable[Device]:
        seen = {device.id}
        parent = device.parent
        while parent and parent not in seen and parent in self._devices:
            seen.add(parent)
            yield self._devices[parent]
            parent = self._devices[parent].parent

    def _just_freed(self, device: Device, now: float) -> bool:
        """An ancestor recovered and this device has not been polled since: its own
        outage is probably over too, so it is not told until its next poll says."""
        heard = self._heard.get(device.id)
        patience = 2 * device.poll.interval if device.poll else 0.0
        for ancestor in self._ancestors(device):
            state = self._states.get(fingerprint(OUTAGE, ancestor.id))
            if (state is not None and state.status == INACTIVE and state.resolved_at
                    and (heard is None or heard.at < state.resolved_at)
                    and now - state.resolved_at < patience):
                return True
        return False

    def _held(self, state: AlertState, device: Device, now: float) -> bool:
        """A child's outage waits until each polled ancestor has been heard from since
        the child went pending (or that ancestor's own `for` has passed)."""
        if state.rule != OUTAGE or self._down_ancestor(device) is not None:
            return False
        since = state.active_since or now
        for ancestor in self._ancestors(device):
            if ancestor.poll is None:
                continue
            heard = self._heard.get(ancestor.id)
            if heard is not None and heard.at >= since:
                continue
            patience = ancestor.poll.interval * self.thresholds(ancestor).outage_polls
            if now - since < patience:
                return True
        return False

    def _gates(self, state: AlertState, device: Device, labels: dict[str, str],
               now: float) -> Gates:
        return Gates(
            silenced=silencing(self._silences, labels) is not None,
            suppressed=state.rule == OUTAGE and (self._down_ancestor(device) is not None
                                                 or self._just_freed(device, now)),
            acked=state.fingerprint in self._acks,
            quiet=self._closed(device, now))

    # ---- notices -----------------------------------------------------------------------

    def _notice(self, state: AlertState, device: Device, now: float) -> Notification | None:
        labels = self.labels(state, device)
        event = next_event(state, self._gates(state, device, labels, now), now)
        if event is None:
            return None
        notification_id = record_sent(state, event, now)
        state.labels = labels
        return Notification(id=notification_id, event=event,
                            alert=self._alert(state, device.id, labels,
                                              event == "resolved"),
                            created=self._time(now))

    @staticmethod
    def labels(state: AlertState, device: Device) -> dict[str, str]:
        labels = {"device_id": device.id, "device_name": device.name,
                  "category": device.category, "site": device.site or "",
                  "severity": state.severity, "kind": state.kind, "rule": state.rule,
                  "criticality": device.criticality.value}
        if state.instance:
            labels["instance"] = state.instance
        return labels

    def _behind(self, device_id: str) -> tuple[str, ...]:
        """Descendants whose outage is pending or firing: suppressed under the device."""
        found: list[str] = []
        stack = list(self._children.get(device_id, ()))
        seen: set[str] = set()
        while stack:
            child = stack.pop()
            if child in seen:
                continue
            seen.add(child)
            state = self._states.get(fingerprint(OUTAGE, child))
            if state is not None and state.status in (PENDING, FIRING):
                found.append(child)
            stack.extend(self._children.get(child, ()))
        return tuple(sorted(found))

    def _alert(self, state: AlertState, device_id: str, labels: dict[str, str],
               resolved: bool) -> Alert:
        behind = self._behind(device_id) if state.rule == OUTAGE and not resolved else ()
        summary, summary_ko = state.summary, state.summary_ko
        if behind:
            summary += f"; {len(behind)} devices behind it unreachable"
            summary_ko += f"; 하위 장비 {len(behind)}대 응답 없음"
        start = state.active_since or state.fired_at or state.resolved_at or 0.0
        return Alert(
            fingerprint=state.fingerprint, rule=state.rule, kind=state.kind,
            severity=Severity(state.severity), device_id=device_id, instance=state.instance,
            labels=labels, summary=summary, summary_ko=summary_ko,
            description=", ".join(behind), description_ko=", ".join(behind),
            starts_at=self._time(start),
            ends_at=self._time(state.resolved_at) if resolved and state.resolved_at else None,
            flapping=state.flapping, suppressed=behind, value=state.value)

    # ---- memory ----------------------------------------------------------------------------

    def _load_states(self) -> None:
        self._states, self._by_device = {}, {}
        for state in self._store.load_states():
            self._remember(state)

    def _remember(self, state: AlertState) -> AlertState:
        self._states[state.fingerprint] = state
        self._by_device.setdefault(state.device_id, {})[state.fingerprint] = state
        return state

    def _forget(self, state: AlertState) -> None:
        self._states.pop(state.fingerprint, None)
        self._by_device.get(state.device_id, {}).pop(state.fingerprint, None)

    def set_sink(self, sink: Sink) -> None:
        self._sink = sink

    def active_alerts(self) -> list[Alert]:
        """Firing alerts whose firing notice went out (Alertmanager's keep-alive)."""
        found = []
        for state in list(self._states.values()):
            device = self._devices.get(state.device_id)
            if state.status == FIRING and state.notified and device is not None:
                found.append(self._alert(state, device.id, self.labels(state, device), False))
        return found

    def states(self) -> list[AlertState]:
        return list(self._states.values())

    def status(self) -> dict[str, object]:
        """Alerts by state, JSON-able (the service adds the outbox's figures)."""
        now = self._now()
        counts = {"pending": 0, "firing": 0, "suppressed": 0, "silenced": 0, "acked": 0,
                  "flapping": 0}
        firing = []
        for state in list(self._states.values()):   # a snapshot: status may run elsewhere
            device = self._devices.get(state.device_id)
            if state.status == PENDING:
                counts["pending"] += 1
            if state.status != FIRING or device is None:
                continue
            gates = self._gates(state, device, self.labels(state, device), now)
            counts["firing"] += 1
            for name, on in (("suppressed", gates.suppressed), ("silenced", gates.silenced),
                             ("acked", gates.acked), ("flapping", state.flapping)):
                counts[name] += int(on)
            firing.append({"id": state.fingerprint, "rule": state.rule,
                           "device_id": state.device_id, "instance": state.instance,
                           "severity": state.severity,
                           "since": self._time(state.active_since or now).isoformat(),
                           "suppressed": gates.suppressed, "silenced": gates.silenced,
                           "acked": gates.acked, "flapping": state.flapping})
        return {"counts": counts, "firing": sorted(firing, key=lambda f: f["since"])}

"""The alert state machine: one `AlertState` per fingerprint, and what to tell when.

    inactive ──condition holds──► pending ──`for` elapsed (outage: N polls)──► firing
        ▲                            │                                          │
        └───────condition clears─────┴──────────────condition clears────────────┘

Transitions (`hold`, `clear`, `ripen`, `settle`, `end`) only change the state.
`next_event` then says which notification, if any, is due now given the gates
(silenced, suppressed by a down parent, acknowledged, outside opening hours):

* firing, not yet notified, not gated: `firing` (once per episode);
* firing, notified, `repeat` elapsed since the last notice, not acked/quiet: `repeat`;
* no longer firing but notified: `resolved` (never gated: a recovery is always told,
  even if a silence started meanwhile);
* flapping (more than `flap_changes` firing/resolved changes within `flap_window`, each
  within `flap_stable` of the one before): quiet until nothing changed for `flap_stable`,
  then the final state is told (a recovery always, as a `resolved`); while it flaps, one
  `firing` notice marked flapping, sent only while the alert fires. A state that held for
  `flap_stable` forgets its earlier changes: the next change starts a new count.

`LiveStates` is the one place the states are kept in memory (the engine's); they are
persisted as JSON by alerts/evaluation/store.py. Times are epoch seconds (floats).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from alerts.evaluation.rules import OUTAGE, Condition
from alerts.evaluation.thresholds import Thresholds
from alerts.model import Event

INACTIVE, PENDING, FIRING = "inactive", "pending", "firing"

# The fields of an `AlertState` that hold a time, and the one that holds a list of times:
# moved by the step when the wall clock is stepped (Store.shift_times).
TIME_FIELDS = ("active_since", "fired_at", "resolved_at", "last_sent")
TIME_LIST_FIELD = "changes"


def fingerprint(rule: str, device_id: str, instance: str = "") -> str:
    """Stable across restarts and versions: sha256 of rule, device and instance."""
    return hashlib.sha256(f"{rule}\0{device_id}\0{instance}".encode()).hexdigest()[:16]


@dataclass(slots=True, kw_only=True)
class AlertState:
    """Everything remembered about one fingerprint. Mutable; owned by the engine thread."""

    fingerprint: str
    rule: str
    kind: str
    severity: str
    device_id: str
    instance: str = ""
    status: str = INACTIVE
    active_since: float | None = None   # the condition first held (this episode)
    fired_at: float | None = None
    resolved_at: float | None = None
    polls: int = 0                      # consecutive observations holding (outage count)
    for_seconds: float = 0.0
    repeat: float = 0.0
    value: float | None = None
    summary: str = ""
    summary_ko: str = ""
    notified: bool = False              # a firing notice went out: a recovery is owed
    last_sent: float | None = None      # the last firing/repeat notice
    seq: int = 0                        # notifications emitted, for stable ids
    changes: list[float] = field(default_factory=list)   # firing/resolved change times
    flapping: bool = False
    flap_notice_owed: bool = False
    # The labels of the last notice: a recovery owed for a device no longer in the
    # inventory is told with the labels it fired with (Alertmanager matches on them).
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new(cls, condition: Condition) -> AlertState:
        return cls(fingerprint=fingerprint(condition.rule, condition.device_id,
                                           condition.instance),
                   rule=condition.rule, kind=condition.kind,
                   severity=condition.severity.value, device_id=condition.device_id,
                   instance=condition.instance)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def live(self) -> bool:
        """Worth keeping in memory: not inactive, or still owing or counting something."""
        return self.status != INACTIVE or self.notified or self.flapping or bool(self.changes)


@dataclass(frozen=True, slots=True)
class Gates:
    """What may stop a notice now, for one state (`alerts.evaluation.gates` computes it)."""

    silenced: bool = False
    suppressed: bool = False    # a parent is down: the parent's alert speaks for this one
    acked: bool = False
    quiet: bool = False         # outside opening hours: no repeats


def hold(state: AlertState, condition: Condition, now: float) -> None:
    """The condition holds at `now`: start or continue the episode."""
    state.severity = condition.severity.value
    state.kind = condition.kind
    state.value, state.summary, state.summary_ko = (condition.value, condition.summary,
                                                    condition.summary_ko)
    state.for_seconds, state.repeat = condition.for_seconds, condition.repeat
    if state.status == INACTIVE:
        state.status, state.active_since, state.polls = PENDING, now, 0
    state.polls += 1


def ready(state: AlertState, now: float, t: Thresholds) -> bool:
    """Whether a pending state's `for` has elapsed (outages count polls instead)."""
    if state.status != PENDING or state.active_since is None:
        return False
    if state.rule == OUTAGE:
        return state.polls >= t.outage_polls
    return now - state.active_since >= state.for_seconds


def ripen(state: AlertState, now: float, t: Thresholds) -> None:
    """pending -> firing (the caller checked `ready` and any dependency hold)."""
    state.status, state.fired_at, state.resolved_at = FIRING, now, None
    _changed(state, now, t)


def clear(state: AlertState, now: float, t: Thresholds) -> bool:
    """The condition no longer holds. True when a firing alert resolved."""
    was = state.status
    state.status, state.polls = INACTIVE, 0
    if was != FIRING:
        state.active_since = None
        return False
    state.resolved_at = now
    _changed(state, now, t)
    return True


def end(state: AlertState, now: float) -> None:
    """Ends the episode for good (the device is no longer watched): inactive, nothing
    counting, not flapping. A recovery still owed (`notified`) is the caller's to tell."""
    if state.status != INACTIVE or state.resolved_at is None:
        state.resolved_at = now
    state.status, state.polls = INACTIVE, 0
    state.flapping = state.flap_notice_owed = False
    state.changes = []


def _recent(changes: list[float], now: float, t: Thresholds) -> list[float]:
    """The changes that still count toward flapping at `now`: those within `flap_window`,
    and none at all once the state has held for `flap_stable` (a long stable outage or
    recovery ends a run of changes: the next change starts a new count)."""
    if changes and now - changes[-1] >= t.flap_stable:
        return []
    return [c for c in changes if now - c < t.flap_window]


def _changed(state: AlertState, now: float, t: Thresholds) -> None:
    state.changes = [*_recent(state.changes, now, t), now]
    if not state.flapping and len(state.changes) > t.flap_changes:
        state.flapping, state.flap_notice_owed = True, True


def settle(state: AlertState, now: float, t: Thresholds) -> bool:
    """Ends flapping once nothing changed for `flap_stable`; forgets old changes."""
    state.changes = _recent(state.changes, now, t)
    if state.flapping and not state.changes:
        state.flapping = state.flap_notice_owed = False
        return True
    return False


def idle(state: AlertState, now: float, t: Thresholds) -> bool:
    """True when a tick cannot change this state now: firing and told with no repeat
    due, or inactive with nothing owed and no change old enough to forget. Lets the
    tick skip most of thousands of long-firing (lifecycle) alerts cheaply."""
    if state.flapping or state.status == PENDING:
        return False
    if state.status == FIRING:
        return (state.notified and state.last_sent is not None
                and (state.repeat <= 0 or now - state.last_sent < state.repeat))
    return not state.notified and (not state.changes or state.changes == _recent(
        state.changes, now, t))


def next_event(state: AlertState, gates: Gates, now: float) -> Event | None:
    """The notification due now for this state, if any (see the module docstring)."""
    told = not (gates.silenced or gates.suppressed)
    if state.flapping:
        # Never a firing for an alert that is not firing: a flap that starts on a
        # recovery owes its notice until the alert fires again, or nothing.
        owed = state.flap_notice_owed and state.status == FIRING
        return "firing" if owed and told else None
    if state.status == FIRING:
        if not state.notified:
            return "firing" if told else None
        if (told and not gates.acked and not gates.quiet and state.repeat > 0
                and state.last_sent is not None and now - state.last_sent >= state.repeat):
            return "repeat"
        return None
    return "resolved" if state.notified else None


def record_sent(state: AlertState, event: Event, now: float) -> str:
    """Marks `event` as emitted; returns the notification id (stable, unique)."""
    state.seq += 1
    if event == "resolved":
        state.notified = False
    else:
        state.notified, state.last_sent = True, now
        state.flap_notice_owed = False
    return f"{state.fingerprint}:{event}:{state.seq}"


class LiveStates(Mapping[str, AlertState]):
    """The live states in memory, by fingerprint and by device: those loaded from the
    store and those changed since, until they are no longer `live`. Changed on the engine
    thread only; `snapshot()` may be taken from another."""

    def __init__(self, states: Iterable[AlertState] = ()) -> None:
        self._all: dict[str, AlertState] = {}
        self._by_device: dict[str, dict[str, AlertState]] = {}
        self.reset(states)

    def reset(self, states: Iterable[AlertState]) -> None:
        """Forget everything and hold `states` (as loaded from the store)."""
        self._all, self._by_device = {}, {}
        for state in states:
            self.add(state)

    def add(self, state: AlertState) -> AlertState:
        self._all[state.fingerprint] = state
        self._by_device.setdefault(state.device_id, {})[state.fingerprint] = state
        return state

    def discard(self, state: AlertState) -> None:
        self._all.pop(state.fingerprint, None)
        self._by_device.get(state.device_id, {}).pop(state.fingerprint, None)

    def of_device(self, device_id: str) -> list[AlertState]:
        return list(self._by_device.get(device_id, {}).values())

    def snapshot(self) -> list[AlertState]:
        return list(self._all.values())

    def __getitem__(self, fp: str) -> AlertState:
        return self._all[fp]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

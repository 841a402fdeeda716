"""Alert episodes on the live states: what an evaluation or the passing of time changes.

An evaluation starts or continues an episode for each condition that holds and clears
those of the rules it checked that no longer hold. A step then, per state: flapping
settles, a pending outage-kind alert is reset at closing, pending becomes firing when its
`for` has elapsed (unless dependencies hold it), and the notice it owes is collected.
An episode whose device is no longer watched is ended for good. The outage history and
the acks (which last one episode) are kept in step on the store, inside the engine's open
transaction; `Changes` collects what that transaction commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from alerts.evaluation.closures import ClosedSites
from alerts.evaluation.dependencies import Dependencies
from alerts.evaluation.gates import Gatekeeper
from alerts.evaluation.notices import Notices
from alerts.evaluation.rules import OUTAGE, Evaluation
from alerts.evaluation.state import (
    INACTIVE,
    PENDING,
    AlertState,
    LiveStates,
    clear,
    end,
    fingerprint,
    hold,
    idle,
    ready,
    ripen,
    settle,
)
from alerts.evaluation.store_api import AlertStore
from alerts.evaluation.thresholds import Thresholds
from alerts.evaluation.unmonitored import UNMONITORED, Reason
from alerts.model import Notification
from inventory.model import Device


@dataclass(slots=True)
class Changes:
    """What one engine transaction commits: the states it touched, the notices owed."""

    states: dict[str, AlertState] = field(default_factory=dict)
    notices: list[Notification] = field(default_factory=list)


class Episodes:
    """Applies evaluations, timers and endings to the live states, into `Changes`."""

    def __init__(self, states: LiveStates, store: AlertStore, gates: Gatekeeper,
                 closed: ClosedSites, dependencies: Dependencies, notices: Notices) -> None:
        self._states, self._store, self._gates = states, store, gates
        self._closed, self._dependencies, self._notices = closed, dependencies, notices

    def apply(self, changes: Changes, device: Device, evaluation: Evaluation, carried: int,
              t: Thresholds, now: float) -> None:
        """One evaluation of `device`. `carried`: failed polls a new outage starts from."""
        active: set[str] = set()
        for condition in evaluation.active:
            fp = fingerprint(condition.rule, condition.device_id, condition.instance)
            active.add(fp)
            state = self._states.get(fp) or self._states.add(AlertState.new(condition))
            fresh = state.status == INACTIVE
            hold(state, condition, now)
            if fresh and condition.rule == OUTAGE:
                state.polls += carried
            changes.states[fp] = state
        for state in self._states.of_device(device.id):
            if (state.rule in evaluation.checked and state.fingerprint not in active
                    and state.status != INACTIVE):
                self._clear(state, t, now)
                changes.states[state.fingerprint] = state

    def step(self, changes: Changes, state: AlertState, device: Device, t: Thresholds,
             now: float, *, sweep: bool) -> None:
        """Timers and the notice owed for one state. A `sweep` (the tick) also settles
        flapping and resets at closing, and skips states it cannot change."""
        if sweep and idle(state, now, t):
            return
        before = state.to_json() if sweep else None
        if sweep:
            settle(state, now, t)
            # Every outage-kind rule (device_down, the kiosk faults) restarts at opening.
            if (state.kind == "outage" and state.status == PENDING
                    and self._closed.closed(device, now)):
                self._clear(state, t, now)
        if ready(state, now, t) and not self._dependencies.held(state, device, now):
            ripen(state, now, t)
            if state.rule == OUTAGE:
                self._store.open_outage(device.id, state.fingerprint, state.active_since or now)
        notice = self._notices.owed(state, device, now)
        if notice is not None:
            changes.notices.append(notice)
        if not sweep or state.to_json() != before:
            changes.states[state.fingerprint] = state

    def end_for_good(self, changes: Changes, state: AlertState, device: Device | None,
                     why: Reason, now: float) -> None:
        """Ends one state for good: its outage closed, its ack gone, a recovery told if a
        firing notice went out; left inactive with nothing owed, so its row is deleted."""
        end(state, now)
        self._store.close_outage(state.fingerprint, now)
        self._forget_ack(state.fingerprint)
        if state.notified:
            changes.notices.append(self._notices.ended(state, device, UNMONITORED[why], now))
        changes.states[state.fingerprint] = state

    def _clear(self, state: AlertState, t: Thresholds, now: float) -> None:
        if state.rule == OUTAGE and state.status != INACTIVE:
            self._dependencies.recovered(state.device_id, now)
        if clear(state, now, t):
            if state.rule == OUTAGE:
                self._store.close_outage(state.fingerprint, now)
            self._forget_ack(state.fingerprint)

    def _forget_ack(self, fp: str) -> None:
        """An episode's ack ends with it."""
        self._store.clear_ack(fp)
        self._gates.forget_ack(fp)

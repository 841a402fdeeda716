"""The records the evaluating side hands over: each state's `Alert`, with its labels, and
the `Notification` it owes now (alerts/model.py documents both).

Labels are what routes, groups and silences match on: device_id, device_name, category,
site, severity, kind, rule, criticality, and instance when set. A state remembers the
labels of its last notice, so a recovery owed for a device no longer in the inventory is
told with the labels it fired with (Alertmanager matches on them). An outage alert names
the devices behind it that are down too ("83 devices behind it unreachable").
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from alerts.evaluation.dependencies import Dependencies
from alerts.evaluation.gates import Gatekeeper
from alerts.evaluation.rules import OUTAGE
from alerts.evaluation.state import AlertState, next_event, record_sent
from alerts.model import Alert, Notification, Severity
from inventory.model import Device


def labels_for(state: AlertState, device: Device) -> dict[str, str]:
    found = {"device_id": device.id, "device_name": device.name,
             "category": device.category, "site": device.site or "",
             "severity": state.severity, "kind": state.kind, "rule": state.rule,
             "criticality": device.criticality.value}
    if state.instance:
        found["instance"] = state.instance
    return found


def bare_labels(state: AlertState) -> dict[str, str]:
    """Labels from the state alone (a state saved before labels were remembered)."""
    found = {"device_id": state.device_id, "device_name": state.device_id,
             "severity": state.severity, "kind": state.kind, "rule": state.rule}
    if state.instance:
        found["instance"] = state.instance
    return found


def build_alert(state: AlertState, labels: Mapping[str, str], behind: tuple[str, ...],
                time: Callable[[float], datetime], *, resolved: bool) -> Alert:
    """The alert as the channels see it; `behind` are the devices it speaks for."""
    summary, summary_ko = state.summary, state.summary_ko
    if behind:
        summary += f"; {len(behind)} devices behind it unreachable"
        summary_ko += f"; 하위 장비 {len(behind)}대 응답 없음"
    start = state.active_since or state.fired_at or state.resolved_at or 0.0
    return Alert(
        fingerprint=state.fingerprint, rule=state.rule, kind=state.kind,
        severity=Severity(state.severity), device_id=state.device_id, instance=state.instance,
        labels=dict(labels), summary=summary, summary_ko=summary_ko,
        description=", ".join(behind), description_ko=", ".join(behind),
        starts_at=time(start),
        ends_at=time(state.resolved_at) if resolved and state.resolved_at else None,
        flapping=state.flapping, suppressed=behind, value=state.value)


class Notices:
    """Builds each state's alert and the notice it owes, recording it as sent on the
    state (the engine commits both together). `time` turns epoch seconds into the
    agent's local time."""

    def __init__(self, gates: Gatekeeper, dependencies: Dependencies,
                 time: Callable[[float], datetime]) -> None:
        self._gates, self._dependencies, self._time = gates, dependencies, time

    def owed(self, state: AlertState, device: Device, now: float) -> Notification | None:
        """The notice due now, if the gates let one through (see `state.next_event`)."""
        labels = labels_for(state, device)
        event = next_event(state, self._gates.gates(state, device, labels, now), now)
        if event in ("firing", "repeat") and self._gates.recheck(now):
            event = next_event(state, self._gates.gates(state, device, labels, now), now)
        if event is None:
            return None
        notification_id = record_sent(state, event, now)
        state.labels = labels
        return Notification(id=notification_id, event=event,
                            alert=self._alert(state, labels, resolved=event == "resolved"),
                            created=self._time(now))

    def ended(self, state: AlertState, device: Device | None,
              description: tuple[str, str], now: float) -> Notification:
        """The recovery of a state that ended without clearing (its device no longer
        watched), described in English and Korean; `device` None when it is gone."""
        labels = state.labels or (labels_for(state, device) if device is not None
                                  else bare_labels(state))
        notification_id = record_sent(state, "resolved", now)
        text, text_ko = description
        alert = replace(self._alert(state, labels, resolved=True),
                        description=text, description_ko=text_ko)
        return Notification(id=notification_id, event="resolved", alert=alert,
                            created=self._time(now))

    def firing(self, state: AlertState, device: Device) -> Alert:
        """A firing state's alert as it stands now (Alertmanager's keep-alive)."""
        return self._alert(state, labels_for(state, device), resolved=False)

    def _alert(self, state: AlertState, labels: Mapping[str, str], *,
               resolved: bool) -> Alert:
        behind = (self._dependencies.behind(state.device_id)
                  if state.rule == OUTAGE and not resolved else ())
        return build_alert(state, labels, behind, self._time, resolved=resolved)

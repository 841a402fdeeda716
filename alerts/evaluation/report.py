"""What the evaluating side says about its alerts: counts by state and the firing alerts
with their gates (`alerts.model.AlertStatus`), for the agent's status file and
`lifeline alerts list`. An alert still firing while its site is closed (opening hours)
says so (`closed`): it is kept, and not repeated until the site opens.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.evaluation.closures import ClosedSites
from alerts.evaluation.dependencies import Dependencies
from alerts.evaluation.gates import Gatekeeper
from alerts.evaluation.notices import labels_for
from alerts.evaluation.state import FIRING, PENDING, AlertState, LiveStates
from alerts.evaluation.store_api import AlertStore
from alerts.evaluation.thresholds import ThresholdTable
from alerts.evaluation.unmonitored import why_unmonitored
from alerts.model import AlertCounts, AlertStatus, FiringAlert
from inventory.model import Config, Device


def alert_status(states: Iterable[AlertState], devices: Mapping[str, Device],
                 gates: Gatekeeper, now: float, zone: ZoneInfo) -> AlertStatus:
    """Pending and firing alerts counted, the firing ones oldest first. A firing alert
    of a device not in the inventory is left out (it is not told either)."""
    counts = {"pending": 0, "firing": 0, "suppressed": 0, "silenced": 0, "acked": 0,
              "flapping": 0, "closed": 0}
    firing = []
    for state in states:
        device = devices.get(state.device_id)
        if state.status == PENDING:
            counts["pending"] += 1
        if state.status != FIRING or device is None:
            continue
        gated = gates.gates(state, device, labels_for(state, device), now)
        counts["firing"] += 1
        for name, on in (("suppressed", gated.suppressed), ("silenced", gated.silenced),
                         ("acked", gated.acked), ("flapping", state.flapping),
                         ("closed", gated.quiet)):
            counts[name] += int(on)
        firing.append(FiringAlert(
            id=state.fingerprint, rule=state.rule, device_id=state.device_id,
            instance=state.instance, severity=state.severity,
            since=datetime.fromtimestamp(state.active_since or now, zone),
            suppressed=gated.suppressed, silenced=gated.silenced, acked=gated.acked,
            flapping=state.flapping, closed=gated.quiet))
    return AlertStatus(counts=AlertCounts(**counts),
                       firing=tuple(sorted(firing, key=lambda f: f.since)))


@dataclass(frozen=True, slots=True)
class StoredAlerts:
    """The alerts in a store, as `lifeline alerts list` shows them."""

    status: AlertStatus
    pending: tuple[AlertState, ...]

    @classmethod
    def none(cls) -> StoredAlerts:
        """No alerts: a store not created yet."""
        return cls(AlertStatus(), ())


def read_alerts(config: Config, store: AlertStore, now: datetime) -> StoredAlerts:
    """The alerts in `store` as the engine would report them under `config`, read without
    changing anything: the running agent owns the states. Alerts of devices no longer
    watched are left out (the agent ends them on its next reload or lifecycle run); no
    device has been heard from yet, as in an engine just started."""
    t = now.timestamp()
    devices = {d.id: d for d in config.devices}
    today = now.astimezone(config.agent.zone).date()
    states = LiveStates(s for s in store.load_states()
                        if why_unmonitored(s, devices.get(s.device_id), today) is None)
    dependencies = Dependencies(states, ThresholdTable(config.alerts).for_device)
    dependencies.reload(devices)
    closed = ClosedSites()
    closed.reload(config.devices, config.agent.zone)
    gates = Gatekeeper(dependencies, closed)
    gates.refresh(store.silences(t), store.acks())
    return StoredAlerts(
        status=alert_status(states.snapshot(), devices, gates, t, config.agent.zone),
        pending=tuple(s for s in states.snapshot() if s.status == PENDING))

"""The alerts page: firing and pending alerts filtered by severity, kind, site, category
and state; the silences in force; and the outage history of the last days with each
device's downtime and availability over the time actually watched (availability.py)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.status import AgentStatus
from agent.web.alert_rows import AlertRow
from agent.web.availability import AVAILABILITY_DAYS, Availability, availability, watched_since
from alerts.evaluation.store_api import AlertStore, Outage, SilenceRecord
from inventory.model import Config, Device

FILTERS = ("severity", "kind", "site", "category", "state")


@dataclass(frozen=True, slots=True)
class Filters:
    severity: str = ""
    kind: str = ""
    site: str = ""
    category: str = ""
    state: str = ""

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        return cls(**{name: str(query.get(name, ""))[:100] for name in FILTERS})

    def keep(self, row: AlertRow, device: Device | None) -> bool:
        wanted = {"severity": row.severity, "kind": row.kind, "state": row.state,
                  "site": device.site or "" if device else "",
                  "category": device.category if device else ""}
        return all(not getattr(self, name) or getattr(self, name) == value
                   for name, value in wanted.items())


@dataclass(frozen=True, slots=True)
class DeviceHistory:
    device_id: str
    outages: tuple[Outage, ...]
    availability: Availability


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsPage:
    rows: tuple[AlertRow, ...]
    filters: Filters
    choices: Mapping[str, tuple[str, ...]]      # filter name -> the values present
    silences: tuple[SilenceRecord, ...]
    history: tuple[DeviceHistory, ...]
    watched_from: datetime
    days: int


def build_alerts_page(config: Config, status: AgentStatus | None, rows: Sequence[AlertRow],
                      store: AlertStore | None, filters: Filters, now: datetime) -> AlertsPage:
    devices = {d.id: d for d in config.devices}
    since = now - timedelta(days=AVAILABILITY_DAYS)
    outages = store.outages(since=since.timestamp()) if store else []
    silences = tuple(store.silences(now.timestamp())) if store else ()
    started = status.agent.started if status else None
    watched = watched_since(now, started, outages)
    by_device: dict[str, list[Outage]] = {}
    for outage in outages:
        by_device.setdefault(outage.device_id, []).append(outage)
    history = tuple(DeviceHistory(device_id, tuple(items), availability(items, watched, now))
                    for device_id, items in sorted(by_device.items()))
    choices = {
        "severity": ("critical", "warning", "info"),
        "kind": tuple(sorted({r.kind for r in rows if r.kind})),
        "site": tuple(sorted({d.site for d in devices.values() if d.site})),
        "category": tuple(sorted({d.category for d in devices.values()})),
        "state": ("firing", "pending")}
    return AlertsPage(rows=tuple(r for r in rows if filters.keep(r, devices.get(r.device_id))),
                      filters=filters, choices=choices, silences=silences, history=history,
                      watched_from=watched, days=AVAILABILITY_DAYS)

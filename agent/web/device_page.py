"""One device's page: what the inventory says and what the device says (drift marked),
its last polls with result and duration, its alerts and outage history with availability,
its lifecycle dates, and charts of its key series (or, with InfluxDB, a Grafana link)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit, urlunsplit

from agent.sinks import store_path
from agent.status import AgentStatus, DevicePoll
from agent.web.alert_rows import AlertRow
from agent.web.availability import Availability, availability, watched_since
from agent.web.charts import Chart, device_charts, last_polls
from alerts.evaluation.store_api import AlertStore, Outage
from collectors.base import ResultCode
from inventory.lifecycle import Lifecycle, assess
from inventory.model import Category, Config, Device

CHART_HOURS = 1
GRAFANA_DASHBOARD = "lifeline-district-influxql"    # config/grafana/lifeline-influxql.json


@dataclass(frozen=True, slots=True)
class IdentityLine:
    field: str
    inventory: str | None
    device: str | None

    @property
    def drift(self) -> bool:
        return bool(self.inventory and self.device and self.inventory != self.device)


@dataclass(frozen=True, slots=True)
class PollLine:
    at: datetime
    result: str
    up: bool
    duration: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePage:
    device: Device
    category: Category | None
    target: str | None                  # where it is polled, without any secret
    poll: DevicePoll | None
    identity: tuple[IdentityLine, ...]
    polls: tuple[PollLine, ...]
    alerts: tuple[AlertRow, ...]
    outages: tuple[Outage, ...]
    availability: Availability | None
    lifecycle: Lifecycle
    charts: tuple[Chart, ...]
    grafana: str | None                 # with InfluxDB: the dashboard for this device
    influx: bool


def target_of(device: Device) -> str | None:
    """Where the device is polled: an address, or a URL without its user, password,
    query or fragment (any of which may carry a secret)."""
    poll = device.poll
    if poll is None:
        return None
    if poll.url:
        parts = urlsplit(poll.url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if poll.address:
        return f"{poll.address}:{poll.port}" if poll.port else poll.address
    return poll.protocol


def _identity(device: Device, poll: DevicePoll | None) -> tuple[IdentityLine, ...]:
    said = dict(poll.identity) if poll else {}
    return (IdentityLine("sysObjectID", device.sys_object_id, said.get("sys_object_id")),
            IdentityLine("model", device.model, said.get("model")),
            IdentityLine("serial", device.serial, said.get("serial")),
            IdentityLine("sysName", None, said.get("sys_name")),
            IdentityLine("sysDescr", None, said.get("sys_descr")))


def _polls(config: Config, device: Device, now: datetime) -> tuple[PollLine, ...]:
    if config.influxdb is not None or device.poll is None:
        return ()
    lines = []
    zone = config.agent.zone
    for sample in last_polls(store_path(config), device.id, now - timedelta(hours=CHART_HOURS)):
        code = sample.fields.get("result_code")
        try:
            result = ResultCode(int(code)).label if isinstance(code, int) else "?"
        except ValueError:
            result = str(code)
        duration = sample.fields.get("duration_seconds")
        lines.append(PollLine(at=sample.time.astimezone(zone), result=result,
                              up=bool(sample.fields.get("up")),
                              duration=float(duration) if isinstance(duration, int | float)
                              else None))
    return tuple(lines)


def grafana_link(base: str | None, device_id: str) -> str | None:
    if not base:
        return None
    return f"{base.rstrip('/')}/d/{GRAFANA_DASHBOARD}?var-device_id={quote(device_id)}"


def build_device_page(config: Config, device: Device, status: AgentStatus | None,
                      rows: Sequence[AlertRow], store: AlertStore | None,
                      now: datetime) -> DevicePage:
    poll = status.devices.get(device.id) if status else None
    since = now - timedelta(days=30)
    outages = tuple(store.outages(device.id, since=since.timestamp())) if store else ()
    started = status.agent.started if status else None
    watched = (availability(outages, watched_since(now, started, outages), now)
               if device.poll is not None else None)
    influx = config.influxdb is not None
    charts: tuple[Chart, ...] = ()
    if not influx and device.poll is not None:
        charts = device_charts(store_path(config), device.id,
                               now - timedelta(hours=CHART_HOURS), now)
    return DevicePage(
        device=device, category=config.categories.get(device.category),
        target=target_of(device), poll=poll, identity=_identity(device, poll),
        polls=_polls(config, device, now),
        alerts=tuple(r for r in rows if r.device_id == device.id),
        outages=tuple(reversed(outages)), availability=watched,
        lifecycle=assess(device, config.categories, now.date(),
                         config.alerts.lifecycle_horizon_months),
        charts=charts, grafana=grafana_link(config.console.grafana_url, device.id) if influx
        else None, influx=influx)

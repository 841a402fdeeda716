"""The board: what is down or degraded right now, first (alert_rows.py's order: critical
before warning, outages first), each down device with the devices suppressed behind it;
then the lifecycle notices apart (a service life or support that ended is not "down":
the board counts them and folds them away, whatever their severity, so they never push
an outage off a wall screen); then every site with its devices up, down and not polled
yet, and its kiosks (devices with opening hours) open or closed by those hours now."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from agent.status import AgentStatus, DevicePoll
from agent.web.alert_rows import AlertRow
from inventory.hours import HoursError, OperatingHours
from inventory.model import Config, Device

NO_SITE = "-"
LIFECYCLE = "lifecycle"                 # the alert kind the board folds away


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One firing or pending alert on the board, with the devices down behind it."""

    alert: AlertRow
    device_name: str
    site: str
    category: str
    behind: tuple[str, ...] = ()        # device ids whose outages this one speaks for


@dataclass(frozen=True, slots=True, kw_only=True)
class Kiosk:
    device_id: str
    name: str
    hours: str
    open: bool
    up: bool | None                     # None: not polled yet


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteSummary:
    name: str
    devices: int                        # polled devices
    up: int
    down: int
    unpolled: int                       # polled devices not polled yet
    tracked: int                        # assets with no poll (lifecycle only)
    problems: int                       # problems on the board at this site
    kiosks: tuple[Kiosk, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Board:
    at: datetime
    status_at: datetime | None          # when the agent's status was taken
    running: bool
    problems: tuple[Problem, ...]       # down or degraded now: every kind but lifecycle
    lifecycle: tuple[Problem, ...]      # lifecycle notices (service life, support, contracts)
    suppressed: int                     # alerts suppressed behind a down parent
    sites: tuple[SiteSummary, ...]


def build_board(config: Config, status: AgentStatus | None, rows: Sequence[AlertRow],
                now: datetime) -> Board:
    zone = config.agent.zone
    devices = {d.id: d for d in config.devices if not d.is_retired(now.date())}
    down = {r.device_id for r in rows if r.kind == "outage" and r.rule == "device_down"}
    behind: dict[str, list[str]] = {}
    shown = []
    for row in rows:
        if row.device_id not in devices:
            continue
        if row.suppressed:
            parent = _down_ancestor(devices[row.device_id], devices, down)
            behind.setdefault(parent or row.device_id, []).append(row.device_id)
        elif (top := _pending_behind(row, devices, down)) is not None:
            behind.setdefault(top, []).append(row.device_id)
        else:
            shown.append(row)
    every = tuple(
        Problem(alert=r, device_name=devices[r.device_id].name,
                site=devices[r.device_id].site or NO_SITE,
                category=devices[r.device_id].category,
                behind=tuple(sorted(set(behind.get(r.device_id, ()))))
                if r.rule == "device_down" else ())
        for r in shown)
    problems = tuple(p for p in every if p.alert.kind != LIFECYCLE)
    return Board(at=now, status_at=status.written.astimezone(zone) if status else None,
                 running=bool(status and status.agent.running),
                 problems=problems,
                 lifecycle=tuple(p for p in every if p.alert.kind == LIFECYCLE),
                 suppressed=sum(1 for r in rows if r.suppressed),
                 sites=_sites(devices, status, problems, now, zone))


def _pending_behind(row: AlertRow, devices: Mapping[str, Device],
                    down: set[str]) -> str | None:
    """Where a device whose own outage is still pending is folded: behind its farthest
    failing ancestor. While a backbone switch and the 47 devices behind it all wait out
    their polls the board shows one row, not 48 (the alert engine suppresses them once
    the parent fires)."""
    if row.rule != "device_down" or row.state != "pending":
        return None
    top, _ = _ancestors(devices[row.device_id], devices, down)
    return top


def _down_ancestor(device: Device, devices: Mapping[str, Device],
                   down: set[str]) -> str | None:
    """The farthest ancestor that is down (the alert shown, which speaks for everything
    behind it, switches behind switches included), else the nearest ancestor at all (it
    came back moments ago and the child waits to be sure)."""
    top, first = _ancestors(device, devices, down)
    return top or first


def _ancestors(device: Device, devices: Mapping[str, Device],
               down: set[str]) -> tuple[str | None, str | None]:
    """(the farthest ancestor in `down`, the nearest ancestor), each None if none."""
    seen, first, top = {device.id}, None, None
    parent = device.parent
    while parent and parent in devices and parent not in seen:
        seen.add(parent)
        first = first or parent
        if parent in down:
            top = parent
        parent = devices[parent].parent
    return top, first


def _sites(devices: Mapping[str, Device], status: AgentStatus | None,
           problems: Sequence[Problem], now: datetime, zone: ZoneInfo) -> tuple[SiteSummary, ...]:
    polls = status.devices if status else {}
    by_site: dict[str, list[Device]] = {}
    for device in devices.values():
        by_site.setdefault(device.site or NO_SITE, []).append(device)
    counted: dict[str, int] = {}
    for problem in problems:
        counted[problem.site] = counted.get(problem.site, 0) + 1
    sites = []
    for name, members in sorted(by_site.items()):
        polled = [d for d in members if d.poll is not None]
        states = [polls[d.id].up if d.id in polls else None for d in polled]
        sites.append(SiteSummary(
            name=name, devices=len(polled), up=sum(1 for s in states if s is True),
            down=sum(1 for s in states if s is False),
            unpolled=sum(1 for s in states if s is None), tracked=len(members) - len(polled),
            problems=counted.get(name, 0),
            kiosks=tuple(k for d in members if (k := _kiosk(d, polls, now, zone)))))
    # Sites with problems first, then by name: the wall screen shows trouble at the top.
    return tuple(sorted(sites, key=lambda s: (s.problems == 0 and s.down == 0, s.name)))


def _kiosk(device: Device, polls: Mapping[str, DevicePoll], now: datetime,
           zone: ZoneInfo) -> Kiosk | None:
    if not device.operating_hours:
        return None
    try:
        hours = OperatingHours.parse(device.operating_hours)
    except HoursError:          # refused at load; a guard for records built otherwise
        return None
    if hours.always:
        return None
    poll = polls.get(device.id)
    up = poll.up if poll is not None else None
    return Kiosk(device_id=device.id, name=device.name, hours=device.operating_hours,
                 open=hours.is_open(now, zone), up=up)

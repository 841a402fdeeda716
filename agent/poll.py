"""`lifeline poll CONFIG [--device ID ...] [--json]`: one poll of every (or the named)
device, printed as a table or as one JSON object per device per line.

Every protocol is polled: `snmp`, `http` (a check of `poll.url`) and `host` (the machine
the command runs on). A device without poll settings is listed as "skipped". Devices that
are down are data, not failures: the exit status is 0 whatever they answered, and 1 only
for a device id the configuration does not have.
"""
from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterable, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collectors.base import Collector, PollResult, Sample
from collectors.host import HostCollector
from collectors.http.collector import HttpCollector
from collectors.snmp import SnmpCollector
from inventory.model import Config, Device

# protocol -> collector factory: one collector per protocol per run, closed at the end.
COLLECTORS: dict[str, Callable[[Config], Any]] = {
    "snmp": SnmpCollector.from_config,
    "http": HttpCollector.from_config,
    "host": HostCollector.from_config,
}


def run_poll(config: Config, device_ids: list[str] | None, as_json: bool, out: TextIO) -> int:
    known = {d.id for d in config.devices}
    unknown = [i for i in device_ids or [] if i not in known]
    if unknown:
        print(f"lifeline poll: unknown device id: {', '.join(unknown)}", file=sys.stderr)
        return 1
    devices = _selected(config, device_ids)
    results = asyncio.run(_poll_all(config, devices))
    tz = _zone(config.agent.timezone)
    if as_json:
        for device in devices:
            out.write(json.dumps(_as_json(device, results.get(device.id), tz),
                                 ensure_ascii=False) + "\n")
    else:
        out.write(_table(devices, results))
    return 0


def _selected(config: Config, device_ids: list[str] | None) -> list[Device]:
    if device_ids:
        wanted = set(device_ids)
        return [d for d in config.devices if d.id in wanted]
    today = date.today()
    return [d for d in config.devices if d.poll is not None and not d.is_retired(today)]


@dataclass(frozen=True, slots=True)
class Collectors:
    """One collector per protocol the devices use, built from one config; the agent
    replaces the whole set on reload."""

    by_protocol: dict[str, Any]

    @classmethod
    def build(cls, config: Config, devices: Iterable[Device]) -> Collectors:
        protocols = {d.poll.protocol for d in devices if d.poll is not None}
        return cls({p: COLLECTORS[p](config) for p in sorted(protocols) if p in COLLECTORS})

    def for_device(self, device: Device) -> Any:
        return self.by_protocol.get(device.poll.protocol) if device.poll else None

    async def aclose(self) -> None:
        for collector in self.by_protocol.values():
            close = getattr(collector, "aclose", None)
            if close is not None:
                await close()


async def _poll_all(config: Config, devices: list[Device]) -> dict[str, PollResult]:
    collectors = Collectors.build(config, devices)
    jobs = [_collect(collector, device) for device in devices
            if (collector := collectors.for_device(device)) is not None]
    try:
        return {r.device_id: r for r in await asyncio.gather(*jobs)}
    finally:
        await collectors.aclose()


async def _collect(collector: Collector, device: Device) -> PollResult:
    return await collector.collect(device)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _skipped_reason(device: Device) -> str:
    if device.poll is None:
        return "not polled (no poll settings)"
    return f"no collector for protocol {device.poll.protocol!r}"


def _as_json(device: Device, result: PollResult | None, tz: ZoneInfo | None) -> dict[str, Any]:
    if result is None:
        return {"device_id": device.id, "reachable": None, "result": "skipped",
                "error": _skipped_reason(device)}
    return {
        "device_id": result.device_id,
        "reachable": result.reachable,
        "result": result.code.label,
        "result_code": int(result.code),
        "duration": round(result.duration, 6),
        "started": result.started.astimezone(tz).isoformat(),
        "error": result.error,
        "identity": result.identity.as_dict() if result.identity else None,
        "warnings": list(result.extras.get("warnings", ())),  # type: ignore[call-overload]
        "samples": [_sample_json(s, tz) for s in result.samples],
    }


def _sample_json(sample: Sample, tz: ZoneInfo | None) -> dict[str, Any]:
    return {"measurement": sample.measurement, "tags": dict(sample.tags),
            "fields": dict(sample.fields), "time": sample.time.astimezone(tz).isoformat()}


def _table(devices: list[Device], results: dict[str, PollResult]) -> str:
    rows = [("DEVICE", "RESULT", "UP", "TIME", "SAMPLES", "HOSTNAME", "ERROR")]
    for device in devices:
        r = results.get(device.id)
        if r is None:
            rows.append((device.id, "skipped", "-", "-", "-", "-", _skipped_reason(device)))
            continue
        hostname = (r.identity.sys_name if r.identity else None) or "-"
        rows.append((device.id, r.code.label, "yes" if r.reachable else "no",
                     f"{r.duration * 1000:.0f}ms", str(len(r.samples)), hostname,
                     r.error or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1]
             for row in rows]
    up = sum(1 for r in results.values() if r.reachable)
    lines.append(f"{len(results)} polled, {up} answered, {len(results) - up} down")
    return "\n".join(line.rstrip() for line in lines) + "\n"

"""`lifeline poll CONFIG [--device ID ...] [--json]`: one poll of every (or the named)
device, printed as a table or as one JSON object per device per line.

Every protocol is polled: `snmp`, `http` (a check of `poll.url`) and `host` (the machine
the command runs on). A device without poll settings is listed as "skipped". Devices that
are down are data, not failures: the exit status is 0 whatever they answered, and 1 only
for a device id the configuration does not have.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from agent.cli.common import add_config_argument, load_or_report, today
from agent.cli.table import render_table
from collectors.base import PollResult, Sample, SnmpFacts
from inventory.model import Config, Device


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--device", action="append", metavar="ID", dest="devices",
                        help="poll only this device (repeatable)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per device instead of a table")


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    return run_poll(config, args.devices, args.json, sys.stdout)


def run_poll(config: Config, device_ids: list[str] | None, as_json: bool, out: TextIO) -> int:
    known = {d.id for d in config.devices}
    unknown = [i for i in device_ids or [] if i not in known]
    if unknown:
        print(f"lifeline poll: unknown device id: {', '.join(unknown)}", file=sys.stderr)
        return 1
    devices = _selected(config, device_ids)
    results = asyncio.run(_poll_all(config, devices))
    zone = config.agent.zone
    if as_json:
        for device in devices:
            out.write(json.dumps(_as_json(device, results.get(device.id), zone),
                                 ensure_ascii=False) + "\n")
    else:
        out.write(_table(devices, results))
    return 0


def _selected(config: Config, device_ids: list[str] | None) -> list[Device]:
    if device_ids:
        wanted = set(device_ids)
        return [d for d in config.devices if d.id in wanted]
    on = today(config)
    return [d for d in config.devices if d.poll is not None and not d.is_retired(on)]


async def _poll_all(config: Config, devices: list[Device]) -> dict[str, PollResult]:
    # Imported here: pysnmp and requests load only when a command polls.
    from agent.collector_set import Collectors

    collectors = Collectors.build(config, devices)
    jobs = [collector.collect(device) for device in devices
            if (collector := collectors.for_device(device)) is not None]
    try:
        return {r.device_id: r for r in await asyncio.gather(*jobs)}
    finally:
        await collectors.aclose()


def _skipped_reason(device: Device) -> str:
    if device.poll is None:
        return "not polled (no poll settings)"
    return f"no collector for protocol {device.poll.protocol!r}"


def _as_json(device: Device, result: PollResult | None, zone: ZoneInfo) -> dict[str, Any]:
    if result is None:
        return {"device_id": device.id, "reachable": None, "result": "skipped",
                "error": _skipped_reason(device)}
    return {
        "device_id": result.device_id,
        "reachable": result.reachable,
        "result": result.code.label,
        "result_code": int(result.code),
        "duration": round(result.duration, 6),
        "started": result.started.astimezone(zone).isoformat(),
        "error": result.error,
        "identity": result.identity.as_dict() if result.identity else None,
        "profile": _profile(device, result),
        "warnings": list(result.warnings),
        "samples": [_sample_json(s, zone) for s in result.samples],
    }


def _sample_json(sample: Sample, zone: ZoneInfo) -> dict[str, Any]:
    return {"measurement": sample.measurement, "tags": dict(sample.tags),
            "fields": dict(sample.fields), "time": sample.time.astimezone(zone).isoformat()}


def _profile(device: Device, result: PollResult) -> str | None:
    """The SNMP profile polled: the one `auto` chose, or the one the config names."""
    if isinstance(result.facts, SnmpFacts) and result.facts.profile:
        return result.facts.profile
    return device.poll.profile if device.poll and device.poll.protocol == "snmp" else None


def _table(devices: list[Device], results: dict[str, PollResult]) -> str:
    rows: list[list[object]] = []
    for device in devices:
        r = results.get(device.id)
        if r is None:
            rows.append([device.id, "skipped", None, None, None, None, None,
                         _skipped_reason(device)])
            continue
        rows.append([device.id, r.code.label, "yes" if r.reachable else "no",
                     f"{r.duration * 1000:.0f}ms", len(r.samples), _profile(device, r),
                     r.identity.sys_name if r.identity else None,
                     r.error or "; ".join(r.warnings)])
    up = sum(1 for r in results.values() if r.reachable)
    return (render_table(["DEVICE", "RESULT", "UP", "TIME", "SAMPLES", "PROFILE", "HOSTNAME",
                          "ERROR"], rows, right_aligned=(3, 4))
            + f"{len(results)} polled, {up} answered, {len(results) - up} down\n")

"""`lifeline poll CONFIG [--device ID ...] [--format table|json|csv|jsonl]`: one poll of
every (or the named) device, printed as a table, one JSON array, CSV rows, or one JSON
object per device per line (jsonl, written as each poll ends: devices without a collector
first, then in the order their polls finish). `--json` is the older spelling of
`--format jsonl`. A poll of many devices shows its progress on stderr when that is a
terminal.

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
from collections.abc import Callable
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from agent.cli.common import (
    CSV,
    JSON,
    JSONL,
    STREAM_FORMATS,
    add_config_argument,
    add_format_argument,
    load_or_report,
    today,
)
from agent.cli.progress import Progress
from agent.cli.table import render_csv, render_table
from collectors.base import PollResult, Sample, SnmpFacts
from inventory.model import Config, Device


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--device", action="append", metavar="ID", dest="devices",
                        help="poll only this device (repeatable)")
    add_format_argument(parser, STREAM_FORMATS, json_alias=JSONL)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    return run_poll(config, args.devices, args.format, sys.stdout)


def run_poll(config: Config, device_ids: list[str] | None, fmt: str, out: TextIO) -> int:
    """Polls and prints in `fmt` (table, json, csv or jsonl); the exit status."""
    known = {d.id for d in config.devices}
    unknown = [i for i in device_ids or [] if i not in known]
    if unknown:
        print(f"lifeline poll: unknown device id: {', '.join(unknown)}", file=sys.stderr)
        return 1
    devices = _selected(config, device_ids)
    zone = config.agent.zone
    polled = sum(1 for d in devices if d.poll is not None)
    with Progress("polling", polled, "devices") as progress:
        def done(device: Device, result: PollResult | None) -> None:
            if result is not None:
                progress.advance()
            if fmt == JSONL:        # streamed: each device as soon as it is known
                progress.close()
                out.write(json.dumps(_as_json(device, result, zone), ensure_ascii=False) + "\n")
                out.flush()
        results = asyncio.run(_poll_all(config, devices, done))
    if fmt == JSON:
        json.dump([_as_json(d, results.get(d.id), zone) for d in devices], out,
                  ensure_ascii=False, indent=2)
        out.write("\n")
    elif fmt == CSV:
        out.write(render_csv(CSV_COLUMNS, [_row(d, results.get(d.id)) for d in devices]))
    elif fmt != JSONL:
        out.write(_table(devices, results))
    return 0


def _selected(config: Config, device_ids: list[str] | None) -> list[Device]:
    if device_ids:
        wanted = set(device_ids)
        return [d for d in config.devices if d.id in wanted]
    on = today(config)
    return [d for d in config.devices if d.poll is not None and not d.is_retired(on)]


async def _poll_all(config: Config, devices: list[Device],
                    done: Callable[[Device, PollResult | None], None]) -> dict[str, PollResult]:
    """Every device's result; `done` hears of each device as it is known (None: no
    collector polls it)."""
    # Imported here: pysnmp and requests load only when a command polls.
    from agent.collector_set import Collectors
    from collectors.base import Collector

    collectors = Collectors.build(config, devices)

    async def one(device: Device, collector: Collector) -> PollResult:
        result = await collector.collect(device)
        done(device, result)
        return result

    jobs = []
    for device in devices:
        collector = collectors.for_device(device)
        if collector is None:
            done(device, None)
        else:
            jobs.append(one(device, collector))
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


CSV_COLUMNS = ["device_id", "result", "reachable", "duration_seconds", "samples", "profile",
               "hostname", "error"]


def _row(device: Device, r: PollResult | None) -> list[object]:
    """One device's line of the CSV (and, with its duration in ms, of the table)."""
    if r is None:
        return [device.id, "skipped", None, None, None, None, None, _skipped_reason(device)]
    return [device.id, r.code.label, "yes" if r.reachable else "no", round(r.duration, 6),
            len(r.samples), _profile(device, r), r.identity.sys_name if r.identity else None,
            r.error or "; ".join(r.warnings)]


def _table(devices: list[Device], results: dict[str, PollResult]) -> str:
    rows = [_row(device, results.get(device.id)) for device in devices]
    for row in rows:
        if isinstance(row[3], float):
            row[3] = f"{row[3] * 1000:.0f}ms"
    up = sum(1 for r in results.values() if r.reachable)
    return (render_table(["DEVICE", "RESULT", "UP", "TIME", "SAMPLES", "PROFILE", "HOSTNAME",
                          "ERROR"], rows, right_aligned=(3, 4))
            + f"{len(results)} polled, {up} answered, {len(results) - up} down\n")

"""`lifeline metrics CONFIG --device ID [--measurement M] [--since 1h] [--format table|json|csv]`:
a device's points read back from the embedded store, series by series.

With `storage.influxdb` configured the points are in InfluxDB, not here: the command says
so, with what is still waiting in the local spool, and exits 0. Exit 1 for an unknown
device or a bad argument; 2 when the store cannot be used (damaged, written by a newer
Lifeline, unreadable), said in one line; 0 otherwise, also when there is nothing to show
yet. The store is opened read-only, so this works on a read-only state_dir too.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from typing import Any, TextIO

from agent.cli.common import (
    CSV,
    EXIT_RUNTIME,
    JSON,
    STORE_ERRORS,
    add_config_argument,
    add_format_argument,
    cannot_use,
    load_or_report,
)
from agent.cli.table import render_csv, render_table
from collectors.base import FieldValue, Sample
from config.durations import parse_duration
from inventory.model import Config

# Tags every point of a device carries: the same on each row, so the table leaves them out.
DEVICE_TAGS = frozenset({"device_id", "category", "site", "agent_host", "hostname"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--device", required=True, metavar="ID", help="the device's id")
    parser.add_argument("--measurement", metavar="M",
                        help="only this measurement (interface, snmp, ups, lifeline_poll, ...)")
    parser.add_argument("--since", default="1h", metavar="DURATION",
                        help="how far back to read, e.g. 30m, 6h, 2d (default 1h)")
    add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    try:
        since = parse_duration(args.since)
    except ValueError as exc:
        print(f"lifeline metrics: --since: {exc}", file=sys.stderr)
        return 1
    config = load_or_report(args.config)
    if config is None:
        return 1
    if args.device not in {d.id for d in config.devices}:
        print(f"lifeline metrics: unknown device {args.device!r} in {args.config}",
              file=sys.stderr)
        return 1
    if config.influxdb is not None:
        _say_influx(config, sys.stdout)
        return 0
    from agent.sinks import store_path
    from agent.sinks.store import read_points

    path = store_path(config)
    zone = config.agent.zone
    start = datetime.now(zone) - timedelta(seconds=since)
    write = {JSON: _write_json, CSV: _write_csv}.get(args.format, _write_table)
    try:
        # Read whole before printing: a store that fails halfway prints no half table.
        points = list(read_points(path, args.device, measurement=args.measurement,
                                  since=start))
    except STORE_ERRORS as exc:
        print(f"lifeline metrics: {cannot_use(path, exc)}", file=sys.stderr)
        return EXIT_RUNTIME
    count = write(points, zone, sys.stdout)
    if not count:
        where = path if path.exists() else f"{path} (not created yet: has `lifeline run` run?)"
        print(f"lifeline metrics: no points for {args.device} since "
              f"{start:%Y-%m-%d %H:%M:%S %Z} in {where}", file=sys.stderr)
    return 0


def _say_influx(config: Config, out: TextIO) -> None:
    from agent.sinks import spool_dir
    from agent.sinks.spool import SpoolError, inspect

    settings = config.influxdb
    assert settings is not None
    out.write(f"Metrics of this configuration are written to InfluxDB at "
              f"{settings.describe()}, not to the embedded store: query them there "
              "(Grafana, the InfluxDB UI or its API).\n")
    try:
        state = inspect(spool_dir(config))
    except SpoolError as exc:
        out.write(f"The local spool cannot be read: {exc}\n")
        return
    out.write(f"Waiting in the local spool {spool_dir(config)}: {state.points} points "
              f"({state.bytes} bytes), sent once InfluxDB accepts them.\n")


def _value(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _write_table(points: Iterable[Sample], zone: tzinfo, out: TextIO) -> int:
    rows = [(p.time.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), p.measurement,
             " ".join(f"{k}={v}" for k, v in sorted(p.tags.items()) if k not in DEVICE_TAGS),
             " ".join(f"{k}={_value(v)}" for k, v in sorted(p.fields.items())))
            for p in points]
    if rows:
        out.write(render_table(["TIME", "MEASUREMENT", "TAGS", "FIELDS"], rows))
    return len(rows)


def _write_csv(points: Iterable[Sample], zone: tzinfo, out: TextIO) -> int:
    """A line per field: time, measurement, the series' tags as k=v, field, value."""
    rows = [(p.time.astimezone(zone).isoformat(), p.measurement,
             " ".join(f"{k}={v}" for k, v in sorted(p.tags.items())), name, _value(value))
            for p in points for name, value in sorted(p.fields.items())]
    out.write(render_csv(["time", "measurement", "tags", "field", "value"], rows))
    return len(rows)


def _write_json(points: Iterable[Sample], zone: tzinfo, out: TextIO) -> int:
    records: list[dict[str, Any]] = [
        {"time": p.time.astimezone(zone).isoformat(), "measurement": p.measurement,
         "tags": dict(p.tags), "fields": dict(p.fields)} for p in points]
    json.dump(records, out, ensure_ascii=False, indent=2)
    out.write("\n")
    return len(records)

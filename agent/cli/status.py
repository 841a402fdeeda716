"""`lifeline status CONFIG [--device ID ...] [--json]`: what the agent is doing.

It reads the snapshot the running agent writes to `STATE_DIR/status.json` every few
seconds: per device the last poll, result, duration and error; the sink's spool, dropped
points and write errors; alerts and delivery failures. Exit 0 when the agent is running,
2 when it is not (the last snapshot is still shown), 1 for bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent.cli.common import add_config_argument, load_or_report
from agent.cli.table import render_table
from agent.status import process_alive, read_status


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--device", action="append", metavar="ID", dest="devices",
                        help="show only this device (repeatable)")
    parser.add_argument("--json", action="store_true", help="the snapshot as JSON")


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    snapshot = read_status(config.agent.state_dir)
    if snapshot is None:
        print(f"no agent has run with state_dir {config.agent.state_dir} "
              f"(start one with: lifeline run {args.config})", file=sys.stderr)
        return 2
    devices = snapshot.get("devices", {})
    unknown = [d for d in args.devices or [] if d not in devices]
    if unknown:
        print(f"lifeline status: not polled by the agent: {', '.join(unknown)}", file=sys.stderr)
        return 1
    if args.devices:
        snapshot = {**snapshot, "devices": {d: devices[d] for d in args.devices}}
    agent = snapshot.get("agent", {})
    running = bool(agent.get("running")) and process_alive(int(agent.get("pid", 0)))
    if args.json:
        print(json.dumps({**snapshot, "running": running}, ensure_ascii=False, indent=2))
    else:
        print(_render(snapshot, running, config.agent.zone))
    return 0 if running else 2


def _render(snapshot: dict[str, Any], running: bool, zone: ZoneInfo) -> str:
    parts = [_agent_line(snapshot, running, zone), _sink_line(snapshot.get("sink")),
             *_alert_lines(snapshot.get("alerts"), zone), "", _device_table(snapshot, zone)]
    return "\n".join(p for p in parts if p is not None).rstrip() + "\n"


def _when(text: str | None, zone: ZoneInfo) -> str:
    if not text:
        return "-"
    return datetime.fromisoformat(text).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _agent_line(snapshot: dict[str, Any], running: bool, zone: ZoneInfo) -> str:
    agent = snapshot.get("agent", {})
    lag = snapshot.get("start_lag") or {}
    state = f"running (pid {agent.get('pid')})" if running else "NOT RUNNING"
    line = (f"agent {agent.get('name')}: {state}, since {_when(agent.get('started'), zone)}; "
            f"{agent.get('devices', 0)} devices, {agent.get('in_flight', 0)} polls in flight; "
            f"status written {_when(snapshot.get('written'), zone)}")
    if lag.get("count"):
        line += f"\nstart lag: p50 {lag['p50'] * 1000:.0f} ms, p99 {lag['p99'] * 1000:.0f} ms"
    if agent.get("reload_failures"):
        line += f"\nconfig reloads refused: {agent['reload_failures']} (see the agent's log)"
    return line


def _sink_line(sink: dict[str, Any] | None) -> str | None:
    if not sink:
        return None
    line = (f"sink {sink.get('kind')}: {sink.get('points_written', 0)} points written, "
            f"{sink.get('points_pending', 0)} pending ({sink.get('spool_bytes', 0)} bytes "
            f"spooled), {sink.get('points_dropped', 0)} dropped, "
            f"{sink.get('write_errors', 0)} write errors")
    if sink.get("last_error"):
        line += f"\n  last error {sink.get('last_error_at') or ''}: {sink['last_error']}"
    return line


FIRING_SHOWN = 10


def _alert_lines(alerts: dict[str, Any] | None, zone: ZoneInfo) -> list[str]:
    """Alert counts, the first firing alerts, and each channel's delivery backlog."""
    if not alerts:
        return []
    engine = alerts.get("alerts") or {}
    counts = engine.get("counts") or {}
    lines = ["alerts: " + ", ".join(f"{n} {state}" for state, n in counts.items())]
    firing = engine.get("firing") or []
    for alert in firing[:FIRING_SHOWN]:
        instance = f" {alert['instance']}" if alert.get("instance") else ""
        lines.append(f"  {alert.get('device_id')}{instance}: {alert.get('rule')} "
                     f"({alert.get('severity')}) since {_when(alert.get('since'), zone)}")
    if len(firing) > FIRING_SHOWN:
        lines.append(f"  ... {len(firing) - FIRING_SHOWN} more: lifeline alerts CONFIG list")
    for channel, d in sorted((alerts.get("delivery") or {}).items()):
        line = (f"delivery {channel}: {d.get('delivered', 0)} delivered, "
                f"{d.get('pending', 0)} pending, {d.get('failed', 0)} failed, "
                f"{d.get('expired', 0)} expired")
        if d.get("oldest_pending"):
            line += f"; oldest waiting since {_when(d['oldest_pending'], zone)}"
        if d.get("last_error"):
            line += f"\n  last error {_when(d.get('last_error_at'), zone)}: {d['last_error']}"
        lines.append(line)
    return lines


def _device_table(snapshot: dict[str, Any], zone: ZoneInfo) -> str:
    rows = []
    for device_id, d in sorted(snapshot.get("devices", {}).items()):
        duration = d.get("last_duration")
        rows.append([device_id, d.get("protocol", ""), _when(d.get("last_started"), zone),
                     d.get("last_result") or "not polled yet",
                     f"{duration * 1000:.0f} ms" if duration is not None else "-",
                     str(d.get("consecutive_failures", 0)), str(d.get("overlaps", 0)),
                     _when(d.get("next_run"), zone), d.get("last_error") or ""])
    headers = ["DEVICE", "PROTOCOL", "LAST POLL", "RESULT", "DURATION", "FAILS", "OVERLAPS",
               "NEXT", "LAST ERROR"]
    return render_table(headers, rows)

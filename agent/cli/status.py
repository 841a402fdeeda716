"""`lifeline status CONFIG [--device ID ...] [--format table|json|csv]`: what the agent
is doing.

It reads the `AgentStatus` the running agent writes to `STATE_DIR/status.json` every few
seconds (agent/status.py): per device the last poll, result, duration and error; the
sink's spool, dropped points and write errors; alerts and delivery failures; the writes
to the state_dir that fail now (a full disk), one FAILING line each; and, when the config
names no alert channel, that firing alerts go to the agent's log only. `--format json`
(or `--json`) prints that record as the file holds it, plus `running` and
`alert_channels` (the configured channels' names: [] when none); `--format csv` the device
table, a row per device. Exit 0 when the agent is
running, 2 when it is not (the last status is still shown) or its status file cannot be
read, 1 for bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

from agent.cli.common import (
    CSV,
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_RUNTIME,
    JSON,
    add_config_argument,
    add_format_argument,
    add_lang_argument,
    load_or_report,
    resolve_lang,
)
from agent.cli.table import render_csv, render_table
from agent.cli.words import word, words
from agent.sinks import SinkStats
from agent.status import (
    AgentStatus,
    FallingBehind,
    StatusFileError,
    process_alive,
    read_status,
)
from alerts.model import AlertStatus, ChannelStats

FIRING_SHOWN = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--device", action="append", metavar="ID", dest="devices",
                        help="show only this device (repeatable)")
    add_format_argument(parser, json_alias=JSON)
    add_lang_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, lang=args.lang)
    if config is None:
        return EXIT_BAD_INPUT
    try:
        status = read_status(config.agent.state_dir)
    except StatusFileError as exc:
        print(f"lifeline status: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    if status is None:
        print(f"no agent has run with state_dir {config.agent.state_dir} "
              f"(start one with: lifeline run {args.config})", file=sys.stderr)
        return EXIT_RUNTIME
    unknown = [d for d in args.devices or [] if d not in status.devices]
    if unknown:
        print(f"lifeline status: not polled by the agent: {', '.join(unknown)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.devices:
        status = status.only(args.devices)
    running = status.agent.running and process_alive(status.agent.pid)
    channels = [c.name for c in config.alerts.channels]
    if args.format == JSON:
        print(json.dumps({**status.as_json(), "running": running, "alert_channels": channels},
                         ensure_ascii=False, indent=2))
    elif args.format == CSV:
        sys.stdout.write(render_csv([h.lower().replace(" ", "_") for h in DEVICE_HEADERS],
                                    _device_rows(status, config.agent.zone, csv=True)))
    else:
        print(_render(status, running, config.agent.zone, channels,
                      resolve_lang(args.lang, config)))
    return EXIT_OK if running else EXIT_RUNTIME


NO_CHANNEL = {"en": "alert channels: none configured (alerts.channels): firing alerts go to "
                    "the agent's log only",
              "ko": "경보 채널: 설정 없음 (alerts.channels): 발생한 경보는 에이전트 로그에만 "
                    "기록됨"}


def _render(status: AgentStatus, running: bool, zone: ZoneInfo, channels: list[str],
            lang: str = "en") -> str:
    ko = lang == "ko"
    parts = [_agent_line(status, running, zone, ko),
             *((f"쓰기 실패: {f.kind}: {f.error} ({_when(f.since, zone)}부터 {f.failures}회)"
                if ko else f"FAILING: cannot write the {f.kind}: {f.error} ({f.failures} "
                f"failed writes since {_when(f.since, zone)})") for f in status.failing),
             _behind_line(status.lateness, ko),
             _sink_line(status.sink, zone, ko),
             *_alert_lines(status.alerts, zone, ko), None if channels else NO_CHANNEL[lang], "",
             render_table(words(DEVICE_HEADERS, lang), _device_rows(status, zone))]
    return "\n".join(p for p in parts if p is not None).rstrip() + "\n"


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    """A time in the agent's zone, to the second; "-" for none."""
    if value is None:
        return "-"
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _agent_line(status: AgentStatus, running: bool, zone: ZoneInfo, ko: bool = False) -> str:
    agent, lag = status.agent, status.start_lag
    if ko:
        state = f"실행 중 (pid {agent.pid})" if running else "실행 중 아님"
        line = (f"에이전트 {agent.name}: {state}, {_when(agent.started, zone)}부터; "
                f"장비 {agent.devices}대, 수집 중 {agent.in_flight}건; "
                f"상태 기록 {_when(status.written, zone)}")
    else:
        state = f"running (pid {agent.pid})" if running else "NOT RUNNING"
        line = (f"agent {agent.name}: {state}, since {_when(agent.started, zone)}; "
                f"{agent.devices} devices, {agent.in_flight} polls in flight; "
                f"status written {_when(status.written, zone)}")
    if lag.count and lag.p50 is not None and lag.p99 is not None:
        line += (f"\n{'시작 지연' if ko else 'start lag'}: p50 {lag.p50 * 1000:.0f} ms, "
                 f"p99 {lag.p99 * 1000:.0f} ms")
    if agent.reload_failures:
        line += (f"\n설정 다시 읽기 거부: {agent.reload_failures}회 (에이전트 로그 참조)" if ko
                 else f"\nconfig reloads refused: {agent.reload_failures} (see the agent's log)")
    return line


def _behind_line(late: FallingBehind, ko: bool) -> str | None:
    """Polls starting late lately (agent/lateness.py); None while the agent keeps up."""
    if not late.behind:
        return None
    worst = late.worst or 0.0
    if ko:
        return (f"뒤처짐: 최근 {late.window:.0f}초 동안 수집 {late.polls}건 중 {late.late}건이 "
                f"예정보다 {late.late_after:g}초 넘게 늦게 시작됨 (최대 {worst:.1f}초)")
    return (f"FALLING BEHIND: {late.late} of {late.polls} polls in the last {late.window:.0f} s "
            f"started more than {late.late_after:g} s late (the latest {worst:.1f} s)")


def _sink_line(sink: SinkStats | None, zone: ZoneInfo, ko: bool = False) -> str | None:
    if sink is None:
        return None
    if ko:
        line = (f"저장소 {sink.kind}: {sink.points_written}건 기록, "
                f"{sink.points_pending}건 대기 ({sink.spool_bytes}바이트 임시 저장), "
                f"{sink.points_dropped}건 버림, 쓰기 오류 {sink.write_errors}회")
    else:
        line = (f"sink {sink.kind}: {sink.points_written} points written, "
                f"{sink.points_pending} pending ({sink.spool_bytes} bytes spooled), "
                f"{sink.points_dropped} dropped, {sink.write_errors} write errors")
    if sink.last_error:
        line += (f"\n  {'최근 오류' if ko else 'last error'} {_when(sink.last_error_at, zone)}: "
                 f"{sink.last_error}")
    return line


ALERT_COUNT_KO = {"pending": "대기", "firing": "발생", "suppressed": "억제", "silenced": "무음",
                  "acked": "확인", "flapping": "반복 변동", "closed": "운영시간 외"}


def _alert_lines(alerts: AlertStatus | None, zone: ZoneInfo, ko: bool = False) -> list[str]:
    """Alert counts, the first firing alerts, and each channel's delivery backlog."""
    if alerts is None:
        return []
    counts = asdict(alerts.counts).items()
    lines = [("경보: " + ", ".join(f"{ALERT_COUNT_KO.get(state, state)} {n}"
                                   for state, n in counts)) if ko
             else "alerts: " + ", ".join(f"{n} {state}" for state, n in counts)]
    for alert in alerts.firing[:FIRING_SHOWN]:
        instance = f" {alert.instance}" if alert.instance else ""
        if ko:
            closed = " (운영시간 외: 열릴 때까지 반복 알림 없음)" if alert.closed else ""
            lines.append(f"  {alert.device_id}{instance}: {alert.rule} "
                         f"({word(alert.severity, 'ko')}) {_when(alert.since, zone)}부터{closed}")
        else:
            closed = " (site closed: no repeats until it opens)" if alert.closed else ""
            lines.append(f"  {alert.device_id}{instance}: {alert.rule} ({alert.severity}) "
                         f"since {_when(alert.since, zone)}{closed}")
    if len(alerts.firing) > FIRING_SHOWN:
        more = len(alerts.firing) - FIRING_SHOWN
        lines.append(f"  ... 외 {more}건: lifeline alerts CONFIG list" if ko
                     else f"  ... {more} more: lifeline alerts CONFIG list")
    for channel, d in sorted(alerts.delivery.items()):
        lines.append(_delivery_line(channel, d, zone, ko))
    return lines


def _delivery_line(channel: str, d: ChannelStats, zone: ZoneInfo, ko: bool) -> str:
    if ko:
        line = (f"전달 {channel}: 전달 {d.delivered}, 대기 {d.pending}, 실패 {d.failed}, "
                f"만료 {d.expired}")
        if d.untold or d.retold or d.withheld:
            line += (f"; 놓친 발생 알림: 재전달 대기 {d.untold}, 재전달 {d.retold}, "
                     f"보류한 복구 알림 {d.withheld}")
        if d.oldest_pending is not None:
            line += f"; 가장 오래된 대기 {_when(d.oldest_pending, zone)}부터"
    else:
        line = (f"delivery {channel}: {d.delivered} delivered, {d.pending} pending, "
                f"{d.failed} failed, {d.expired} expired")
        if d.untold or d.retold or d.withheld:
            line += (f"; missed firing alerts: {d.untold} waiting to be told again, "
                     f"{d.retold} told again, {d.withheld} recoveries withheld")
        if d.oldest_pending is not None:
            line += f"; oldest waiting since {_when(d.oldest_pending, zone)}"
    if d.last_error:
        line += (f"\n  {'최근 오류' if ko else 'last error'} {_when(d.last_error_at, zone)}: "
                 f"{d.last_error}")
    return line


DEVICE_HEADERS = ["DEVICE", "PROTOCOL", "LAST POLL", "RESULT", "DURATION", "FAILS",
                  "OVERLAPS", "NEXT", "LAST ERROR"]


def _device_rows(status: AgentStatus, zone: ZoneInfo, *, csv: bool = False) -> list[list[object]]:
    """A row per device; for CSV, times in ISO 8601 and the duration in seconds."""
    rows: list[list[object]] = []
    for device_id, d in sorted(status.devices.items()):
        duration = d.last_duration
        if csv:
            times: tuple[object, object] = (_iso(d.last_started), _iso(d.next_run))
            shown: object = duration
        else:
            times = (_when(d.last_started, zone), _when(d.next_run, zone))
            shown = f"{duration * 1000:.0f} ms" if duration is not None else "-"
        rows.append([device_id, d.protocol, times[0], d.last_result or "not polled yet",
                     shown, d.consecutive_failures, d.overlaps, times[1],
                     d.last_error or ("" if not csv else None)])
    return rows


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()

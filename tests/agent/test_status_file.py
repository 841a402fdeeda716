"""The agent's status record and its file: written and read back whole, shown by
`lifeline status` (table and --json, whose keys users' scripts read), rendered for
/metrics and /healthz; a damaged file, or one an older agent wrote, gives a clear message."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import run_lifeline
from prometheus_client.parser import text_string_to_metric_families

from agent.endpoint import STALE_AFTER_SECONDS, health, render_metrics
from agent.sinks import SinkStats
from agent.status import (
    STATUS_FILE,
    AgentInfo,
    AgentStatus,
    DevicePoll,
    ProcessUsage,
    StartLagSummary,
    StatusFileError,
    alert_status_json,
    read_status,
    write_status,
)
from alerts.model import AlertCounts, AlertStatus, ChannelStats, FiringAlert

from peers.agent import agent_config, snmp_devices_yaml

SEOUL = ZoneInfo("Asia/Seoul")
AT = datetime(2026, 11, 22, 17, 0, 1, 123456, tzinfo=SEOUL)
DEAD_PID = 2**22 + 12345        # above the kernel's pid_max: never a live process

# What `lifeline status --json` has always given, section by section (users read these).
KEYS = {
    "": {"written", "written_unix", "agent", "process", "start_lag", "sink", "alerts",
         "devices", "running"},
    "agent": {"name", "pid", "config", "started", "started_unix", "running", "devices",
              "in_flight", "reloads", "reload_failures"},
    "process": {"cpu_seconds", "rss_bytes"},
    "start_lag": {"count", "p50", "p99", "max"},
    "sink": {"kind", "points_written", "points_pending", "spool_bytes", "points_dropped",
             "points_rejected", "write_errors", "last_error", "last_error_at",
             "last_success_at"},
    "device": {"device_id", "protocol", "interval", "polls", "failures",
               "consecutive_failures", "overlaps", "last_started", "last_result", "last_code",
               "last_duration", "last_error", "last_success", "next_run"},
    "alerts": {"alerts", "delivery"},
    "channel": {"pending", "delivered", "failed", "expired", "retries",
                "resent_after_restart", "untold", "retold", "withheld", "last_error",
                "last_error_at", "last_delivery_at",
                "oldest_pending"},
}


def a_status(*, running: bool = True, pid: int = DEAD_PID) -> AgentStatus:
    return AgentStatus(
        written=AT, written_unix=AT.timestamp(),
        agent=AgentInfo(name="hall-agent", pid=pid, config="/etc/lifeline/lifeline.yaml",
                        started=AT - timedelta(hours=2), running=running, devices=2,
                        in_flight=1, reloads=1, reload_failures=2),
        process=ProcessUsage(cpu_seconds=12.345, rss_bytes=81_000_000),
        start_lag=StartLagSummary(count=40, p50=0.0021, p99=0.0153, max=0.02,
                                  buckets=(20, 30, 38, 40, 40, 40, 40, 40, 40, 40, 40),
                                  total=40, sum=0.14),
        sink=SinkStats(kind="influxdb", points_written=1200, points_pending=30,
                       spool_bytes=4096, write_errors=3, last_error="HTTP 503: busy",
                       last_error_at=AT - timedelta(minutes=1), last_success_at=AT),
        alerts=AlertStatus(
            counts=AlertCounts(firing=1, pending=1),
            firing=(FiringAlert(id="f1", rule="device_down", device_id="bb-sw-1",
                                instance="", severity="critical",
                                since=AT - timedelta(minutes=5)),),
            delivery={"hook": ChannelStats(delivered=4, pending=1, retries=1,
                                           last_error="HTTP 503 from 127.0.0.1:9000",
                                           last_error_at=AT - timedelta(seconds=20),
                                           last_delivery_at=AT - timedelta(minutes=3),
                                           oldest_pending=(AT - timedelta(seconds=30))
                                           .astimezone(UTC))}),
        devices={
            "bb-sw-1": DevicePoll(device_id="bb-sw-1", protocol="snmp", interval=60.0,
                                  polls=120, failures=5, consecutive_failures=5,
                                  last_started=AT, last_result="timeout", last_code=1,
                                  last_duration=2.0, last_error="no answer in 2 s",
                                  last_success=AT - timedelta(minutes=5),
                                  next_run=AT + timedelta(seconds=60)),
            "kiosk-1": DevicePoll(device_id="kiosk-1", protocol="http", interval=30.0)})


def test_the_file_gives_back_the_record_it_was_written_from(tmp_path: Path) -> None:
    status = a_status()
    write_status(tmp_path, status)
    assert read_status(tmp_path) == status
    assert read_status(tmp_path / "never-ran") is None
    assert not list(tmp_path.glob(".*.tmp"))           # written by rename


def test_status_json_keeps_its_keys_as_the_agent_always_wrote_them(tmp_path: Path) -> None:
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1))
    write_status(tmp_path / "var", a_status(running=False))
    result = run_lifeline("status", config, "--json")
    assert result.returncode == 2, result.stderr        # not running
    shown = json.loads(result.stdout)
    assert KEYS[""] <= set(shown) and shown["running"] is False
    for section in ("agent", "process", "start_lag", "sink", "alerts"):
        assert KEYS[section] <= set(shown[section]), section
    assert all(KEYS["device"] <= set(d) for d in shown["devices"].values())
    assert shown["alerts"]["alerts"]["counts"]["firing"] == 1
    assert shown["alerts"]["alerts"]["firing"][0]["device_id"] == "bb-sw-1"
    hook = shown["alerts"]["delivery"]["hook"]
    assert set(hook) == KEYS["channel"] and hook["pending"] == 1
    # Times as ISO 8601 text with their offset, as the delivery figures always were.
    assert hook["last_error_at"] == "2026-11-22T16:59:41.123456+09:00"
    assert hook["oldest_pending"] == "2026-11-22T07:59:31.123456+00:00"
    assert shown["devices"]["kiosk-1"]["last_started"] is None

    only = json.loads(run_lifeline("status", config, "--json", "--device", "kiosk-1").stdout)
    assert list(only["devices"]) == ["kiosk-1"]
    unknown = run_lifeline("status", config, "--device", "nope")
    assert unknown.returncode == 1 and "not polled by the agent: nope" in unknown.stderr


def test_the_table_shows_agent_sink_alerts_and_devices(tmp_path: Path) -> None:
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1))
    write_status(tmp_path / "var", a_status(running=True))   # its process is gone
    result = run_lifeline("status", config)
    assert result.returncode == 2, result.stderr
    out = result.stdout
    assert "agent hall-agent: NOT RUNNING, since 2026-11-22 15:00:01" in out
    assert "start lag: p50 2 ms, p99 15 ms" in out
    assert "config reloads refused: 2" in out
    assert "sink influxdb: 1200 points written, 30 pending (4096 bytes spooled)" in out
    assert "last error 2026-11-22 16:59:01: HTTP 503: busy" in out
    assert "alerts: 1 pending, 1 firing, 0 suppressed" in out
    assert "  bb-sw-1: device_down (critical) since 2026-11-22 16:55:01" in out
    assert "delivery hook: 4 delivered, 1 pending, 0 failed, 0 expired; oldest waiting " \
           "since 2026-11-22 16:59:31" in out
    assert "  last error 2026-11-22 16:59:41: HTTP 503 from 127.0.0.1:9000" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("bb", "ki"))}
    assert "timeout" in rows["bb-sw-1"] and "2000 ms" in rows["bb-sw-1"]
    assert "not polled yet" in rows["kiosk-1"]


@pytest.mark.parametrize(("content", "says"), [
    ("{\"format\": 1, \"written\": ", "is damaged (not JSON"),
    ("[1, 2]", "expected an object"),
    (json.dumps({**a_status().as_json(), "agent": {"name": "x"}}), "agent.pid: missing"),
    (json.dumps({**a_status().as_json(), "devices": {"d": {
        **DevicePoll(device_id="d", protocol="snmp", interval=1).as_json(), "polls": "3"}}}),
     "devices.d.polls: expected an integer, got '3'"),
    (json.dumps({**a_status().as_json(), "written": "yesterday"}),
     "written: expected an ISO 8601 time"),
    (json.dumps({**a_status().as_json(), "alerts": {
        **alert_status_json(AlertStatus()), "alerts": {"counts": {"burning": 3}, "firing": []}}}),
     "alerts.alerts.counts: unknown counts burning"),
    (json.dumps({**a_status().as_json(), "alerts": {
        **alert_status_json(AlertStatus()), "alerts": {"counts": {}, "firing": [{"id": "x"}]}}}),
     "alerts.alerts.firing[0].rule: missing"),
    (json.dumps({**a_status().as_json(), "format": 2}), "format: expected 1, got 2"),
])
def test_a_damaged_status_file_is_named_with_what_is_wrong(tmp_path: Path, content: str,
                                                         says: str) -> None:
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1))
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / STATUS_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(StatusFileError, match=r"status\.json") as caught:
        read_status(tmp_path / "var")
    assert says in str(caught.value)
    for args in ((), ("--json",)):
        result = run_lifeline("status", config, *args)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith("lifeline status: ") and says in result.stderr
        assert "Traceback" not in result.stderr


def test_a_status_file_from_an_older_agent_says_so(tmp_path: Path) -> None:
    # The previous agent's snapshot: no format, and the alerts section of the old service.
    older = a_status().as_json()
    del older["format"]
    older["alerts"] = {"alerts": {"counts": {"firing": 1}, "firing": []}, "delivery": {}}
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1))
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / STATUS_FILE).write_text(json.dumps(older), encoding="utf-8")
    result = run_lifeline("status", config)
    assert result.returncode == 2
    assert "written by an older Lifeline agent" in result.stderr
    assert "Traceback" not in result.stderr


def test_metrics_are_rendered_from_the_record() -> None:
    text = render_metrics(a_status())
    lines = set(text.splitlines())
    assert 'lifeline_device_up{device_id="bb-sw-1",protocol="snmp"} 0.0' in lines
    assert not any(line.startswith('lifeline_device_up{device_id="kiosk-1"') for line in lines)
    assert 'lifeline_device_polls_total{device_id="kiosk-1",protocol="http"} 0.0' in lines
    assert 'lifeline_device_last_poll_duration_seconds{device_id="bb-sw-1",protocol="snmp"} 2.0' \
        in lines
    assert "lifeline_sink_points_pending 30.0" in lines
    assert "lifeline_config_reload_failures_total 2.0" in lines
    plain = {sample.name: sample.value for family in text_string_to_metric_families(text)
             for sample in family.samples if not sample.labels}
    assert plain["lifeline_agent_start_time_seconds"] == (AT - timedelta(hours=2)).timestamp()
    # A histogram counted since the start (the quantiles are the status file's).
    assert "# TYPE lifeline_poll_start_lag_seconds histogram" in lines
    assert 'lifeline_poll_start_lag_seconds_bucket{le="0.025"} 38.0' in lines
    assert 'lifeline_poll_start_lag_seconds_bucket{le="+Inf"} 40.0' in lines
    assert "lifeline_poll_start_lag_seconds_count 40.0" in lines
    no_sink = render_metrics(replace(a_status(), sink=None))
    assert "lifeline_sink_" not in no_sink and "lifeline_devices 2.0" in no_sink
    assert render_metrics(None) == ""


def test_health_is_ok_until_stale_or_stopping() -> None:
    status = a_status()
    now = status.written_unix
    assert health(status, False, now + 1) == (True, {"status": "ok", "problems": [],
                                                     "warnings": [],
                                                     "lateness": status.lateness.as_json(),
                                                     "failing": [], "devices": 2,
                                                     "in_flight": 1})
    stale, body = health(status, False, now + STALE_AFTER_SECONDS + 5)
    assert not stale and "the loop is stuck" in str(body["problems"])
    assert health(status, True, now)[1]["problems"] == ["stopping"]
    assert not health(None, False, now)[0]

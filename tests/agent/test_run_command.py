"""`lifeline run` as an operator runs it: a subprocess polling the real snmpd, stopped and
reloaded by signals, watched through `lifeline status`, its log and its HTTP endpoint."""
from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import run_lifeline

from peers.agent import AgentProcess, agent_config, snmp_devices_yaml
from peers.ports import free_tcp_port

pytestmark = pytest.mark.peer


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_run_polls_stores_reports_and_stops_cleanly(tmp_path: Path, snmpd: Any) -> None:
    port = free_tcp_port()
    devices = snmp_devices_yaml(snmpd.address, 3) + snmp_devices_yaml("127.0.0.1:9", 1,
                                                                      prefix="dead")
    devices += ("  - {id: ctl-1, name: CCTV control server, category: cctv_server, "
                "poll: {protocol: host, interval: 1s, timeout: 800ms, retries: 0}}\n")
    config = agent_config(tmp_path, devices, agent_extra=f"  http_listen: 127.0.0.1:{port}\n")
    agent = AgentProcess(config).start()
    try:
        agent.wait_polls("sw-2", 3)
        agent.wait_polls("dead-0", 3)
        agent.wait_polls("ctl-1", 2)

        status = run_lifeline("status", config)
        assert status.returncode == 0, status.stderr
        assert "running (pid" in status.stdout
        lines = {line.split()[0]: line for line in status.stdout.splitlines() if line}
        assert "success" in lines["sw-0"]
        assert "timeout" in lines["dead-0"] and "no answer" in lines["dead-0"]
        assert "sink embedded" in status.stdout

        code, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert code == 200 and json.loads(body)["status"] == "ok"
        code, metrics = _get(f"http://127.0.0.1:{port}/metrics")
        assert code == 200
        assert 'lifeline_device_up{device_id="sw-0",protocol="snmp"} 1' in metrics
        assert 'lifeline_device_up{device_id="dead-0",protocol="snmp"} 0' in metrics
        assert "lifeline_sink_points_written_total" in metrics
        assert _get(f"http://127.0.0.1:{port}/nothing")[0] == 404
    finally:
        exit_code = agent.stop(signal.SIGTERM)
    assert exit_code == 0, agent.log()
    assert "agent stopped" in agent.log()

    after = run_lifeline("status", config, "--json")
    assert after.returncode == 2          # not running: the last snapshot is still shown
    snapshot = json.loads(after.stdout)
    assert snapshot["running"] is False
    polled = snapshot["devices"]["sw-0"]["polls"]
    # Every poll the agent counted reached the store before it exited.
    metrics = run_lifeline("metrics", config, "--device", "sw-0", "--measurement",
                           "lifeline_poll", "--since", "1h", "--format", "json")
    assert metrics.returncode == 0, metrics.stderr
    assert len(json.loads(metrics.stdout)) == polled
    # The local host collector ran in the same agent, off its loop, with Telegraf's names.
    host = run_lifeline("metrics", config, "--device", "ctl-1", "--since", "1h",
                        "--format", "json")
    measurements = {point["measurement"] for point in json.loads(host.stdout)}
    assert {"cpu", "mem", "disk", "net", "lifeline_poll"} <= measurements, measurements


def test_sighup_reloads_a_valid_config_and_keeps_the_old_one_when_invalid(
        tmp_path: Path, snmpd: Any) -> None:
    config = agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 1))
    original = config.read_text()
    agent = AgentProcess(config).start()
    try:
        agent.wait_polls("sw-0", 1)
        config.write_text(original.replace("category: switch", "category: no_such_thing"))
        agent.send(signal.SIGHUP)
        agent.wait_for("the refusal in the log", lambda: "reload refused" in agent.log())
        assert "unknown category 'no_such_thing'" in agent.log()
        assert f"{config}:" in agent.log()        # the problem names the file and line
        polls = agent.wait_polls("sw-0", 1)["polls"]
        agent.wait_polls("sw-0", polls + 2)        # still polling with the old config

        config.write_text(original + snmp_devices_yaml(snmpd.address, 1, prefix="new"))
        agent.send(signal.SIGHUP)
        agent.wait_polls("new-0", 2)
        assert "1 devices added" in agent.log()
        status = agent.status() or {}
        assert status["agent"]["reloads"] == 1 and status["agent"]["reload_failures"] == 1
    finally:
        assert agent.stop() == 0, agent.log()


def test_json_logs_carry_the_device_id(tmp_path: Path) -> None:
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1, prefix="dead"),
                          agent_extra="  log_format: json\n")
    agent = AgentProcess(config).start()
    try:
        agent.wait_for("a device log line", lambda: '"device_id"' in agent.log())
    finally:
        assert agent.stop(signal.SIGINT) == 0
    entries = [json.loads(line) for line in agent.log().splitlines() if line.strip()]
    down = [e for e in entries if e.get("device_id") == "dead-0"]
    assert down and down[0]["level"] == "WARNING" and "not answering" in down[0]["message"]
    assert all("+09:00" in e["time"] for e in entries)


def test_run_refuses_a_bad_config_with_exit_1(tmp_path: Path) -> None:
    config = agent_config(tmp_path, "  - {id: x, name: x, category: nope}\n")
    result = run_lifeline("run", config)
    assert result.returncode == 1
    assert f"{config}:" in result.stderr and "unknown category" in result.stderr


def test_status_without_an_agent_says_so(tmp_path: Path) -> None:
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1))
    result = run_lifeline("status", config)
    assert result.returncode == 2
    assert "no agent has run" in result.stderr


def test_an_agent_that_cannot_start_says_why_and_exits_2(tmp_path: Path) -> None:
    """The endpoint's port is taken, then the state_dir's alert store was written by a
    newer Lifeline: each is one clear line, exit 2, no traceback, nothing left running."""
    import socket
    import sqlite3

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = agent_config(tmp_path / "port", snmp_devices_yaml("127.0.0.1:9", 1),
                              agent_extra=f"  http_listen: 127.0.0.1:{port}\n")
        taken = run_lifeline("run", config)
    assert taken.returncode == 2, taken.stderr
    assert "cannot start" in taken.stderr and "Traceback" not in taken.stderr

    config = agent_config(tmp_path / "newer", snmp_devices_yaml("127.0.0.1:9", 1))
    (tmp_path / "newer" / "var").mkdir()
    database = sqlite3.connect(tmp_path / "newer" / "var" / "alerts.db")
    database.execute("CREATE TABLE schema_version (store TEXT PRIMARY KEY, version INTEGER)")
    database.execute("INSERT INTO schema_version VALUES ('alerts', 99)")
    database.commit()
    database.close()
    newer = run_lifeline("run", config)
    assert newer.returncode == 2, newer.stderr
    assert "cannot start" in newer.stderr and "newer" in newer.stderr
    assert "Traceback" not in newer.stderr

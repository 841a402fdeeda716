"""`lifeline poll`: the table, the JSON lines, exit codes, against real peers."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli.poll import run_poll
from inventory.load import load_config

from peers.snmp import RECORDINGS, ROOT

pytestmark = pytest.mark.peer    # real snmpd / snmpsim


def _config(tmp_path: Path, snmpd_address: str, sim_port: int) -> Path:
    os.environ["LL_TEST_UPS_COMMUNITY"] = "ups-battery"
    ups_host = RECORDINGS["ups-battery"][0]
    text = f"""
agent: {{name: test, timezone: Asia/Seoul}}
credentials:
  v2: {{version: 2c, community_env: LL_TEST_COMMUNITY}}
  ups: {{version: 2c, community_env: LL_TEST_UPS_COMMUNITY}}
  v3: {{version: 3, user: noc, auth_protocol: SHA, auth_key_env: LL_TEST_AUTH,
        priv_protocol: AES, priv_key_env: LL_TEST_PRIV}}
devices:
  - id: srv-1
    name: server
    category: server
    site: district-hall
    poll: {{protocol: snmp, address: "{snmpd_address}", credentials: v3, profile: host}}
  - id: ups-1
    name: UPS on battery
    category: ups
    site: district-hall
    poll: {{protocol: snmp, address: "{ups_host}:{sim_port}", credentials: ups, profile: ups}}
  - id: dead-1
    name: nobody there
    category: backbone_switch
    site: annex
    poll: {{protocol: snmp, address: "127.0.0.1:9", credentials: v2, profile: switch,
            timeout: 300ms, retries: 0}}
"""
    path = tmp_path / "lifeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_table_output_lists_every_device_and_exits_0(tmp_path: Path, snmpd, snmpsim) -> None:
    config = load_config(_config(tmp_path, snmpd.address, snmpsim))
    out = io.StringIO()
    assert run_poll(config, None, "table", out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["DEVICE", "RESULT", "UP"]
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert rows["srv-1"][1:3] == ["success", "yes"] and "test-snmpd" in rows["srv-1"]
    assert rows["ups-1"][1] == "success" and "ups-2" in rows["ups-1"]
    assert rows["dead-1"][1:3] == ["timeout", "no"]
    assert lines[-1] == "3 polled, 2 answered, 1 down"


def test_json_lines_for_named_devices(tmp_path: Path, snmpd, snmpsim) -> None:
    config = load_config(_config(tmp_path, snmpd.address, snmpsim))
    out = io.StringIO()
    assert run_poll(config, ["ups-1", "dead-1"], "jsonl", out) == 0
    objects = {o["device_id"]: o for o in map(json.loads, out.getvalue().splitlines())}
    assert sorted(objects) == ["dead-1", "ups-1"]      # in the order their polls ended
    ups, dead = objects["ups-1"], objects["dead-1"]
    assert ups["reachable"] is True and ups["result"] == "success" and ups["error"] is None
    assert ups["identity"]["sys_name"] == "ups-2"
    [point] = [s for s in ups["samples"] if s["measurement"] == "ups"]
    assert point["fields"]["output_source"] == 5 and point["fields"]["battery_charge"] == 12
    assert point["time"].endswith("+09:00")                      # shown in the agent's zone
    alarms = {s["tags"]["alarm"] for s in ups["samples"] if s["measurement"] == "ups_alarm"}
    assert "BatteryBad" in alarms
    assert dead["reachable"] is False and dead["result"] == "timeout" and dead["result_code"] == 1
    assert "127.0.0.1:9" in dead["error"]
    assert [s["measurement"] for s in dead["samples"]] == ["lifeline_poll"]


def test_unknown_device_is_exit_1(tmp_path: Path, snmpd, snmpsim) -> None:
    config = load_config(_config(tmp_path, snmpd.address, snmpsim))
    out = io.StringIO()
    assert run_poll(config, ["nope"], "table", out) == 1
    assert out.getvalue() == ""


def test_the_lifeline_command(tmp_path: Path, snmpd, snmpsim) -> None:
    path = _config(tmp_path, snmpd.address, snmpsim)
    done = subprocess.run([sys.executable, "-m", "agent.cli", "poll", str(path), "--device",
                           "srv-1", "--json"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    [obj] = [json.loads(line) for line in done.stdout.splitlines()]
    assert obj["result"] == "success" and obj["identity"]["sys_name"] == "test-snmpd"
    for secret in ("authpass123", "privpass123"):
        assert secret not in done.stdout + done.stderr

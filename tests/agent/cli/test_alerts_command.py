"""`lifeline alerts` and the plan's outage_history, run as a user runs them, on a store
the engine filled (the CLI is another process, as when the agent runs)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from conftest import run_lifeline

from alerts.evaluation.state import fingerprint

from kits.alerts_engine import SEOUL, SNMP, FakeClock, Rig, down, up, write_config

DEVICES = f"""\
- {{id: core, name: Core switch, category: backbone_switch, acquired: 2008-03-01,
   unit_cost_krw: 1000000, poll: {SNMP}}}
- {{id: edge, name: Edge switch, category: backbone_switch, parent: core, poll: {SNMP}}}
- {{id: ups1, name: UPS, category: ups, site: hall, poll: {SNMP}}}
"""


@pytest.fixture
def rig(tmp_path) -> Rig:
    config = write_config(tmp_path, DEVICES)
    rig = Rig(config, FakeClock(datetime.now(SEOUL) - timedelta(hours=3)))
    # core: two outages of 4 minutes (now over), and one going on; ups1 down too.
    for _ in range(2):
        rig.poll(down, ["core"], rounds=4)
        rig.poll(up, ["core"], every=1800)
    rig.poll(down, ["core", "edge", "ups1"], rounds=4)
    return rig


def test_list_shows_firing_with_flags(rig):
    out = run_lifeline("alerts", rig.config.path, "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:5] == ["ID", "STATE", "SEVERITY", "DEVICE", "RULE"]
    edge = next(line for line in lines if " edge " in line)
    assert "suppressed" in edge
    assert fingerprint("device_down", "core") in out.stdout
    as_json = json.loads(run_lifeline("alerts", rig.config.path, "list", "--json").stdout)
    assert as_json["counts"]["firing"] == 3 and as_json["counts"]["suppressed"] == 1


def test_ack_by_prefix_then_no_repeat(rig):
    fp = fingerprint("device_down", "ups1")
    out = run_lifeline("alerts", rig.config.path, "ack", fp[:6], "--reason", "on it",
                       "--author", "kim")
    assert out.returncode == 0, out.stderr
    assert "acknowledged" in out.stdout
    assert rig.store.acks()[fp].author == "kim"
    listed = run_lifeline("alerts", rig.config.path, "list").stdout
    assert "acked by kim: on it" in listed
    before = len(rig.sent())
    rig.poll(down, ["core", "edge", "ups1"], every=3600, rounds=5)
    repeats = [n.alert.device_id for n in rig.sent()[before:] if n.event == "repeat"]
    assert "ups1" not in repeats and "core" in repeats


def test_silence_list_unsilence(rig):
    out = run_lifeline("alerts", rig.config.path, "silence", "site=hall", "rule=~device_.*",
                       "--for", "2h", "--reason", "UPS work", "--author", "lee")
    assert out.returncode == 0, out.stderr
    silence_id = out.stdout.split()[1].rstrip(":")
    listed = run_lifeline("alerts", rig.config.path, "list").stdout
    assert silence_id in listed and "UPS work" in listed
    assert "silenced" in next(line for line in listed.splitlines() if " ups1 " in line)
    assert run_lifeline("alerts", rig.config.path, "unsilence", silence_id).returncode == 0
    assert run_lifeline("alerts", rig.config.path, "unsilence", silence_id).returncode == 1


def test_history_with_availability(rig):
    out = run_lifeline("alerts", rig.config.path, "history", "--device", "core")
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line[:2] == "20"]
    assert len(rows) == 3 and rows[-1].split()[2] == "ongoing"
    assert "availability over 30 days 99." in out.stdout
    summary = run_lifeline("alerts", rig.config.path, "history").stdout
    assert summary.splitlines()[2].split()[:2] == ["core", "3"]


def test_plan_counts_outages_from_the_store(rig):
    out = run_lifeline("plan", rig.config.path, "--year", "2026", "--format", "json",
                       "--lang", "en")
    assert out.returncode == 0, out.stderr
    row = next(r for r in json.loads(out.stdout)["rows"] if r["id"] == "core")
    assert row["outages"] == 3 and "outage_history" in row["reasons"]


@pytest.mark.parametrize("args", [
    ("ack", "zzzzzz"), ("ack", "ab"), ("silence", "site", "--for", "2h", "--reason", "x"),
    ("silence", "site=~(", "--for", "2h", "--reason", "x"),
    ("silence", "site=hall", "--for", "soon", "--reason", "x"),
    ("silence", "site=hall", "--for", "2h"), ("history", "--device", "nope"),
    ("unsilence", "nope"),
])
def test_bad_input_exits_1(rig, args):
    out = run_lifeline("alerts", rig.config.path, *args)
    assert out.returncode == 1
    assert out.stderr.strip()

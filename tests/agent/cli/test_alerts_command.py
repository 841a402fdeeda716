"""`lifeline alerts` and the plan's outage_history, run as a user runs them, on a store
the engine filled (the CLI is another process, as when the agent runs); the commands
that only read change nothing, and a store they cannot use is one line and exit 2."""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

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


# --- a store the commands cannot use, or none at all ------------------------------------

PLAN = ("--year", "2026", "--format", "json", "--lang", "en")
READERS = [("alerts", "list"), ("alerts", "history"), ("plan", *PLAN)]


def lifeline(command: str, config, *args: str):
    return run_lifeline(command, config.path, *args)


def assert_cannot_use(out, command: str, says: str) -> None:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"lifeline {command}: cannot use ")
    assert "alerts.db: " in lines[0] and says in lines[0]


def newer_store(config) -> Path:
    from alerts.evaluation.store import Store
    Store.in_dir(config.agent.state_dir).close()
    db = Path(config.agent.state_dir) / "alerts.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE schema_version SET version = 99 WHERE store = 'alerts'")
        conn.commit()
    return db


@pytest.mark.parametrize("command", [("alerts", "list"), ("alerts", "history"),
                                     ("alerts", "ack", "abcdef"),
                                     ("alerts", "unsilence", "abcdef"), ("plan", *PLAN)],
                         ids=lambda c: c[1] if c[0] == "alerts" else c[0])
def test_a_store_from_a_newer_lifeline_is_one_line_and_exit_2(tmp_path, command):
    config = write_config(tmp_path, DEVICES)
    db = newer_store(config)
    out = lifeline(command[0], config, *command[1:])
    assert_cannot_use(out, command[0], "the alerts tables are at schema version 99")
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT version FROM schema_version WHERE store = 'alerts'"
                            ).fetchone() == (99,)


@pytest.mark.parametrize("fresh", ["no state_dir", "an empty state_dir"])
def test_reading_a_fresh_state_dir_leaves_no_store_behind(tmp_path, fresh):
    config = write_config(tmp_path, DEVICES)
    state_dir = Path(config.agent.state_dir)
    if fresh == "an empty state_dir":
        state_dir.mkdir()
    listed = lifeline("alerts", config, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == "no alerts firing or pending\n"
    as_json = json.loads(lifeline("alerts", config, "list", "--json").stdout)
    assert as_json["counts"]["firing"] == 0 and as_json["firing"] == as_json["pending"] == []
    history = lifeline("alerts", config, "history")
    assert history.returncode == 0 and "no outages in the last 30 days" in history.stdout
    plan = lifeline("plan", config, *PLAN)
    assert plan.returncode == 0, plan.stderr
    row = next(r for r in json.loads(plan.stdout)["rows"] if r["id"] == "core")
    assert "outage_history" not in row["reasons"]
    assert not (state_dir / "alerts.db").exists()
    assert state_dir.exists() is (fresh == "an empty state_dir")


def test_reading_changes_nothing_in_the_store(rig):
    db = Path(rig.config.agent.state_dir) / "alerts.db"
    rig.store.close()
    before = db.read_bytes()
    for command, *args in READERS:
        out = lifeline(command, rig.config, *args)
        assert out.returncode == 0, out.stderr
    assert db.read_bytes() == before


@pytest.mark.parametrize("command", [*READERS, ("alerts", "ack", "abcdef"),
                                     ("alerts", "silence", "site=hall", "--for", "1h",
                                      "--reason", "x")],
                         ids=lambda c: c[1] if c[0] == "alerts" else c[0])
def test_a_state_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path, command):
    config = write_config(tmp_path, DEVICES, state_dir=tmp_path / "state")
    (tmp_path / "state").write_text("not a folder\n", encoding="utf-8")
    out = lifeline(command[0], config, *command[1:])
    assert_cannot_use(out, command[0], f"the state_dir {tmp_path / 'state'} is not a directory")
    assert (tmp_path / "state").read_text(encoding="utf-8") == "not a folder\n"


def test_a_store_that_is_not_a_database_is_one_line_and_exit_2(tmp_path):
    config = write_config(tmp_path, DEVICES)
    Path(config.agent.state_dir).mkdir()
    (Path(config.agent.state_dir) / "alerts.db").write_bytes(b"x" * 4096)
    for command, *args in [*READERS, ("alerts", "ack", "abcdef")]:
        assert_cannot_use(lifeline(command, config, *args), command, "not a database")

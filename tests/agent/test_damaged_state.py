"""A damaged or read-only state_dir, met by the real commands (issue 12, item 4).

A store that is garbage or empty is named in one line and exit 2 by every command that
uses it, and `lifeline run` does not start: never a traceback, never an empty file taken
as a new store. The reading commands work on a read-only state_dir (a read-only mount:
root ignores permission bits). `lifeline repair-state` moves a damaged store aside, and
says so, only when asked.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import run_lifeline

from agent.sinks.store import EmbeddedStore
from agent.status import write_status
from alerts.evaluation.store import Store
from collectors.base import Sample
from config.sqlite import DamagedDatabase, open_database
from inventory.load import load_config

from kits.mounts import read_only_view
from peers.agent import agent_config

GARBAGE = bytes(range(256)) * 32            # 8 KiB that no SQLite header starts
DEVICE = ("  - {id: sw-1, name: Switch 1, category: backbone_switch, site: hall, "
          "acquired: 2010-01-01, unit_cost_krw: 1000000, poll: {protocol: snmp, "
          "address: \"127.0.0.1:9\", credentials: v2, interval: 60s, timeout: 1s, "
          "retries: 0}}\n")
PLAN = ("plan", "--year", "2026", "--format", "json", "--lang", "en")
# The commands that use each store (the config goes after the command's name).
USERS = {
    "alerts.db": [("alerts", "list"), ("alerts", "history"), ("alerts", "ack", "abcdef"),
                  PLAN, ("run",)],
    "metrics.sqlite3": [("metrics", "--device", "sw-1"), ("run",)],
}


def lifeline(config: Path, command: tuple[str, ...]):
    return run_lifeline(command[0], config, *command[1:])


def assert_one_line_naming(out, command: str, path: Path) -> None:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    if command == "run":            # the agent logs it: "… ERROR lifeline.agent cannot start: …"
        assert len(lines) == 1 and "cannot start: " in lines[0], out.stderr
    else:
        assert lines == [lines[0]] and lines[0].startswith(f"lifeline {command}: "), out.stderr
    assert f"{path}: damaged (" in lines[0], lines[0]


@pytest.mark.parametrize("name", sorted(USERS))
@pytest.mark.parametrize("content", [GARBAGE, b""], ids=["garbage", "empty"])
def test_a_damaged_store_is_named_by_every_command_that_uses_it(
        tmp_path: Path, name: str, content: bytes) -> None:
    config = agent_config(tmp_path, DEVICE)
    state_dir = tmp_path / "var"
    state_dir.mkdir()
    damaged = state_dir / name
    damaged.write_bytes(content)
    for command in USERS[name]:
        assert_one_line_naming(lifeline(config, command), command[0], damaged)
        # Named, never replaced: an empty alerts.db taken as a new store would have every
        # firing alert notified again.
        assert damaged.read_bytes() == content, command


def test_an_empty_file_is_never_opened_as_a_new_database(tmp_path: Path) -> None:
    from alerts.evaluation.store import SCHEMA

    empty = tmp_path / "alerts.db"
    empty.touch()
    with pytest.raises(DamagedDatabase) as raised:
        open_database(empty, SCHEMA)
    assert raised.value.path == empty and empty.stat().st_size == 0
    made = tmp_path / "new" / "alerts.db"
    open_database(made, SCHEMA).close()         # a new one appears whole, with its tables
    assert not [p for p in made.parent.iterdir() if p.name.startswith(".")]  # nothing left
    reader = Store.read_only(made)
    assert reader is not None
    reader.close()


def fill_stores(state_dir: Path, now: datetime) -> None:
    """What an agent leaves: a point, an outage and a silence; closed, so SQLite has
    checkpointed and removed the -wal and -shm files (the case a read-only reader cannot
    open with mode=ro alone)."""
    with EmbeddedStore(state_dir / "metrics.sqlite3", prune_every=None) as metrics:
        metrics.write([Sample("lifeline_poll", {"device_id": "sw-1"},
                              {"up": 0, "result_code": 2}, now - timedelta(minutes=1))])
    store = Store.in_dir(state_dir)
    store.open_outage("sw-1", "f" * 16, (now - timedelta(hours=1)).timestamp())
    store.add_silence(["site=hall"], now.timestamp(), (now + timedelta(hours=2)).timestamp(),
                      "UPS work", "kim")
    store.close()


def test_reading_commands_work_on_a_read_only_state_dir(tmp_path: Path) -> None:
    writable = tmp_path / "writable"
    fill_stores(writable, datetime.now(UTC))
    assert not list(writable.glob("*-shm")) and not list(writable.glob("*-wal"))
    before = sorted(p.name for p in writable.iterdir())
    with read_only_view(writable, tmp_path / "ro") as view:
        config = agent_config(tmp_path / "conf", DEVICE)
        config.write_text(config.read_text().replace(str(tmp_path / "conf" / "var"),
                                                     str(view)))
        assert load_config(config).agent.state_dir == view
        listed = run_lifeline("alerts", config, "list")
        assert listed.returncode == 0, listed.stderr
        assert "UPS work" in listed.stdout
        history = run_lifeline("alerts", config, "history")
        assert history.returncode == 0, history.stderr
        assert "sw-1" in history.stdout
        metrics = run_lifeline("metrics", config, "--device", "sw-1", "--format", "json")
        assert metrics.returncode == 0, metrics.stderr
        assert '"result_code": 2' in metrics.stdout
        plan = lifeline(config, PLAN)
        assert plan.returncode == 0, plan.stderr
        assert '"outages": 1' in plan.stdout
        # A command that writes cannot: one line, exit 2, as for any store it cannot use.
        ack = run_lifeline("alerts", config, "ack", "ffffffff")
        assert ack.returncode in (1, 2) and "Traceback" not in ack.stderr
    assert sorted(p.name for p in writable.iterdir()) == before


def test_repair_state_moves_a_damaged_store_aside_and_says_so(tmp_path: Path) -> None:
    config = agent_config(tmp_path, DEVICE)
    state_dir = tmp_path / "var"
    fill_stores(state_dir, datetime.now(UTC))
    sound = (state_dir / "metrics.sqlite3").read_bytes()
    (state_dir / "alerts.db").write_bytes(GARBAGE)
    (state_dir / "alerts.db-wal").write_bytes(b"left over")   # it goes with its database

    out = run_lifeline("repair-state", config)
    assert out.returncode == 0, out.stderr
    moved = [p for p in state_dir.iterdir() if p.name.startswith("alerts.db.damaged-")]
    aside = min(moved, key=lambda p: len(p.name))
    assert sorted(p.name for p in moved) == [aside.name, f"{aside.name}-wal"]
    assert not (state_dir / "alerts.db").exists() and not (state_dir / "alerts.db-wal").exists()
    assert aside.read_bytes() == GARBAGE
    assert f"{state_dir / 'alerts.db'}: damaged (" in out.stdout and str(aside) in out.stdout
    assert "notified again" in out.stdout
    assert f"{state_dir / 'metrics.sqlite3'}: sound" in out.stdout
    assert (state_dir / "metrics.sqlite3").read_bytes() == sound
    # The store starts afresh: the reading commands see none, the agent may start.
    assert run_lifeline("alerts", config, "list").returncode == 0


def test_repair_state_leaves_a_running_agents_files_alone(tmp_path: Path) -> None:
    from test_status_file import a_status

    config = agent_config(tmp_path, DEVICE)
    state_dir = tmp_path / "var"
    state_dir.mkdir()
    (state_dir / "alerts.db").write_bytes(GARBAGE)
    write_status(state_dir, a_status(running=True, pid=os.getpid()))   # alive: this test
    out = run_lifeline("repair-state", config)
    assert out.returncode == 2 and f"pid {os.getpid()}" in out.stderr
    assert (state_dir / "alerts.db").read_bytes() == GARBAGE

"""The state directory is private: made 0700 by whoever creates it, files in it 0600 (the
agent's stores, spool and status file; a store a command creates), whatever the umask
the process started with. A directory that is already there keeps its mode."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, run_lifeline

from peers.agent import AgentProcess, agent_config, snmp_devices_yaml

pytestmark = pytest.mark.peer

# A dead address: polls fail at once, so points and a down alert come without a peer.
DEAD = snmp_devices_yaml("127.0.0.1:9", 1, prefix="dead")
# InfluxDB on a port nothing listens on: every point waits in the spool.
INFLUX = ("storage:\n  influxdb:\n    url: http://127.0.0.1:9\n    org: district\n"
          "    bucket: infra\n    flush_interval: 500ms\n")


@pytest.fixture(autouse=True)
def _open_umask() -> Iterator[None]:
    """The usual umask (0022) in this process and so in the agent started from it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _modes(state_dir: Path) -> dict[str, str]:
    """Mode of the directory and of everything under it, by relative path."""
    found = {".": oct(stat.S_IMODE(state_dir.stat().st_mode))}
    for path in sorted(state_dir.rglob("*")):
        found[str(path.relative_to(state_dir))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


@pytest.mark.parametrize("storage", ["embedded", "influxdb"])
def test_the_agent_makes_its_state_private(tmp_path: Path, storage: str) -> None:
    config = agent_config(tmp_path, DEAD, top_extra=INFLUX if storage == "influxdb" else "")
    agent = AgentProcess(config).start()
    expected = (["spool"] if storage == "influxdb" else ["metrics.sqlite3"]) + [
        "alerts.db", "status.json"]
    try:
        agent.wait_polls("dead-0", 2)
        agent.wait_for("the stores", lambda: all((agent.state_dir / name).exists()
                                                  for name in expected))
    finally:
        assert agent.stop() == 0, agent.log()
    modes = _modes(agent.state_dir)
    assert set(expected) <= set(modes), modes
    wrong = {name: mode for name, mode in modes.items()
             if mode != ("0o700" if (agent.state_dir / name).is_dir() else "0o600")}
    assert wrong == {}


def test_a_store_a_command_creates_is_private_too(tmp_path: Path) -> None:
    config = agent_config(tmp_path, DEAD)
    done = run_lifeline("alerts", config, "silence", "device_id=dead-0", "--for", "1h",
                        "--reason", "maintenance")
    assert done.returncode == 0, done.stderr
    modes = _modes(tmp_path / "var")
    assert modes["."] == "0o700" and modes["alerts.db"] == "0o600", modes
    assert all(mode == "0o600" for name, mode in modes.items() if name != "."), modes


def test_an_existing_state_dir_keeps_its_mode(tmp_path: Path) -> None:
    config = agent_config(tmp_path, DEAD)
    (tmp_path / "var").mkdir(mode=0o750)
    os.chmod(tmp_path / "var", 0o750)           # shared with a group on purpose
    done = run_lifeline("alerts", config, "silence", "device_id=dead-0", "--for", "1h",
                        "--reason", "maintenance")
    assert done.returncode == 0, done.stderr
    modes = _modes(tmp_path / "var")
    assert modes["."] == "0o750" and modes["alerts.db"] == "0o600", modes


def test_the_systemd_unit_keeps_the_state_private() -> None:
    unit = (ROOT / "config" / "systemd" / "lifeline.service").read_text(encoding="utf-8")
    settings = {line.split("=", 1)[0]: line.split("=", 1)[1]
                for line in unit.splitlines() if "=" in line and not line.startswith("#")}
    assert settings["UMask"] == "0077"
    assert settings["StateDirectoryMode"] == "0700"

"""An agent that falls behind says so: a real `lifeline run` on the real snmpd, stopped
(SIGSTOP) for longer than a poll may be late, as a machine whose cores are taken stops it,
then let go. Its status, `lifeline status` (English and Korean) and /healthz say it is
falling behind; before, they said nothing of the kind. Falling behind is a warning, not
unhealthy: a restart would not give the agent the CPU it lacks."""
from __future__ import annotations

import json
import signal
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import run_lifeline

from peers.agent import AgentProcess, agent_config, snmp_devices_yaml
from peers.ports import free_tcp_port

pytestmark = pytest.mark.peer

DEVICES = 20
# Longer than a poll may be late (agent/lateness.py LATE_AFTER_SECONDS, 2 s): of the runs
# due while stopped, each device's last (the one run when let go) is up to 5 s late.
STOPPED_SECONDS = 6.0


def _healthz(port: int) -> tuple[int, dict[str, Any]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
        return answer.status, json.loads(answer.read())


def _lateness(agent: AgentProcess) -> dict[str, Any] | None:
    status = agent.status() or {}
    if agent.proc is None or status.get("agent", {}).get("pid") != agent.proc.pid:
        return None             # a snapshot left by an earlier run
    lateness: dict[str, Any] | None = status.get("lateness")
    return lateness


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, snmpd: Any) -> Iterator[dict[str, Any]]:
    """The agent keeping up, then stopped and let go: what each side said, in order."""
    port = free_tcp_port()
    config = agent_config(tmp_path_factory.mktemp("behind"),
                          snmp_devices_yaml(snmpd.address, DEVICES, interval="5s",
                                            timeout="2s"),
                          agent_extra=f"  http_listen: 127.0.0.1:{port}\n")
    agent = AgentProcess(config).start()
    seen: dict[str, Any] = {"config": config}
    try:
        agent.wait_for("the agent polling",
                       lambda: (lateness := _lateness(agent)) and lateness["polls"] >= 5)
        seen["calm"] = _lateness(agent)
        seen["calm_health"] = _healthz(port)
        agent.send(signal.SIGSTOP)
        time.sleep(STOPPED_SECONDS)
        agent.send(signal.SIGCONT)
        seen["behind"] = agent.wait_for(
            "the status to say it fell behind",
            lambda: (lateness := _lateness(agent)) and lateness["behind"] and lateness)
        seen["behind_health"] = _healthz(port)
        with ThreadPoolExecutor(2) as both:     # two commands at once: the test's time
            english = both.submit(run_lifeline, "status", config)
            korean = both.submit(run_lifeline, "status", config, "--lang", "ko")
            seen["behind_cli"], seen["behind_cli_ko"] = english.result(), korean.result()
    finally:
        agent.send(signal.SIGCONT)
        seen["exit"] = agent.stop(signal.SIGTERM)
    yield seen


def test_an_agent_that_falls_behind_says_so_and_not_before(story: dict[str, Any]) -> None:
    """One agent for every check (its start is most of the test's time): keeping up,
    then behind in the status, /healthz and `lifeline status` in English and Korean."""
    calm = story["calm"]
    assert calm["behind"] is False and calm["late"] * 100 <= calm["polls"]
    code, body = story["calm_health"]
    assert code == 200 and body["status"] == "ok" and body["warnings"] == []

    behind = story["behind"]
    assert behind["late"] >= 1 and behind["worst_seconds"] > behind["late_after_seconds"]
    assert behind["worst_seconds"] <= STOPPED_SECONDS + 5     # late by the stop, not more

    code, body = story["behind_health"]
    assert code == 200 and body["status"] == "behind" and body["problems"] == []
    assert body["lateness"]["behind"] is True
    assert len(body["warnings"]) == 1 and body["warnings"][0].startswith("falling behind: ")

    english, korean = story["behind_cli"], story["behind_cli_ko"]
    assert english.returncode == 0 and korean.returncode == 0
    line = next(x for x in english.stdout.splitlines() if x.startswith("FALLING BEHIND: "))
    assert "polls in the last 60 s started more than 2 s late" in line
    assert any(x.startswith("뒤처짐: 최근 60초 동안") for x in korean.stdout.splitlines())
    assert "FALLING BEHIND" not in korean.stdout
    assert story["exit"] == 0

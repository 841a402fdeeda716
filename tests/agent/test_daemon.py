"""The agent loop in-process, polling the real snmpd: schedule, isolation, stalls, status.

The sink here is a recording test double (the real sinks have their own tests against
SQLite and VictoriaMetrics): these tests are about what the loop hands it.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import run_lifeline

from agent import collector_set as poll_module
from agent.daemon import Agent
from agent.sinks import store_path
from agent.sinks.store import EmbeddedStore
from agent.status import read_status
from collectors.base import PollResult, ResultCode, Sample
from inventory.load import load_config
from inventory.model import Device

from peers.agent import agent_config, snmp_devices_yaml

pytestmark = pytest.mark.peer


@dataclass
class RecordingSink:
    """Test double of agent.sinks.Sink: keeps what it is given, in order."""

    points: list[Sample] = field(default_factory=list)
    closed: bool = False

    def write(self, samples: Any) -> None:
        assert not self.closed, "written after close"
        self.points.extend(samples)

    def stats(self) -> Any:
        sink = self

        class Stats:
            def for_status(self) -> dict[str, Any]:
                return {"kind": "recording", "points_written": len(sink.points)}
        return Stats()

    def close(self, timeout: float = 10.0) -> None:
        self.closed = True

    def polls_of(self, device_id: str) -> list[Sample]:
        return [p for p in self.points
                if p.measurement == "lifeline_poll" and p.tags.get("device_id") == device_id]


def run_for(agent: Agent, seconds: float, during: Any = None) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(seconds, agent.request_stop)
        if during is not None:
            during(loop)
        await agent.run()
    asyncio.run(main())


def test_polls_every_device_on_schedule_and_a_dead_one_stops_nothing(
        tmp_path: Path, snmpd: Any) -> None:
    devices = snmp_devices_yaml(snmpd.address, 4) + snmp_devices_yaml(
        "127.0.0.1:9", 1, prefix="dead")
    config = load_config(agent_config(tmp_path, devices))
    sink = RecordingSink()
    agent = Agent(config, sink=sink, with_alerts=False)
    run_for(agent, 4.5)

    for i in range(4):
        polls = sink.polls_of(f"sw-{i}")
        assert 3 <= len(polls) <= 5, f"sw-{i}: {len(polls)} polls in 4.5 s at 1 s"
        assert all(p.fields["up"] == 1 for p in polls)
        assert any(p.measurement == "interface" and p.tags.get("device_id") == f"sw-{i}"
                   for p in sink.points)
    dead = sink.polls_of("dead-0")
    assert len(dead) >= 3 and all(p.fields["up"] == 0 for p in dead)
    assert sink.closed

    status = read_status(config.agent.state_dir)
    assert status is not None and status["agent"]["running"] is False
    assert status["devices"]["dead-0"]["last_result"] == "timeout"
    assert status["devices"]["dead-0"]["consecutive_failures"] >= 3
    assert status["devices"]["sw-0"]["last_result"] == "success"
    assert status["sink"]["points_written"] == len(sink.points)
    assert status["start_lag"]["count"] >= 12


def test_a_stalled_loop_coalesces_missed_runs_instead_of_piling_them_up(
        tmp_path: Path, snmpd: Any) -> None:
    config = load_config(agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 1)))
    sink = RecordingSink()
    agent = Agent(config, sink=sink, with_alerts=False)
    stall: dict[str, float] = {}

    def block(loop: asyncio.AbstractEventLoop) -> None:
        def freeze() -> None:
            # Stall the whole loop (as under a CPU or swap storm) across four scheduled
            # runs, ending just after one, so the next is almost a second away: anything
            # in between is a piled-up missed run.
            job = agent._scheduler.get_job("poll:sw-0") if agent._scheduler else None
            assert job is not None
            stall["start"] = time.time()
            time.sleep(job.next_run_time.timestamp() + 3.05 - stall["start"])
            stall["end"] = time.time()
        loop.call_later(1.5, freeze)

    run_for(agent, 7.0, block)
    times = [p.time.timestamp() for p in sink.polls_of("sw-0")]
    after = [t for t in times if stall["end"] <= t < stall["end"] + 0.6]
    # Four runs were missed during the stall; coalesced, at most one runs right after.
    assert len(after) <= 1, f"{len(after)} polls right after the stall: {times}"
    assert not [t for t in times if stall["start"] + 0.01 < t < stall["end"]]
    assert len(times) >= 3


class _HangingThenRaisingCollector:
    """Test double of a buggy collector: one device hangs for ever, one raises; others
    are polled for real through the SNMP collector."""

    def __init__(self, config: Any) -> None:
        self.real = poll_module.SnmpCollector.from_config(config)

    async def collect(self, device: Device) -> PollResult:
        if device.id == "sw-0":
            await asyncio.sleep(3600)
        if device.id == "sw-1":
            raise RuntimeError("bug")
        return await self.real.collect(device)

    async def aclose(self) -> None:
        await self.real.aclose()


def test_a_hanging_or_raising_collector_fails_its_device_only(
        tmp_path: Path, snmpd: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(poll_module.COLLECTORS, "snmp", _HangingThenRaisingCollector)
    monkeypatch.setattr("agent.daemon.OVERRUN_GRACE_SECONDS", 0.5)
    config = load_config(agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 3)))
    sink = RecordingSink()
    agent = Agent(config, sink=sink, with_alerts=False)
    run_for(agent, 4.0)

    hung = sink.polls_of("sw-0")
    assert hung and all(p.fields["result_code"] == ResultCode.TIMEOUT for p in hung)
    raised = sink.polls_of("sw-1")
    assert raised and all(p.fields["result_code"] == ResultCode.BAD_RESPONSE for p in raised)
    assert len(sink.polls_of("sw-2")) >= 3
    status = read_status(config.agent.state_dir)
    assert status is not None
    assert "overran the poll deadline" in status["devices"]["sw-0"]["last_error"]
    # 0.3 s deadline + 0.5 s grace at a 1 s interval: the next run found the last one done
    # or skipped it, never ran two at once.
    assert status["devices"]["sw-0"]["polls"] + status["devices"]["sw-0"]["overlaps"] >= 3
    assert datetime.fromisoformat(status["written"]).tzinfo is not None


def test_a_stop_lets_the_poll_in_flight_finish_and_store_its_points(
        tmp_path: Path, snmpd: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    agents: list[Agent] = []

    class StopDuringPoll:
        """Test double: asks the agent to stop while its poll is in flight (as SIGTERM
        would), then finishes the poll for real a moment later."""

        def __init__(self, config: Any) -> None:
            self.real = poll_module.SnmpCollector.from_config(config)

        async def collect(self, device: Device) -> PollResult:
            agents[0].request_stop()
            await asyncio.sleep(0.5)
            return await self.real.collect(device)

        async def aclose(self) -> None:
            await self.real.aclose()

    monkeypatch.setitem(poll_module.COLLECTORS, "snmp", StopDuringPoll)
    config = load_config(agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 1)))
    sink = RecordingSink()
    agents.append(Agent(config, sink=sink, with_alerts=False))
    run_for(agents[0], 30.0)          # ends at the first poll's stop request, not at 30 s

    polls = sink.polls_of("sw-0")
    assert len(polls) == 1 and polls[0].fields["up"] == 1
    assert any(p.measurement == "interface" for p in sink.points)
    assert sink.closed


def _stored_polls(config_path: Path, device_id: str) -> int:
    result = run_lifeline("metrics", config_path, "--device", device_id, "--measurement",
                          "lifeline_poll", "--since", "1h", "--format", "json")
    assert result.returncode == 0, result.stderr
    return len(json.loads(result.stdout))


def _reload_at(agent: Agent, seconds: float, before: Any) -> Any:
    def during(loop: asyncio.AbstractEventLoop) -> None:
        def fire() -> None:
            before()
            asyncio.ensure_future(agent._on_sighup())
        loop.call_later(seconds, fire)
    return during


class _SlowClosingStore(EmbeddedStore):
    """The real embedded store, slow to close as an InfluxDB sink flushing is: polls
    finish and hand in points while the swap is under way."""

    def close(self, timeout: float = 10.0) -> None:
        time.sleep(1.0)
        super().close(timeout)


def test_a_reload_that_reopens_the_store_loses_no_point(
        tmp_path: Path, snmpd: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.daemon._open_sink", lambda config: _SlowClosingStore(
        store_path(config), config.agent.retention_days, zone=ZoneInfo("Asia/Seoul")))
    path = agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 4))
    agent = Agent(load_config(path), with_alerts=False)
    text = path.read_text()
    changed = text.replace("  name: test-agent\n", "  name: test-agent\n  retention_days: 7\n")
    run_for(agent, 5.0, _reload_at(agent, 2.0, lambda: path.write_text(changed)))

    assert agent.reloads == 1 and agent.reload_failures == 0
    assert agent.config.agent.retention_days == 7
    for i in range(4):
        polls = agent.states[f"sw-{i}"].polls
        assert polls >= 4
        assert _stored_polls(path, f"sw-{i}") == polls      # none lost in the swap


def test_a_reload_whose_store_cannot_open_keeps_the_old_config_and_store(
        tmp_path: Path, snmpd: Any) -> None:
    path = agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 1))
    agent = Agent(load_config(path), with_alerts=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    broken = path.read_text().replace(f"state_dir: {tmp_path / 'var'}",
                                      f"state_dir: {blocker / 'var'}")
    run_for(agent, 4.0, _reload_at(agent, 1.5, lambda: path.write_text(broken)))

    assert agent.reloads == 0 and agent.reload_failures == 1
    assert agent.config.agent.state_dir == tmp_path / "var"
    path.write_text(broken.replace(f"state_dir: {blocker / 'var'}",
                                   f"state_dir: {tmp_path / 'var'}"))
    assert _stored_polls(path, "sw-0") == agent.states["sw-0"].polls >= 3

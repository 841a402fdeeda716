"""The agent loop in-process, polling the real snmpd: schedule, isolation, stalls, status.

The sink here is a recording test double (the real sinks have their own tests against
SQLite and VictoriaMetrics): these tests are about what the loop hands it. Each test waits
for what it needs to have happened (kits.waiting), never for a fixed time.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import run_lifeline

from agent import collector_set as poll_module
from agent.daemon import Agent
from agent.sinks import SinkStats, store_path
from agent.sinks.store import EmbeddedStore
from agent.status import read_status
from collectors.base import PollResult, ResultCode, Sample
from inventory.load import load_config
from inventory.model import Config, Device

from kits.waiting import PATIENCE, eventually
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

    def stats(self) -> SinkStats:
        return SinkStats(kind="embedded", points_written=len(self.points))

    def close(self, timeout: float = 10.0) -> None:
        self.closed = True

    def polls_of(self, device_id: str) -> list[Sample]:
        return [p for p in list(self.points)
                if p.measurement == "lifeline_poll" and p.tags.get("device_id") == device_id]


Script = Callable[[asyncio.AbstractEventLoop], None]


def run(agent: Agent, script: Script | None = None) -> None:
    """Run the agent on this thread's loop while `script(loop)` runs on a worker thread;
    the agent is asked to stop when the script returns, and a failing script fails the
    test once the agent has stopped. Without a script the agent must stop itself (within
    PATIENCE: a bound, not a timing)."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        if script is None:
            loop.call_later(PATIENCE, agent.request_stop)
            await agent.run()
            return
        done = loop.run_in_executor(None, script, loop)
        done.add_done_callback(lambda _: agent.request_stop())
        await agent.run()
        await done
    asyncio.run(main())


def on_loop(loop: asyncio.AbstractEventLoop, step: Callable[[], object]) -> None:
    """From the script's thread: run `step()` on the agent's loop (awaiting it if it is a
    coroutine function) and wait until it is done."""
    async def call() -> None:
        result = step()
        if inspect.isawaitable(result):
            await result
    asyncio.run_coroutine_threadsafe(call(), loop).result(PATIENCE)


def test_polls_every_device_on_schedule_and_a_dead_one_stops_nothing(
        tmp_path: Path, snmpd: Any) -> None:
    devices = snmp_devices_yaml(snmpd.address, 4) + snmp_devices_yaml(
        "127.0.0.1:9", 1, prefix="dead")
    config = load_config(agent_config(tmp_path, devices))
    sink = RecordingSink()
    agent = Agent(config, sink=sink, with_alerts=False)
    ids = [f"sw-{i}" for i in range(4)] + ["dead-0"]
    began = time.monotonic()
    run(agent, lambda loop: eventually(
        lambda: all(len(sink.polls_of(d)) >= 3 for d in ids), "3 polls of every device"))
    ran = time.monotonic() - began

    for i in range(4):
        polls = sink.polls_of(f"sw-{i}")
        # Never more often than the 1 s interval allows (a slow machine only polls less).
        assert 3 <= len(polls) <= ran + 1, f"sw-{i}: {len(polls)} polls in {ran:.1f} s at 1 s"
        assert all(p.fields["up"] == 1 for p in polls)
        assert any(p.measurement == "interface" and p.tags.get("device_id") == f"sw-{i}"
                   for p in sink.points)
    dead = sink.polls_of("dead-0")
    assert len(dead) >= 3 and all(p.fields["up"] == 0 for p in dead)
    assert sink.closed

    status = read_status(config.agent.state_dir)
    assert status is not None and status == agent.status()   # the file holds what it took
    assert status.agent.running is False
    assert status.devices["dead-0"].last_result == "timeout"
    assert status.devices["dead-0"].consecutive_failures >= 3
    assert status.devices["sw-0"].last_result == "success"
    assert status.sink is not None and status.sink.points_written == len(sink.points)
    assert status.start_lag.count >= 12


def test_a_stalled_loop_coalesces_missed_runs_instead_of_piling_them_up(
        tmp_path: Path, snmpd: Any) -> None:
    config = load_config(agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 1)))
    sink = RecordingSink()
    agent = Agent(config, sink=sink, with_alerts=False)
    stall: dict[str, float] = {}

    def times() -> list[float]:
        return [p.time.timestamp() for p in sink.polls_of("sw-0")]

    def freeze() -> None:
        # Stall the whole loop (as under a CPU or swap storm) across four scheduled
        # runs, ending just after one, so the next is almost a second away: anything
        # in between is a piled-up missed run.
        next_run = agent._scheduler.next_runs()["sw-0"]
        stall["start"] = time.time()
        time.sleep(next_run.timestamp() + 3.05 - stall["start"])
        stall["end"] = time.time()

    def script(loop: asyncio.AbstractEventLoop) -> None:
        eventually(times, "a first poll")
        on_loop(loop, freeze)
        eventually(lambda: len(times()) >= 3 and max(times()) >= stall["end"] + 0.6,
                   "polls after the window that follows the stall")

    run(agent, script)
    polled = times()
    after = [t for t in polled if stall["end"] <= t < stall["end"] + 0.6]
    # Four runs were missed during the stall; coalesced, at most one runs right after.
    assert len(after) <= 1, f"{len(after)} polls right after the stall: {polled}"
    assert not [t for t in polled if stall["start"] + 0.01 < t < stall["end"]]
    assert len(polled) >= 3


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
    monkeypatch.setitem(poll_module.FACTORIES, "snmp", _HangingThenRaisingCollector)
    monkeypatch.setattr("agent.polling.OVERRUN_GRACE_SECONDS", 0.5)
    config = load_config(agent_config(
        tmp_path, snmp_devices_yaml(snmpd.address, 3, timeout="300ms")))
    sink = RecordingSink()
    agent = Agent(config, sink=sink, with_alerts=False)
    run(agent, lambda loop: eventually(
        lambda: all(len(sink.polls_of(d)) >= 3 for d in ("sw-0", "sw-1", "sw-2")),
        "3 polls of each device, hung, raising or well"))

    hung = sink.polls_of("sw-0")
    assert hung and all(p.fields["result_code"] == ResultCode.TIMEOUT for p in hung)
    raised = sink.polls_of("sw-1")
    assert raised and all(p.fields["result_code"] == ResultCode.BAD_RESPONSE for p in raised)
    assert len(sink.polls_of("sw-2")) >= 3
    status = read_status(config.agent.state_dir)
    assert status is not None
    assert "overran the poll deadline" in (status.devices["sw-0"].last_error or "")
    # 0.3 s deadline + 0.5 s grace at a 1 s interval: the next run found the last one done
    # or skipped it, never ran two at once.
    assert status.devices["sw-0"].polls + status.devices["sw-0"].overlaps >= 3
    assert status.written.tzinfo is not None


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

    monkeypatch.setitem(poll_module.FACTORIES, "snmp", StopDuringPoll)
    config = load_config(agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 1)))
    sink = RecordingSink()
    agents.append(Agent(config, sink=sink, with_alerts=False))
    run(agents[0])                    # stops at the first poll's stop request

    polls = sink.polls_of("sw-0")
    assert len(polls) == 1 and polls[0].fields["up"] == 1
    assert any(p.measurement == "interface" for p in sink.points)
    assert sink.closed


def _stored_polls(config_path: Path, device_id: str) -> int:
    result = run_lifeline("metrics", config_path, "--device", device_id, "--measurement",
                          "lifeline_poll", "--since", "1h", "--format", "json")
    assert result.returncode == 0, result.stderr
    return len(json.loads(result.stdout))


class _CountingStore(EmbeddedStore):
    """The real embedded store, counting the polls written to it by device (one Counter
    shared by every store the agent opens), and as slow to close as an InfluxDB sink
    flushing can be: polls finish and hand in points while a swap is under way."""

    def __init__(self, config: Config, polls: Counter[str], close_seconds: float) -> None:
        super().__init__(store_path(config), config.agent.retention_days,
                         zone=config.agent.zone)
        self.polls = polls
        self.close_seconds = close_seconds

    def write(self, samples: Any) -> None:
        super().write(samples)
        self.polls.update(s.tags["device_id"] for s in samples
                          if s.measurement == "lifeline_poll")

    def close(self, timeout: float = 10.0) -> None:
        time.sleep(self.close_seconds)
        super().close(timeout)


def _counting_stores(monkeypatch: pytest.MonkeyPatch, close_seconds: float = 0.0
                     ) -> Counter[str]:
    polls: Counter[str] = Counter()
    monkeypatch.setattr("agent.writer.open_sink",
                        lambda config: _CountingStore(config, polls, close_seconds))
    return polls


def test_a_reload_that_reopens_the_store_loses_no_point(
        tmp_path: Path, snmpd: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    polls = _counting_stores(monkeypatch, close_seconds=1.0)
    path = agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 4))
    agent = Agent(load_config(path), with_alerts=False)
    changed = path.read_text().replace("  name: test-agent\n",
                                       "  name: test-agent\n  retention_days: 7\n")
    ids = [f"sw-{i}" for i in range(4)]

    def script(loop: asyncio.AbstractEventLoop) -> None:
        eventually(lambda: all(polls[d] >= 2 for d in ids), "2 polls of every device")
        path.write_text(changed)
        on_loop(loop, agent.reload)
        before = dict(polls)
        eventually(lambda: all(polls[d] >= before[d] + 2 for d in ids),
                   "2 more polls of every device into the new store")

    run(agent, script)
    status = agent.status()
    assert status is not None
    assert status.agent.reloads == 1 and status.agent.reload_failures == 0
    assert agent.config.agent.retention_days == 7
    for device_id in ids:
        polled = status.devices[device_id].polls
        assert polled >= 4
        assert _stored_polls(path, device_id) == polled      # none lost in the swap


def test_a_reload_whose_store_cannot_open_keeps_the_old_config_and_store(
        tmp_path: Path, snmpd: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    polls = _counting_stores(monkeypatch)
    path = agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 1))
    agent = Agent(load_config(path), with_alerts=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    broken = path.read_text().replace(f"state_dir: {tmp_path / 'var'}",
                                      f"state_dir: {blocker / 'var'}")

    def script(loop: asyncio.AbstractEventLoop) -> None:
        eventually(lambda: polls["sw-0"] >= 1, "a first poll")
        path.write_text(broken)
        on_loop(loop, agent.reload)
        eventually(lambda: polls["sw-0"] >= 3, "polls after the refused reload")

    run(agent, script)
    status = agent.status()
    assert status is not None
    assert status.agent.reloads == 0 and status.agent.reload_failures == 1
    assert agent.config.agent.state_dir == tmp_path / "var"
    path.write_text(broken.replace(f"state_dir: {blocker / 'var'}",
                                   f"state_dir: {tmp_path / 'var'}"))
    assert _stored_polls(path, "sw-0") == status.devices["sw-0"].polls >= 3

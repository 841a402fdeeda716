"""The wall clock stepped under a running agent (issue 12: clock jumps).

A scheduler keeping its run times on the wall clock (APScheduler 3, which the agent used
before) polls nothing (and refreshes no status) for an hour after a step back of an hour;
stepped forward, every device is due in the same round. The real `lifeline run` runs under
libfaketime (Debian `faketime`), whose timestamp file moves the process's wall clock while
it runs; the monotonic clock stays real, as it does under an NTP step. It polls a real
snmpd.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import run_lifeline

from agent.clock_watch import ClockWatch
from agent.endpoint import STALE_AFTER_SECONDS, health, render_metrics
from agent.schedule import phase
from agent.status import ClockJumps, read_status, write_status
from alerts.evaluation.store import Store

from kits.waiting import PATIENCE
from peers.agent import AgentProcess, agent_config, snmp_devices_yaml
from peers.ports import free_tcp_port

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
SEOUL = ZoneInfo("Asia/Seoul")
HOUR = 3600.0
JUMPED = "wall clock jumped by"


# --- the watch itself, on injected clocks ---------------------------------------------

class Clocks:
    def __init__(self) -> None:
        self.wall, self.mono = 1_800_000_000.0, 500.0

    def tick(self, seconds: float, *, wall_extra: float = 0.0) -> None:
        self.mono += seconds
        self.wall += seconds + wall_extra


def test_a_step_is_reported_once_with_its_size_and_slewing_is_not() -> None:
    clocks = Clocks()
    watch = ClockWatch(SEOUL, wall=lambda: clocks.wall, monotonic=lambda: clocks.mono)
    for _ in range(100):                    # NTP slewing at its 500 ppm limit, a stalled
        clocks.tick(1.0, wall_extra=0.0005)  # loop (both clocks move alike): no jump
        assert watch.check() is None
    clocks.tick(30.0)
    assert watch.check() is None
    assert watch.summary() == ClockJumps()

    clocks.tick(1.0, wall_extra=-HOUR)
    assert watch.check() == pytest.approx(-HOUR)
    clocks.tick(1.0)
    assert watch.check() is None            # reported once, measured from the new wall time
    clocks.tick(1.0, wall_extra=HOUR + 0.5)
    assert watch.check() == pytest.approx(HOUR + 0.5)
    summary = watch.summary()
    assert summary.count == 2 and summary.last_seconds == pytest.approx(HOUR + 0.5)
    assert summary.last_at == datetime.fromtimestamp(clocks.wall, SEOUL)


def test_the_status_file_carries_the_jumps_and_reads_an_older_file(tmp_path: Path) -> None:
    from test_status_file import a_status  # the suite's full example record

    at = datetime(2026, 11, 22, 16, 0, 3, tzinfo=SEOUL)
    status = a_status()
    jumped = replace(status, clock=ClockJumps(count=2, last_seconds=-3600.02, last_at=at))
    write_status(tmp_path, jumped)
    assert read_status(tmp_path) == jumped
    written = json.loads((tmp_path / "status.json").read_text())
    assert written["clock"] == {"jumps": 2, "last_jump_seconds": -3600.02,
                                "last_jump_at": "2026-11-22T16:00:03+09:00"}
    assert "lifeline_clock_jumps_total 2.0" in render_metrics(jumped).splitlines()
    del written["clock"]                         # an agent from before this record
    (tmp_path / "status.json").write_text(json.dumps(written))
    older = read_status(tmp_path)
    assert older is not None and older.clock == ClockJumps()


def test_health_calls_a_status_from_the_future_stuck() -> None:
    """A status written before the clock was stepped back is ahead of now: a running
    agent refreshes it as it notices the jump, a stuck loop never does, and comparing
    only how old it is would call that loop healthy until the clock caught up."""
    from test_status_file import a_status

    status = a_status()
    assert health(status, False, status.written_unix - 1)[0]
    healthy, body = health(status, False, status.written_unix - HOUR)
    assert not healthy
    assert body["problems"] == ["status written 3600 s ahead of the clock and not "
                                "refreshed since: the loop is stuck"]
    assert not health(status, False, status.written_unix - STALE_AFTER_SECONDS - 5)[0]


# --- the real agent under libfaketime -----------------------------------------------------

class SteppedClock:
    """The environment that puts `lifeline run` under libfaketime, and the file that
    steps its wall clock (read at every clock call: FAKETIME_NO_CACHE)."""

    def __init__(self, directory: Path) -> None:
        if not LIBFAKETIME.exists():
            pytest.fail(f"{LIBFAKETIME} is missing: install Debian's faketime "
                        "(tests/setup.sh does)")
        self.file = directory / "faketime.rc"
        self.file.write_text("+0\n")
        self.env = {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME_TIMESTAMP_FILE": str(self.file),
                    "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}

    def step(self, seconds: float) -> None:
        """By rename: the agent reads the file at every clock call, and must never find
        it half written."""
        new = self.file.with_suffix(".new")
        new.write_text(f"{seconds:+.0f}\n")
        new.replace(self.file)


def _healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _jumps(agent: AgentProcess) -> dict[str, Any]:
    return dict((agent.status() or {}).get("clock") or {"jumps": 0})


@pytest.mark.peer
def test_a_clock_stepped_back_an_hour_keeps_the_agent_polling(tmp_path: Path,
                                                             snmpd: Any) -> None:
    clock = SteppedClock(tmp_path)
    port = free_tcp_port()
    config = agent_config(tmp_path, snmp_devices_yaml(snmpd.address, 3),
                          agent_extra=f"  http_listen: 127.0.0.1:{port}\n")
    agent = AgentProcess(config, env=clock.env).start()
    try:
        agent.wait_polls("sw-2", 2)
        clock.step(-HOUR)
        agent.wait_for("the jump in the log", lambda: JUMPED in agent.log())
        polls = {d: agent.wait_polls(d, 1)["polls"] for d in ("sw-0", "sw-1", "sw-2")}
        for device_id, seen in polls.items():     # every device goes on being polled
            agent.wait_polls(device_id, seen + 3)
        jumps = agent.wait_for("the jump in the status", lambda: _jumps(agent)["jumps"])
        assert jumps == 1
        assert _jumps(agent)["last_jump_seconds"] == pytest.approx(-HOUR, abs=5)
        assert agent.wait_for("health ok", lambda: _healthz(port) == 200)
        status = agent.status() or {}
        assert all(d["overlaps"] == 0 and d["last_result"] == "success"
                   for d in status["devices"].values())
    finally:
        assert agent.stop() == 0, agent.log()
    line = [x for x in agent.log().splitlines() if JUMPED in x]
    assert len(line) == 1 and "wall clock jumped by -3600 s: schedule re-planned" in line[0]
    assert "Traceback" not in agent.log()


@pytest.mark.peer
def test_a_clock_stepped_forward_an_hour_polls_on_schedule_and_raises_nothing(
        tmp_path: Path, snmpd: Any) -> None:
    """Forward, every device used to be due in the same round (a burst of all of them at
    once, their spread lost). Re-planned, each keeps its phase inside its interval."""
    interval, count = 6.0, 8
    ids = [f"sw-{i}" for i in range(count)]
    phases = sorted(phase(d, interval) for d in ids)
    assert phases[-1] - phases[0] > interval * 0.75   # the test's premise: a wide spread
    clock = SteppedClock(tmp_path)
    config = agent_config(tmp_path, snmp_devices_yaml(snmpd.address, count, interval="6s"))
    # A device polls every 6 s and the status is written every 5 s: a wait for polls is
    # bounded by the patience plus a few intervals, not by the patience alone.
    patience = PATIENCE + 3 * interval
    agent = AgentProcess(config, env=clock.env).start()
    try:
        for device_id in ids:
            agent.wait_polls(device_id, 1, timeout=patience)
        stepped_at = time.time()            # the test's own clock is not faked
        clock.step(HOUR)
        agent.wait_for("the jump in the log", lambda: JUMPED in agent.log())
        seen = {d: agent.wait_polls(d, 1)["polls"] for d in ids}
        for device_id in ids:
            agent.wait_polls(device_id, seen[device_id] + 2, timeout=patience)
        status = agent.status() or {}
    finally:
        assert agent.stop() == 0, agent.log()

    assert status["clock"]["jumps"] == 1
    assert status["clock"]["last_jump_seconds"] == pytest.approx(HOUR, abs=5)
    assert all(d["overlaps"] == 0 for d in status["devices"].values())
    # No false alert: every device answered throughout.
    assert status["alerts"]["alerts"]["counts"]["firing"] == 0
    assert status["alerts"]["alerts"]["counts"]["pending"] == 0
    # The lag of a poll against its schedule did not take in the hour.
    assert status["start_lag"]["max"] < interval

    # Each device's first poll after the step, from the store: spread over the interval
    # as their phases are, not all in one round.
    firsts = []
    for device_id in ids:
        result = run_lifeline("metrics", config, "--device", device_id, "--measurement",
                              "lifeline_poll", "--since", "3h", "--format", "json",
                              env=clock.env)
        assert result.returncode == 0, result.stderr
        times = sorted(datetime.fromisoformat(p["time"]).timestamp()
                       for p in json.loads(result.stdout))
        after = [t for t in times if t > stepped_at + HOUR / 2]
        assert after, f"{device_id}: no poll after the step"
        firsts.append(after[0])
        gaps = [b - a for a, b in pairwise(after)]
        assert all(gap > interval / 3 for gap in gaps), (device_id, gaps)   # none twice
    assert max(firsts) - min(firsts) > interval / 3, firsts


# --- the alert engine's times across a step (the real agent, under libfaketime) ---------

def _host_config(directory: Path, thresholds: str) -> Path:
    """This machine polled by the host collector every second, its memory alert set to
    hold at once (any use over 1 %), with `thresholds` for the rest."""
    devices = ("  - {id: host-1, name: this host, category: server, poll: {protocol: host, "
               "interval: 1s, timeout: 800ms, retries: 0}}\n")
    return agent_config(directory, devices,
                        top_extra=f"alerts:\n  thresholds: {{mem_percent: 1, {thresholds}}}\n")


def _alert_counts(agent: AgentProcess) -> dict[str, int]:
    return dict(((agent.status() or {}).get("alerts") or {}).get("alerts", {})
                .get("counts", {}))


def _after_the_jump(agent: AgentProcess) -> dict[str, int]:
    """The alert counts of a status written once the agent moved its alert times and
    polled the host three more times (each poll observed, the timers ticked)."""
    agent.wait_for("the alert times moved", lambda: "alert times moved by" in agent.log())
    seen = agent.wait_polls("host-1", 1)["polls"]
    agent.wait_polls("host-1", seen + 3)
    return _alert_counts(agent)


def test_a_pending_for_does_not_fire_when_the_clock_steps_forward(tmp_path: Path) -> None:
    """A memory alert with a 20 min `for`, pending when the clock steps forward an hour,
    used to fire at once (measured: 10 s after it began)."""
    clock = SteppedClock(tmp_path)
    agent = AgentProcess(_host_config(tmp_path, "host_for: 20m"), env=clock.env).start()
    try:
        agent.wait_for("the memory alert pending",
                       lambda: _alert_counts(agent).get("pending") == 1)
        clock.step(HOUR)
        counts = _after_the_jump(agent)
    finally:
        assert agent.stop() == 0, agent.log()
    assert counts["pending"] == 1 and counts["firing"] == 0, counts
    assert "host_memory_high" not in agent.log()       # no notice went out
    assert "Traceback" not in agent.log()


def test_a_silence_made_before_a_step_back_keeps_silencing(tmp_path: Path) -> None:
    """A silence made for 30 min just before the clock steps back an hour used to stop
    applying (it started "in the future"): the firing alert was told."""
    clock = SteppedClock(tmp_path)
    config = _host_config(tmp_path, "host_for: 0s")
    store = Store.in_dir(config.parent / "var")      # as `lifeline alerts silence` does
    now = time.time()                                # (the step is still +0 here)
    store.add_silence(["device_id=host-1"], now, now + 1800, "clock test", "kim")
    store.close()
    agent = AgentProcess(config, env=clock.env).start()
    try:
        agent.wait_for("the memory alert firing, silenced",
                       lambda: _alert_counts(agent).get("silenced") == 1)
        clock.step(-HOUR)
        counts = _after_the_jump(agent)
    finally:
        assert agent.stop() == 0, agent.log()
    assert counts["firing"] == 1 and counts["silenced"] == 1, counts
    assert "host_memory_high" not in agent.log()       # no notice went out
    assert "Traceback" not in agent.log()

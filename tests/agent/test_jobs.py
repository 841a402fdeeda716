"""The scheduler on a real asyncio loop: runs started, re-planned, dropped, paused.

Intervals are short so the loop runs a few of them; every assertion is on counts and
order that hold however slow the machine is (a run may start late, never twice at once
from the scheduler, never after it was dropped or paused).
"""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from agent.jobs import JobScheduler
from agent.schedule import PollJob

SEOUL = ZoneInfo("Asia/Seoul")


class Recorder:
    """What the scheduler asked for: each poll started, each run's intended time."""

    def __init__(self) -> None:
        self.polls: Counter[str] = Counter()
        self.intended: list[tuple[str, datetime]] = []
        self.release = asyncio.Event()
        self.hold: set[str] = set()         # devices whose poll waits for `release`

    async def poll(self, device_id: str) -> None:
        self.polls[device_id] += 1
        if device_id in self.hold:
            await self.release.wait()

    def submitted(self, device_id: str, when: datetime) -> None:
        self.intended.append((device_id, when))


def scheduler(recorder: Recorder) -> JobScheduler:
    return JobScheduler(SEOUL, lambda: datetime.now(SEOUL), poll=recorder.poll,
                        on_submitted=recorder.submitted)


async def until(condition: object, seconds: float = 20.0) -> None:
    """Waits (on the loop) until `condition()` holds; fails after `seconds`."""
    assert callable(condition)
    async with asyncio.timeout(seconds):
        # Polled: the conditions read counters the scheduler's callbacks bump.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def test_each_device_runs_every_interval_at_its_intended_time() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        jobs = scheduler(recorder)
        changes = jobs.apply({d: PollJob(d, 0.3) for d in ("a", "b", "c")})
        assert [j.device_id for j in changes.added] == ["a", "b", "c"]
        nexts = jobs.next_runs()
        now = datetime.now(SEOUL)
        assert set(nexts) == {"a", "b", "c"}
        assert all(0 <= (when - now).total_seconds() <= 0.3 + 0.01 for when in nexts.values())
        assert all(jobs.next_runs()[d] is nexts[d] for d in nexts)   # kept until it moves
        jobs.start()
        await until(lambda: min(recorder.polls[d] for d in "abc") >= 3)
        moved = jobs.next_runs()
        assert all(moved[d] > nexts[d] for d in nexts)      # made anew once a run started
        jobs.shutdown()
        assert jobs.next_runs() == {}
        for _, when in recorder.intended:
            assert when.tzinfo is SEOUL
            assert when <= datetime.now(SEOUL)
        times = sorted(when.timestamp() for d, when in recorder.intended if d == "a")
        gaps = [b - a for a, b in pairwise(times)]
        # Whole intervals apart (plus at most the jitter): never two runs for one slot,
        # and a loop held up past a slot skips it rather than running it late twice.
        assert all(round(gap / 0.3) >= 1 and abs(gap - round(gap / 0.3) * 0.3) <= 0.01
                   for gap in gaps), gaps

    asyncio.run(scenario())


def test_a_dropped_device_is_not_run_again_and_a_new_interval_replans() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        jobs = scheduler(recorder)
        jobs.apply({"a": PollJob("a", 0.2), "b": PollJob("b", 0.2)})
        jobs.start()
        await until(lambda: recorder.polls["a"] >= 2 and recorder.polls["b"] >= 2)
        changes = jobs.apply({"b": PollJob("b", 5.0)})
        assert list(changes.removed) == ["a"]
        assert [j.device_id for j in changes.rescheduled] == ["b"]
        await asyncio.sleep(0.05)           # runs started before the change have begun
        dropped_at, b_at = recorder.polls["a"], recorder.polls["b"]
        await asyncio.sleep(1.0)            # five of the old intervals
        assert recorder.polls["a"] == dropped_at
        assert recorder.polls["b"] <= b_at + 1      # one run at most: 5 s apart now
        assert set(jobs.next_runs()) == {"b"}
        jobs.shutdown()

    asyncio.run(scenario())


def test_a_run_still_in_flight_is_left_to_the_runner_and_pause_starts_nothing_new() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        recorder.hold.add("slow")
        jobs = scheduler(recorder)
        jobs.apply({"slow": PollJob("slow", 0.2), "fast": PollJob("fast", 0.2)})
        jobs.start()
        # The slow device's first poll still waits while its next runs come due: each is
        # handed on (agent/polling.py skips it and counts the overlap), the plan moves on.
        await until(lambda: recorder.polls["slow"] >= 3)
        jobs.pause()
        await asyncio.sleep(0.05)           # runs started before the pause have begun
        paused_at = dict(recorder.polls)
        await asyncio.sleep(0.6)
        assert dict(recorder.polls) == paused_at
        recorder.release.set()
        jobs.shutdown()

    asyncio.run(scenario())


def test_periodic_jobs_run_every_interval_and_a_failing_one_goes_on() -> None:
    async def scenario() -> None:
        runs: Counter[str] = Counter()

        def failing() -> None:
            runs["failing"] += 1
            raise RuntimeError("boom")

        jobs = scheduler(Recorder())
        jobs.every("ok", 0.1, lambda: runs.update(["ok"]))
        jobs.every("failing", 0.1, failing)
        jobs.daily("daily", 0, 5, lambda: runs.update(["daily"]))
        jobs.start()
        await until(lambda: runs["ok"] >= 3 and runs["failing"] >= 3 and runs["daily"] >= 1)
        jobs.shutdown()
        assert runs["daily"] == 1           # once at start; next at 00:05 local time

    asyncio.run(scenario())

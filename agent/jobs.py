"""The agent's scheduler: one timer on the agent's loop for every poll and periodic job.

It carries each polled device's runs (agent/schedule.py says when) and the agent's
periodic jobs (the status, the alert timers, the daily lifecycle evaluation). It adds,
removes and re-plans the devices' runs when a configuration is adopted; tells the poll
runner when each run was meant to start; reports each device's next run; and at stop
pauses first, so the polls in flight can finish.

Why not a general scheduler: with a job object, a trigger and a task wrapper per device,
APScheduler's bookkeeping cost 5-8 % of the agent's CPU at 10,000 devices a minute and
a few KiB of memory per device (bench/RESULTS.md). Here a device is a `PollPlan` in a heap
ordered by its next run on the loop's monotonic clock, and one `call_at` timer wakes the
loop for whatever is due first (and at least every WATCH_SECONDS). Each run is a task on
the loop: the device states and the alert engine belong to the loop thread.

Clock jumps. The wall clock can be stepped (NTP, a restored snapshot, `date -s`, a resume
from suspend). The devices' runs are kept on the monotonic clock, so a step moves none of
them: each stays the same real time away and keeps its place in the spread (no burst, no
device polled early or twice, no pause). The scheduler still compares the two clocks
before every round (agent/clock_watch.py), because the agent's other times are wall-clock
times: on a jump `on_jump` moves the alert engine's and the outbox's times by the jump
first (alerts/service.py `clock_jumped`); then the agent's periodic jobs (status first,
then the alert timers) run once at once and then every interval from there. The daily job
is a wall-clock time by nature and is left alone. A poll result can reach the alert engine
between two rounds: the agent checks the clock before that too (`check_clock`), so the
engine never reads the new clock with its times still in the old one.
"""
from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import logging
import math
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from agent.clock_watch import ClockWatch
from agent.schedule import JobChanges, PollJob, PollPlan, diff_jobs
from agent.status import ClockJumps

log = logging.getLogger("lifeline.agent")

# The longest the loop goes without a round: how soon a step of the wall clock is noticed
# and a daily job found due.
WATCH_SECONDS = 1.0
# What is due within this much is started in the round at hand: asyncio may wake a hair
# before the time asked, and a second wake-up for it costs more than a millisecond early.
EARLY_SECONDS = 0.001
# A daily run missed (the agent stopped or stalled at that time) by less than this still runs.
DAILY_GRACE = timedelta(hours=1)


class _State(enum.Enum):
    NEW = "new"             # not started yet
    RUNNING = "running"
    PAUSED = "paused"       # stopping: no new runs, the ones in flight go on
    STOPPED = "stopped"     # shut down


@dataclass(slots=True)
class _Periodic:
    """A job run every `seconds` on the loop; `due` on the monotonic clock."""

    job_id: str
    seconds: float
    function: Callable[[], None]
    due: float


@dataclass(slots=True)
class _Daily:
    """A job run at a local time of day; `due` on the wall clock."""

    job_id: str
    at: time
    function: Callable[[], None]
    due: datetime


class JobScheduler:
    """`poll(device_id)` is what each device's run awaits; `on_submitted(device_id, when)`
    hears that a run meant for `when` (wall clock) starts; `on_jump(seconds)` that the
    wall clock jumped (before the periodic jobs run again)."""

    def __init__(self, zone: tzinfo, clock: Callable[[], datetime], *,
                 poll: Callable[[str], Coroutine[object, object, None]],
                 on_submitted: Callable[[str, datetime], None],
                 on_jump: Callable[[float], None] = lambda seconds: None) -> None:
        self._zone = zone
        self._clock = clock
        self._poll = poll
        self._on_submitted = on_submitted
        self._on_jump = on_jump
        self._watch = ClockWatch(zone)
        self._state = _State.NEW
        self._loop: asyncio.AbstractEventLoop | None = None
        self._plans: dict[str, PollPlan] = {}
        # (due, order, plan): the order breaks ties without comparing plans. A plan
        # dropped or re-planned stays in the heap, cancelled, until its time comes.
        self._heap: list[tuple[float, int, PollPlan]] = []
        self._order = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()    # runs in flight (asyncio keeps
        self._periodic: list[_Periodic] = []             # only weak references to tasks)
        self._daily: list[_Daily] = []
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at = math.inf
        self.jobs: dict[str, PollJob] = {}

    def apply(self, jobs: Mapping[str, PollJob]) -> JobChanges:
        """Poll these devices from now on: devices added, removed, or re-planned when
        their interval changed; the others keep their place. On the loop."""
        changes = diff_jobs(self.jobs, dict(jobs))
        loop = self._running_loop()
        now = loop.time()
        for device_id in changes.removed:
            self._drop(device_id)
        for job in changes.added + changes.rescheduled:
            self._drop(job.device_id)
            plan = PollPlan(job, now=now)
            self._plans[job.device_id] = plan
            heapq.heappush(self._heap, (plan.due, next(self._order), plan))
        self.jobs = dict(jobs)
        self._arm()
        return changes

    def every(self, job_id: str, seconds: float, function: Callable[[], None]) -> None:
        """Run `function` on the loop every `seconds` (the first run one interval from
        now), missed runs coalesced."""
        due = self._running_loop().time() + seconds
        self._periodic.append(_Periodic(job_id, seconds, function, due))
        self._arm()

    def daily(self, job_id: str, hour: int, minute: int,
              function: Callable[[], None]) -> None:
        """Run `function` on the loop once now, then daily at hour:minute (local time);
        a run missed by less than an hour still happens."""
        self._daily.append(_Daily(job_id, time(hour, minute), function, self._clock()))
        self._arm()

    def start(self) -> None:
        self._running_loop()
        self._state = _State.RUNNING
        self._arm()

    def next_runs(self) -> dict[str, datetime]:
        """Each scheduled device's next run (wall clock); empty once shut down."""
        if self._state is _State.STOPPED or self._loop is None:
            return {}
        offset = self._clock().timestamp() - self._loop.time()
        zone = self._zone
        runs = {}
        for device_id, plan in self._plans.items():
            if plan.next_run is None:       # moved since last asked: made once per run
                plan.next_run = datetime.fromtimestamp(offset + plan.due, zone)
            runs[device_id] = plan.next_run
        return runs

    def clock_jumps(self) -> ClockJumps:
        """How often the wall clock jumped under the scheduler, and the last jump."""
        return self._watch.summary()

    def pause(self) -> None:
        """No new runs; the ones in flight go on."""
        if self._state is _State.RUNNING:
            self._state = _State.PAUSED
            self._disarm()

    def shutdown(self) -> None:
        self._state = _State.STOPPED
        self._disarm()

    def check_clock(self) -> None:
        """Notices a jump of the wall clock since the last check (see the module), on
        the loop: before every round, and before a poll result reaches the alert engine."""
        jump = self._watch.check()
        if jump is None:
            return
        self._on_jump(jump)     # first: the alert tick run below reads its times
        if self._state is _State.RUNNING:
            self._replan(jump)

    def _replan(self, jump: float) -> None:
        """After the wall clock jumped by `jump` seconds (see the module): the periodic
        jobs run now and every interval from now."""
        log.warning("wall clock jumped by %+.0f s: schedule re-planned", jump)
        now = self._running_loop().time()
        for plan in self._plans.values():   # their wall times, made with the old offset
            plan.next_run = None
        for job in self._periodic:
            _run_job(job.job_id, job.function)
            job.due = now + job.seconds

    def _round(self) -> None:
        """The timer's callback: whatever is due, then the timer armed for what is next."""
        self._timer, self._armed_at = None, math.inf
        if self._state is not _State.RUNNING:
            return
        self.check_clock()
        loop = self._running_loop()
        now = loop.time()
        wall = self._clock()
        self._start_polls(loop, now, wall.timestamp())
        for job in self._periodic:
            if job.due <= now + EARLY_SECONDS:
                _run_job(job.job_id, job.function)
                job.due = max(job.due + job.seconds, now)     # missed runs coalesced
        for daily in self._daily:
            if daily.due <= wall:
                if wall - daily.due <= DAILY_GRACE:
                    _run_job(daily.job_id, daily.function)
                daily.due = _next_time_of_day(daily.at, wall)
        self._arm()

    def _start_polls(self, loop: asyncio.AbstractEventLoop, now: float,
                     wall: float) -> None:
        """A task for each device whose run is due; each plan moved on to its next run."""
        heap, zone = self._heap, self._zone
        horizon = now + EARLY_SECONDS
        while heap and heap[0][0] <= horizon:
            _, _, plan = heapq.heappop(heap)
            if plan.cancelled:
                continue
            device_id = plan.device_id
            # A run still in flight skips this one: the runner counts it as an overlap.
            self._on_submitted(device_id, datetime.fromtimestamp(wall - (now - plan.due), zone))
            task = loop.create_task(self._poll(device_id), name=device_id)
            self._tasks.add(task)
            task.add_done_callback(self._run_ended)
            plan.advance(now)
            heapq.heappush(heap, (plan.due, next(self._order), plan))

    def _run_ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("the poll of %s raised", task.get_name(), exc_info=error)

    def _drop(self, device_id: str) -> None:
        plan = self._plans.pop(device_id, None)
        if plan is not None:
            plan.cancelled = True

    def _arm(self) -> None:
        """The timer set for the earliest of: the next run, the next periodic job, and
        WATCH_SECONDS from now."""
        if self._state is not _State.RUNNING or self._loop is None:
            return
        when = self._loop.time() + WATCH_SECONDS
        if self._heap:
            when = min(when, self._heap[0][0])
        for job in self._periodic:
            when = min(when, job.due)
        if self._timer is not None:
            if when >= self._armed_at:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._round)
        self._armed_at = when

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._armed_at = None, math.inf

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop


def _run_job(job_id: str, function: Callable[[], None]) -> None:
    try:
        function()
    except Exception:       # logged; the next run goes on
        log.exception("periodic job %s failed", job_id)


def _next_time_of_day(at: time, after: datetime) -> datetime:
    """The first local `at` later than `after` (an aware datetime)."""
    day = after.date()
    candidate = datetime.combine(day, at, tzinfo=after.tzinfo)
    if candidate <= after:
        candidate = datetime.combine(day + timedelta(days=1), at, tzinfo=after.tzinfo)
    return candidate

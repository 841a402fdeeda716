"""The agent's scheduler: one APScheduler AsyncIOScheduler on the agent's loop.

It carries a job per polled device (agent/schedule.py says when each one runs) and the
agent's periodic jobs (the status, the alert timers, the daily lifecycle evaluation). It
adds, removes and reschedules the poll jobs when a configuration is adopted; tells the
poll runner when each run was meant to start, and the device states when a run was
skipped because the previous one still ran; reports each device's next run; and at stop
pauses first, so the polls in flight can finish, before it shuts down.

Every job is a coroutine on purpose: APScheduler runs plain functions on a thread pool,
and the device states and the alert engine belong to the loop thread.

Clock jumps. APScheduler 3 keeps run times on the wall clock and sleeps on the loop's
monotonic clock until the next one: stepped back an hour, it would sleep an hour (no polls,
no status); stepped forward, every device would be due in the same round. So before every
round the scheduler compares the two clocks (agent/clock_watch.py) and never sleeps longer
than WATCH_SECONDS. On a jump it re-plans from the new now: each poll job's next run moves
by the jump, so it stays the same real time away and keeps its phase (the spread across
devices holds, no device is polled early or twice); `on_jump` moves the alert engine's
and the outbox's times by the jump first (alerts/service.py `clock_jumped`); then the
agent's own periodic jobs (status first, then the alert timers) run once at once and then
every interval from there. The daily job is a wall-clock time by nature and is left
alone. A poll result can reach the alert engine between two rounds: the agent checks the
clock before that too (`check_clock`), so the engine never reads the new clock with its
times still in the old one.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from agent.clock_watch import ClockWatch
from agent.schedule import JOB_PREFIX, JobChanges, PollJob, diff_jobs
from agent.status import ClockJumps

log = logging.getLogger("lifeline.agent")

# The longest the scheduler sleeps between rounds: how soon a step back is noticed.
WATCH_SECONDS = 1.0


class JobScheduler:
    """`poll(device_id)` is what each device's job runs; `on_submitted(device_id, when)`
    hears that a run meant for `when` starts; `on_skipped(device_id)` that one was
    skipped because the previous poll still ran; `on_jump(seconds)` that the wall clock
    jumped (before the schedule is re-planned)."""

    def __init__(self, zone: tzinfo, clock: Callable[[], datetime], *,
                 poll: Callable[[str], Awaitable[None]],
                 on_submitted: Callable[[str, datetime], None],
                 on_skipped: Callable[[str], None],
                 on_jump: Callable[[float], None] = lambda seconds: None) -> None:
        self._clock = clock
        self._on_jump = on_jump
        self._poll = poll
        self._on_submitted = on_submitted
        self._on_skipped = on_skipped
        self._watch = ClockWatch(zone)
        self._every: dict[str, tuple[float, Callable[[], None]]] = {}
        self._scheduler = _WatchedScheduler(self.check_clock, timezone=zone)
        self._scheduler.add_listener(self._on_event,
                                     EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)
        self.jobs: dict[str, PollJob] = {}

    def apply(self, jobs: Mapping[str, PollJob]) -> JobChanges:
        """Poll these devices from now on: jobs added, removed, or rescheduled when their
        interval changed; the others keep their place."""
        changes = diff_jobs(self.jobs, dict(jobs))
        now = self._clock()
        for job_id in changes.removed:
            if self._scheduler.get_job(job_id) is not None:
                self._scheduler.remove_job(job_id)
        for job in changes.added + changes.rescheduled:
            self._scheduler.add_job(self._poll, job.trigger(now), args=(job.device_id,),
                                    **job.job_options())
        self.jobs = dict(jobs)
        return changes

    def every(self, job_id: str, seconds: float, function: Callable[[], None]) -> None:
        """Run `function` on the loop every `seconds`, missed runs coalesced."""
        self._every[job_id] = (seconds, function)
        self._scheduler.add_job(_as_coroutine(function), IntervalTrigger(seconds=seconds),
                                id=job_id, coalesce=True, max_instances=1)

    def daily(self, job_id: str, hour: int, minute: int,
              function: Callable[[], None]) -> None:
        """Run `function` on the loop once now, then daily at hour:minute (local time);
        a run missed by less than an hour still happens."""
        self._scheduler.add_job(_as_coroutine(function), CronTrigger(hour=hour, minute=minute),
                                id=job_id, coalesce=True, max_instances=1,
                                misfire_grace_time=3600, next_run_time=self._clock())

    def start(self) -> None:
        self._scheduler.start()

    def next_runs(self) -> dict[str, datetime]:
        """Each scheduled device's next run; empty once the scheduler has stopped."""
        if not self._scheduler.running:
            return {}
        return {job.id[len(JOB_PREFIX):]: job.next_run_time
                for job in self._scheduler.get_jobs()
                if job.id.startswith(JOB_PREFIX) and job.next_run_time is not None}

    def clock_jumps(self) -> ClockJumps:
        """How often the wall clock jumped under the scheduler, and the last jump."""
        return self._watch.summary()

    def pause(self) -> None:
        """No new runs; the ones in flight go on (shutdown would cancel them)."""
        if self._scheduler.running:
            self._scheduler.pause()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def check_clock(self) -> None:
        """Notices a jump of the wall clock since the last check (see the module), on
        the loop: before every round, and before a poll result reaches the alert engine."""
        jump = self._watch.check()
        if jump is None:
            return
        self._on_jump(jump)     # first: the alert tick run by the re-plan reads its times
        if self._scheduler.state == STATE_RUNNING:
            self._replan(jump)

    def _replan(self, jump: float) -> None:
        """Re-plan after the wall clock jumped by `jump` seconds (see the module)."""
        log.warning("wall clock jumped by %+.0f s: schedule re-planned", jump)
        shift = timedelta(seconds=jump)
        for job in self._scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.next_run_time is not None:
                self._scheduler.modify_job(job.id, next_run_time=job.next_run_time + shift)
        now = self._clock()
        for job_id, (seconds, function) in self._every.items():
            try:
                function()
            except Exception:       # as APScheduler would: logged, the next run goes on
                log.exception("periodic job %s failed", job_id)
            self._scheduler.modify_job(job_id, next_run_time=now + timedelta(seconds=seconds))

    def _on_event(self, event: Any) -> None:   # APScheduler 3 is untyped: JobSubmissionEvent
        if not event.job_id.startswith(JOB_PREFIX):
            return
        device_id = event.job_id[len(JOB_PREFIX):]
        if event.code == EVENT_JOB_MAX_INSTANCES:
            self._on_skipped(device_id)
        elif event.scheduled_run_times:
            self._on_submitted(device_id, event.scheduled_run_times[-1])


class _WatchedScheduler(AsyncIOScheduler):  # type: ignore[misc]  # APScheduler 3: untyped
    """AsyncIOScheduler that calls `before_round()` before each round of due jobs and
    sleeps at most WATCH_SECONDS between rounds. It overrides two private hooks of
    APScheduler 3 (pinned in tests/requirements.lock; tests/agent/test_clock_jumps.py
    checks them against the real scheduler)."""

    def __init__(self, before_round: Callable[[], None], **options: Any) -> None:
        super().__init__(**options)
        self._before_round = before_round

    def _process_jobs(self) -> float | None:
        self._before_round()
        wait: float | None = super()._process_jobs()
        return wait

    def _start_timer(self, wait_seconds: float | None) -> None:
        super()._start_timer(WATCH_SECONDS if wait_seconds is None
                             else min(wait_seconds, WATCH_SECONDS))


def _as_coroutine(function: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        function()
    return run

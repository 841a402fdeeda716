"""The agent's scheduler: one APScheduler AsyncIOScheduler on the agent's loop.

It carries a job per polled device (agent/schedule.py says when each one runs) and the
agent's periodic jobs (the status, the alert timers, the daily lifecycle evaluation). It
adds, removes and reschedules the poll jobs when a configuration is adopted; tells the
poll runner when each run was meant to start, and the device states when a run was
skipped because the previous one still ran; reports each device's next run; and at stop
pauses first, so the polls in flight can finish, before it shuts down.

Every job is a coroutine on purpose: APScheduler runs plain functions on a thread pool,
and the device states and the alert engine belong to the loop thread.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from agent.schedule import JOB_PREFIX, JobChanges, PollJob, diff_jobs


class JobScheduler:
    """`poll(device_id)` is what each device's job runs; `on_submitted(device_id, when)`
    hears that a run meant for `when` starts; `on_skipped(device_id)` that one was
    skipped because the previous poll still ran."""

    def __init__(self, zone: tzinfo, clock: Callable[[], datetime], *,
                 poll: Callable[[str], Awaitable[None]],
                 on_submitted: Callable[[str, datetime], None],
                 on_skipped: Callable[[str], None]) -> None:
        self._clock = clock
        self._poll = poll
        self._on_submitted = on_submitted
        self._on_skipped = on_skipped
        self._scheduler = AsyncIOScheduler(timezone=zone)
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

    def pause(self) -> None:
        """No new runs; the ones in flight go on (shutdown would cancel them)."""
        if self._scheduler.running:
            self._scheduler.pause()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def _on_event(self, event: Any) -> None:   # APScheduler 3 is untyped: JobSubmissionEvent
        if not event.job_id.startswith(JOB_PREFIX):
            return
        device_id = event.job_id[len(JOB_PREFIX):]
        if event.code == EVENT_JOB_MAX_INSTANCES:
            self._on_skipped(device_id)
        elif event.scheduled_run_times:
            self._on_submitted(device_id, event.scheduled_run_times[-1])


def _as_coroutine(function: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        function()
    return run

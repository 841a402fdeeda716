"""When each device is polled: one APScheduler job per device, at its own interval.

Thousands of devices configured with the same `interval: 60s` must not all fire in the
same second. Each device gets a fixed phase inside its interval, derived from a hash of its
id: the spread is even, and stable across restarts and reloads, so a device is polled at
the same second of every minute and its counter rates stay regular. A small random jitter
on top keeps devices whose phases collide from firing in lock-step.

Jobs never overlap (`max_instances=1`: a poll still running when the next is due makes the
scheduler skip that run, counted as an overlap), and runs missed during a stall are
coalesced into one instead of piling up (`coalesce=True`, grace of one interval).
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from inventory.model import Device

JOB_PREFIX = "poll:"
MAX_JITTER_SECONDS = 1.0


def phase(device_id: str, interval: float) -> float:
    """Seconds into each interval at which this device is polled, in [0, interval)."""
    return (zlib.crc32(device_id.encode("utf-8")) / 2**32) * interval


def jitter(interval: float) -> float:
    """Random spread added to each run: at most 1% of the interval, at most 1 s."""
    return min(MAX_JITTER_SECONDS, interval / 100)


@dataclass(frozen=True, slots=True)
class PollJob:
    """What the scheduler needs to know of a device; a reload compares these."""

    device_id: str
    interval: float

    @property
    def job_id(self) -> str:
        return JOB_PREFIX + self.device_id

    def trigger(self, now: datetime) -> IntervalTrigger:
        """Fires at now + phase, then every interval."""
        first = now + timedelta(seconds=phase(self.device_id, self.interval))
        return IntervalTrigger(seconds=self.interval, start_date=first,
                               jitter=jitter(self.interval) or None, timezone=now.tzinfo)

    def job_options(self) -> dict[str, Any]:
        return {"id": self.job_id, "name": self.job_id, "max_instances": 1, "coalesce": True,
                "misfire_grace_time": max(1, int(self.interval)), "replace_existing": True}


def poll_jobs(devices: Iterable[Device], today: date) -> dict[str, PollJob]:
    """A job for every device that has poll settings and is not retired."""
    return {d.id: PollJob(d.id, d.poll.interval) for d in devices
            if d.poll is not None and not d.is_retired(today)}


@dataclass(frozen=True, slots=True)
class JobChanges:
    """What adopting a new set of jobs changes (`diff_jobs`)."""

    added: tuple[PollJob, ...]
    removed: tuple[str, ...]        # job ids
    rescheduled: tuple[PollJob, ...]


def diff_jobs(old: dict[str, PollJob], new: dict[str, PollJob]) -> JobChanges:
    """What a reload must change: devices added, removed, or with a new interval."""
    return JobChanges(
        added=tuple(job for key, job in new.items() if key not in old),
        removed=tuple(job.job_id for key, job in old.items() if key not in new),
        rescheduled=tuple(job for key, job in new.items()
                          if key in old and old[key].interval != job.interval))

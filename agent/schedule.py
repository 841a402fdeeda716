"""When each device is polled: at its own interval, at a fixed phase inside it.

Thousands of devices configured with the same `interval: 60s` must not all fire in the
same second. Each device gets a fixed phase inside its interval, derived from a hash of its
id, counted from when the device was added (the agent's start, a reload, a cluster
bucket taken): the spread is even and the same on every start, and a device is polled
at the same second of every minute, so its counter rates stay regular. A small random
jitter on top keeps devices whose phases collide from firing in lock-step.

`PollPlan` is one device's place in time on the loop's monotonic clock (agent/jobs.py keeps
them in a heap): never two runs at once (a run due while the last one still runs is
skipped, counted as an overlap), and runs missed during a stall coalesced into the one
that runs when the agent comes back, instead of piling up.
"""
from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from inventory.model import Device

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


class PollPlan:
    """One device's runs on the monotonic clock: `due` is when the next one starts (its
    slot plus jitter). Mutable and slotted: the scheduler moves it on after every run, and
    keeps one per device for as long as the device is polled. `next_run` is `due` on the
    wall clock, made by the scheduler when first asked and kept until `due` moves: the
    status asks for every device's every few seconds."""

    __slots__ = ("cancelled", "device_id", "due", "interval", "next_run", "slot")

    def __init__(self, job: PollJob, *, now: float) -> None:
        self.device_id = job.device_id
        self.interval = job.interval
        self.slot = now + phase(job.device_id, job.interval)
        self.due = self.slot + random.random() * jitter(job.interval)
        self.cancelled = False
        self.next_run: datetime | None = None

    def advance(self, mono_now: float) -> None:
        """Past this run: the next slot after `mono_now`, the missed ones in between
        coalesced (skipped), and a fresh jitter on it."""
        slot = self.slot + self.interval
        if slot <= mono_now:
            slot += (math.floor((mono_now - slot) / self.interval) + 1) * self.interval
        self.slot = slot
        self.due = slot + random.random() * jitter(self.interval)
        self.next_run = None


def poll_jobs(devices: Iterable[Device], today: date) -> dict[str, PollJob]:
    """A job for every device that has poll settings and is not retired."""
    return {d.id: PollJob(d.id, d.poll.interval) for d in devices
            if d.poll is not None and not d.is_retired(today)}


@dataclass(frozen=True, slots=True)
class JobChanges:
    """What adopting a new set of jobs changes (`diff_jobs`)."""

    added: tuple[PollJob, ...]
    removed: tuple[str, ...]        # device ids
    rescheduled: tuple[PollJob, ...]


def diff_jobs(old: dict[str, PollJob], new: dict[str, PollJob]) -> JobChanges:
    """What a reload must change: devices added, removed, or with a new interval."""
    return JobChanges(
        added=tuple(job for key, job in new.items() if key not in old),
        removed=tuple(key for key in old if key not in new),
        rescheduled=tuple(job for key, job in new.items()
                          if key in old and old[key].interval != job.interval))

"""Steps of the wall clock, seen from inside the agent.

The agent keeps many times on the wall clock (the alert engine's, the outbox's, the daily
job's), which can be stepped: an NTP step, a virtual machine restored from a snapshot, an
operator's `date -s`, a resume from suspend (the monotonic clock does not count the time
suspended). `ClockWatch.check()`, called between scheduler rounds, compares how far the
wall clock moved with how far the monotonic clock moved; a disagreement of more than
JUMP_THRESHOLD_SECONDS is a jump, reported once (agent/jobs.py moves those times and
re-plans its periodic jobs on it). NTP's slewing (at most 500 ppm) never comes near the
threshold between two rounds a second or so apart.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, tzinfo

from agent.status import ClockJumps

JUMP_THRESHOLD_SECONDS = 2.0


class ClockWatch:
    """Counts the wall clock's jumps; `wall` and `monotonic` are injectable (seconds)."""

    def __init__(self, zone: tzinfo, *, wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 threshold: float = JUMP_THRESHOLD_SECONDS) -> None:
        self._zone = zone
        self._wall = wall
        self._monotonic = monotonic
        self._threshold = threshold
        self._last = (wall(), monotonic())
        self._summary = ClockJumps()

    def check(self) -> float | None:
        """The jump since the last check in seconds (+ forward, - backward), or None."""
        wall, mono = self._wall(), self._monotonic()
        last_wall, last_mono = self._last
        self._last = (wall, mono)
        jump = (wall - last_wall) - (mono - last_mono)
        if abs(jump) <= self._threshold:
            return None
        self._summary = ClockJumps(count=self._summary.count + 1, last_seconds=round(jump, 3),
                                   last_at=datetime.fromtimestamp(wall, self._zone))
        return jump

    def summary(self) -> ClockJumps:
        return self._summary

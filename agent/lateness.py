"""Whether the agent is falling behind: how many of its polls started late lately.

The start lag's p50/p99 (agent/polling.py `StartLag`) describe the spread over the last
few thousand polls, however old. Falling behind is a matter of now: `Lateness` counts,
per second over the last WINDOW_SECONDS, the polls that started and those that started
more than LATE_AFTER_SECONDS after their scheduled time, and `summary()` gives the
`FallingBehind` record the status carries (agent/status.py), which /healthz and
`lifeline status` report. A loop that cannot keep up (a core taken by another process,
more devices than the machine can poll) shows here first: polls start later and later,
then answers are lost to timeouts.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from agent.status import FallingBehind

WINDOW_SECONDS = 60
# Later than this is late: the scheduler's jitter is already in the scheduled time, so
# a healthy agent starts nearly every poll within milliseconds (bench/RESULTS.md).
LATE_AFTER_SECONDS = 2.0


class _Second:
    __slots__ = ("late", "polls", "second", "worst")

    def __init__(self, second: int) -> None:
        self.second = second
        self.polls = 0
        self.late = 0
        self.worst = 0.0


class Lateness:
    """Polls started and polls started late, per second of the last `window` seconds.
    `clock` is monotonic seconds (injected by tests). Used on the loop thread."""

    def __init__(self, *, window: int = WINDOW_SECONDS, late_after: float = LATE_AFTER_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._late_after = late_after
        self._clock = clock
        self._seconds: deque[_Second] = deque()

    def add(self, lag: float) -> None:
        """A poll started `lag` seconds after its scheduled time."""
        now = int(self._clock())
        if not self._seconds or self._seconds[-1].second != now:
            self._seconds.append(_Second(now))
            self._forget(now)
        bucket = self._seconds[-1]
        bucket.polls += 1
        if lag > self._late_after:
            bucket.late += 1
            bucket.worst = max(bucket.worst, lag)

    def summary(self) -> FallingBehind:
        self._forget(int(self._clock()))
        late = sum(b.late for b in self._seconds)
        return FallingBehind(window=self._window, late_after=self._late_after,
                             polls=sum(b.polls for b in self._seconds), late=late,
                             worst=round(max(b.worst for b in self._seconds), 3) if late else None)

    def _forget(self, now: int) -> None:
        while self._seconds and self._seconds[0].second <= now - self._window:
            self._seconds.popleft()

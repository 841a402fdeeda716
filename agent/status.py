"""What the running agent knows about itself, and the file it keeps it in.

The agent refreshes `STATE_DIR/status.json` every few seconds and when it stops, written
whole (temporary file + rename) so a reader never sees half of it. `lifeline status` reads
that file from another process; the HTTP endpoint serves the same snapshot. One snapshot
format for both, so they cannot disagree.
"""
from __future__ import annotations

import json
import os
import statistics
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from collectors.base import PollResult

STATUS_FILE = "status.json"
LAG_WINDOW = 4096          # start-lag samples kept for the p50/p99 figures


@dataclass(slots=True)
class DeviceState:
    """The agent's running record of one device's polls (mutable: updated every poll)."""

    device_id: str
    protocol: str
    interval: float
    polls: int = 0
    failures: int = 0               # polls that got no answer
    consecutive_failures: int = 0
    overlaps: int = 0               # runs skipped because the previous poll still ran
    last_started: datetime | None = None
    last_result: str | None = None
    last_code: int | None = None
    last_duration: float | None = None
    last_error: str | None = None
    last_success: datetime | None = None
    next_run: datetime | None = None

    def record(self, result: PollResult) -> bool:
        """Take one poll's outcome; True when the device went up or down with it."""
        was_up = self.consecutive_failures == 0      # never polled counts as up
        self.polls += 1
        self.last_started = result.started
        self.last_result = result.code.label
        self.last_code = int(result.code)
        self.last_duration = result.duration
        self.last_error = result.error
        if result.reachable:
            self.consecutive_failures = 0
            self.last_success = result.started
        else:
            self.failures += 1
            self.consecutive_failures += 1
        return was_up != result.reachable

    def as_json(self) -> dict[str, Any]:
        # Field by field, not dataclasses.asdict: asdict deep-copies every value, which
        # made the 5-second snapshot of 2,000 devices cost 10 % of a core.
        return {name: (value.isoformat() if isinstance(value, datetime) else value)
                for name in self.__slots__ for value in (getattr(self, name),)}


@dataclass(slots=True)
class StartLag:
    """How late polls start against their schedule: the measure of the spread."""

    samples: deque[float] = field(default_factory=lambda: deque(maxlen=LAG_WINDOW))

    def add(self, seconds: float) -> None:
        self.samples.append(max(0.0, seconds))

    def summary(self) -> dict[str, float | int | None]:
        values = sorted(self.samples)
        if not values:
            return {"count": 0, "p50": None, "p99": None, "max": None}
        return {"count": len(values), "p50": round(statistics.median(values), 6),
                "p99": round(values[min(len(values) - 1, int(len(values) * 0.99))], 6),
                "max": round(values[-1], 6)}


def write_status(state_dir: Path, snapshot: dict[str, Any]) -> None:
    """Replace the status file atomically."""
    state_dir.mkdir(parents=True, exist_ok=True)
    final = state_dir / STATUS_FILE
    temporary = state_dir / f".{STATUS_FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(snapshot, ensure_ascii=False, default=str),
                         encoding="utf-8")
    temporary.replace(final)


def read_status(state_dir: Path) -> dict[str, Any] | None:
    """The last snapshot written, or None when no agent ever ran with this state_dir."""
    try:
        return json.loads((state_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # alive, owned by someone else
        return True
    return True

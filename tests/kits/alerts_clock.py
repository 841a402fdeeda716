"""The clock injected into the alert tests: time moves only when a test says so."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=SEOUL)


class FakeClock:
    """Timezone-aware now, as the alerts package's `Clock`; tests move it, nothing sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or MONDAY_NOON

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when

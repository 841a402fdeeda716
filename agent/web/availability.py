"""Availability said honestly: over the time the agent has actually watched, never more
than AVAILABILITY_DAYS. "99.9 % over the 5 minutes watched" rather than a 30-day figure
of which 29 days were never seen. The watch is known to reach back to the earlier of
this agent's start and the oldest outage on record (someone was watching then)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.evaluation.store import Outage

AVAILABILITY_DAYS = 30


@dataclass(frozen=True, slots=True)
class Availability:
    percent: float
    since: datetime             # the start of the window watched
    seconds: float              # its length
    down_seconds: float


def watched_since(now: datetime, started: datetime | None,
                  outages: Sequence[Outage]) -> datetime:
    earliest = [t for t in (started,) if t is not None]
    earliest += [datetime.fromtimestamp(o.started, now.tzinfo) for o in outages]
    floor = now - timedelta(days=AVAILABILITY_DAYS)
    return max(floor, min(earliest, default=now))


def availability(outages: Sequence[Outage], since: datetime, now: datetime) -> Availability:
    start, end = since.timestamp(), now.timestamp()
    down = sum((max(0.0, min(o.ended or end, end) - max(o.started, start)) for o in outages),
               0.0)
    length = max(end - start, 1.0)
    return Availability(percent=100.0 * (1 - down / length), since=since, seconds=length,
                        down_seconds=down)


def watched_text(value: Availability, lang: str) -> str:
    """'99.9 % over the 5 minutes watched (since 10:42)', in `lang`."""
    minutes = value.seconds / 60
    if minutes < 120:
        amount, unit_en, unit_ko = round(minutes), "minutes", "분"
    elif minutes < 48 * 60:
        amount, unit_en, unit_ko = round(minutes / 60), "hours", "시간"
    else:
        amount, unit_en, unit_ko = round(minutes / 1440), "days", "일"
    since = value.since.strftime("%m-%d %H:%M")
    if lang == "ko":
        return f"감시한 {amount}{unit_ko} 동안 {value.percent:.3f}% ({since}부터)"
    return f"{value.percent:.3f}% over the {amount} {unit_en} watched (since {since})"

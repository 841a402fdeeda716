"""Opening hours of a site, as written in the inventory.

Grammar (clauses separated by ';' or ','):

    24h                         always open
    daily 10:00-24:00           every day
    Mon-Fri 09:00-18:00         a day range
    Sat,Sun 10:00-14:00         a day list
    daily 22:00-06:00           an overnight span: opens 22:00, closes 06:00 the next day
    Mon-Fri 09:00-18:00; Sat 09:00-13:00

A clause's day names say on which day the span *opens*; an overnight span runs into the
next morning. 24:00 means midnight at the end of the day. Times are local to the agent's
timezone (Asia/Seoul by default); `is_open` takes an aware datetime and converts it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLAUSE = re.compile(
    r"^(?P<days>daily|[a-z]{3}(?:-[a-z]{3})?(?:,[a-z]{3}(?:-[a-z]{3})?)*)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")


class HoursError(ValueError):
    """An opening-hours expression that cannot be understood; the message says why."""


@dataclass(frozen=True, slots=True)
class Span:
    """Open on `weekday` (0 = Monday) from `start` minutes after midnight for `length`."""

    weekday: int
    start: int
    length: int


@dataclass(frozen=True, slots=True)
class OperatingHours:
    text: str
    spans: tuple[Span, ...]
    always: bool = False

    @classmethod
    def parse(cls, text: str) -> OperatingHours:
        cleaned = " ".join(text.strip().lower().split())
        if cleaned in ("24h", "24/7", "always", "00:00-24:00", "daily 00:00-24:00"):
            return cls(text, (), always=True)
        spans: list[Span] = []
        for clause in filter(None, (c.strip() for c in re.split(r";", cleaned))):
            spans.extend(_parse_clause(clause))
        if not spans:
            raise HoursError(f"no opening hours in {text!r}")
        return cls(text, tuple(spans))

    def is_open(self, moment: datetime, zone: ZoneInfo) -> bool:
        """Whether the site is open at `moment` (an aware datetime)."""
        if self.always:
            return True
        local = moment.astimezone(zone)
        minute_of_week = local.weekday() * 1440 + local.hour * 60 + local.minute
        week = 7 * 1440
        for span in self.spans:
            opened = span.weekday * 1440 + span.start
            if (minute_of_week - opened) % week < span.length:
                return True
        return False

    def next_opening(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """The next time the site opens after `moment` (None if always open)."""
        if self.always:
            return None
        local = moment.astimezone(zone).replace(second=0, microsecond=0)
        best: datetime | None = None
        for days_ahead in range(0, 8):
            day = (local + timedelta(days=days_ahead)).date()
            for span in self.spans:
                if span.weekday != day.weekday():
                    continue
                opens = datetime.combine(day, time(span.start // 60, span.start % 60), zone)
                if opens > moment and (best is None or opens < best):
                    best = opens
        return best


def _parse_clause(clause: str) -> list[Span]:
    clause = re.sub(r"\s*,\s*", ",", clause)
    clause = re.sub(r"([a-z]{3})\s*-\s*([a-z]{3})", r"\1-\2", clause)
    match = _CLAUSE.match(clause)
    if not match:
        raise HoursError(
            f"cannot read {clause!r}: write e.g. 'Mon-Fri 09:00-18:00', 'daily 10:00-24:00' "
            "or '24h'")
    start, end = _minutes(match["start"]), _minutes(match["end"])
    if start == 1440:
        raise HoursError(f"{clause!r}: a span cannot open at 24:00")
    if start == end:
        raise HoursError(f"{clause!r}: opens and closes at the same time (write '24h')")
    length = end - start if end > start else 1440 - start + end
    return [Span(day, start, length) for day in _days(match["days"], clause)]


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise HoursError(f"not a time of day: {text!r}")
    return hours * 60 + minutes


def _days(text: str, clause: str) -> list[int]:
    if text == "daily":
        return list(range(7))
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        for name in (first, last or first):
            if name not in DAYS:
                raise HoursError(f"{clause!r}: unknown day {name!r} (use Mon..Sun or daily)")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return sorted(set(days))

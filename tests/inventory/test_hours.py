"""Opening hours: kiosks are only 'down' while their site is open."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from inventory.hours import HoursError, OperatingHours

SEOUL = ZoneInfo("Asia/Seoul")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL)


@pytest.mark.parametrize("hours,moment,is_open", [
    ("daily 10:00-22:00", "2026-11-23 23:00", False),      # a Monday night
    ("daily 10:00-22:00", "2026-11-23 11:00", True),
    ("daily 10:00-22:00", "2026-11-23 22:00", False),      # closing minute is closed
    ("daily 10:00-22:00", "2026-11-23 10:00", True),
    ("daily 10:00-24:00", "2026-11-23 23:59", True),
    ("daily 10:00-24:00", "2026-11-24 00:00", False),
    ("Mon-Fri 09:00-18:00", "2026-11-21 12:00", False),    # Saturday
    ("Mon-Fri 09:00-18:00", "2026-11-20 12:00", True),     # Friday
    ("daily 22:00-06:00", "2026-11-24 03:00", True),       # overnight
    ("daily 22:00-06:00", "2026-11-24 07:00", False),
    ("Fri 22:00-02:00", "2026-11-21 01:00", True),         # Friday's span runs into Saturday
    ("Fri 22:00-02:00", "2026-11-22 01:00", False),
    ("Mon-Fri 09:00-16:00; Sat 09:00-13:00", "2026-11-21 10:00", True),
    ("Sat,Sun 10:00-14:00", "2026-11-22 13:59", True),
    ("24h", "2026-11-22 03:00", True),
])
def test_is_open(hours: str, moment: str, is_open: bool) -> None:
    assert OperatingHours.parse(hours).is_open(at(moment), SEOUL) is is_open


def test_times_in_other_zones_are_converted() -> None:
    hours = OperatingHours.parse("daily 10:00-22:00")
    utc_0200 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)   # 11:00 in Seoul
    assert hours.is_open(utc_0200, SEOUL)


def test_next_opening() -> None:
    hours = OperatingHours.parse("Mon-Fri 09:00-18:00")
    assert hours.next_opening(at("2026-11-21 12:00"), SEOUL) == at("2026-11-23 09:00")
    assert hours.next_opening(at("2026-11-23 08:59"), SEOUL) == at("2026-11-23 09:00")
    assert OperatingHours.parse("24h").next_opening(at("2026-11-23 08:59"), SEOUL) is None


@pytest.mark.parametrize("text", ["", "Mon-Fry 09:00-18:00", "daily 25:00-26:00",
                                  "daily 09:00-09:00", "weekdays 9-5", "daily 09:60-10:00",
                                  "daily 24:00-06:00"])
def test_bad_expressions_say_why(text: str) -> None:
    with pytest.raises(HoursError):
        OperatingHours.parse(text)

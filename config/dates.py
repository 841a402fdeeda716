"""The window of dates Lifeline accepts wherever a person writes one.

Acquisition, support, contract, lease and retirement dates in the configuration, dates in
an imported sheet and `lifeline inventory --as-of` must fall in EARLIEST..LATEST. No asset
of a district office was bought before 1950, and no announced end lies after 2100; a date
outside is a typo or a placeholder such as 9999-12-31 ("no end"), and taking it would
push every later calculation (end of life = acquired + years, horizons in months) past
the last year Python's dates can hold. The bounds are fixed rather than relative to
today, so a configuration that is valid today stays valid tomorrow.
"""
from __future__ import annotations

from datetime import date

from config.messages import Message, said

EARLIEST = date(1950, 1, 1)
LATEST = date(2100, 12, 31)
WINDOW = f"{EARLIEST.isoformat()} to {LATEST.isoformat()}"


def in_window(value: date) -> bool:
    return EARLIEST <= value <= LATEST


def out_of_window(value: date, *, written: bool = True) -> Message:
    """Why `value` is refused; for a date `written` in a file or sheet, with the hint for a
    placeholder such as 9999-12-31."""
    return said("date_out_of_range" if written else "date_out_of_window",
                date=value.isoformat(), earliest=EARLIEST.isoformat(),
                latest=LATEST.isoformat())


def outside_window(value: date, *, written: bool = True) -> str:
    """`out_of_window` in English."""
    return out_of_window(value, written=written).render("en")

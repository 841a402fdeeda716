"""Durations as people write them in config and on the command line: 500ms, 60s, 5m, 2h, 1d."""
from __future__ import annotations

import re

from config.messages import said

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")

# No interval, timeout, silence or look-back Lifeline takes is longer than ten years; a
# longer one is a typo, and would carry a time past the last date Python can hold.
MAX_DURATION_DAYS = 3650
MAX_DURATION = MAX_DURATION_DAYS * 86400.0


class DurationTooLongError(ValueError):
    """A well-formed duration longer than MAX_DURATION; the message says so (`said`: the
    same as data, for English or Korean)."""

    def __init__(self, text: str | int | float) -> None:
        self.said = said("duration_too_long", value=_shown(text), days=str(MAX_DURATION_DAYS))
        super().__init__(self.said.render("en"))


def parse_duration(text: str | int | float) -> float:
    """Seconds in `text`. A bare number is seconds; parts may be combined ("1h30m").

    Raises ValueError with the offending text for anything else, including negatives, and
    DurationTooLongError (a ValueError) past MAX_DURATION.
    """
    return _bounded(text, _seconds(text))


def _bounded(text: str | int | float, seconds: float) -> float:
    if seconds > MAX_DURATION:      # also inf, from a number of 400 digits
        raise DurationTooLongError(text)
    return seconds


def _shown(text: str | int | float) -> str:
    """`text` for a message, cut short: it may be a line of garbage, or an int too big for
    Python to print."""
    if isinstance(text, int) and text.bit_length() > 64:
        return "a number of 20 digits or more"
    shown = repr(text)
    return shown if len(shown) <= 40 else shown[:36] + "...'"


def _seconds(text: str | int | float) -> float:
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        if not text >= 0:       # negative, or NaN
            raise ValueError(f"not a duration (negative): {_shown(text)}")
        return float(min(text, MAX_DURATION + 1))   # an int of 400 digits has no float
    cleaned = text.strip().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        return float(cleaned)
    pos, total = 0, 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(cleaned) or not cleaned:
        raise ValueError(f"not a duration: {_shown(text)} (use e.g. 30s, 5m, 2h, 1d)")
    return total


def format_duration(seconds: float) -> str:
    """The shortest exact form: 90 -> '1m30s', 0.5 -> '500ms'."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    rest = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"

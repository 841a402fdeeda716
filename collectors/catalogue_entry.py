"""What a collector declares for the metric catalogue: one `Entry` per field it can emit,
and the tags each measurement carries besides the common ones.

Each collector imports this module to declare its part; `collectors.catalogue` imports
the collectors to merge those parts into `collectors/metrics.csv`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from collectors.base import POLL_MEASUREMENT

ANY_FIELD = "*"     # a measurement whose numeric fields come from the device (kiosk JSON)

# measurement -> the tags it carries besides the common ones
MeasurementTags = dict[str, list[str]]


@dataclass(frozen=True, slots=True, order=True)
class Entry:
    """One row of the catalogue: a field of a measurement, with its meaning."""

    measurement: str
    field: str
    type: str           # counter | gauge | enum
    unit: str
    description: str


POLL_ENTRIES = (
    Entry(POLL_MEASUREMENT, "up", "gauge", "boolean",
          "1 when the device answered at all (success, auth failure, no such object, "
          "bad response, partial), 0 on timeout, config or connection error"),
    Entry(POLL_MEASUREMENT, "duration_seconds", "gauge", "seconds", "wall time of the poll"),
    Entry(POLL_MEASUREMENT, "result_code", "enum", "",
          "0 success, 1 timeout, 2 auth_failure, 3 no_such_object, 4 bad_response, "
          "5 partial, 6 config_error, 7 connection_error"),
)


def add_tags(tags: MeasurementTags, measurement: str, names: Iterable[str]) -> None:
    """Add `names` to the measurement's tags, each once, keeping the first order seen."""
    known = tags.setdefault(measurement, [])
    for name in names:
        if name not in known:
            known.append(name)

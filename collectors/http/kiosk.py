"""The kiosk health profile: a flat-ish health JSON turned into one `kiosk` point.

`{"printer": {"paper": "ok", "paper_level": 80}, "card_reader_ok": true,
  "last_issuance": "2026-11-22T09:10:00+09:00"}` becomes tags `printer_paper=ok` and fields
`printer_paper_level=80`, `card_reader_ok=1`, `last_issuance_age_seconds=...`. Bounded:
nesting, field and tag counts and tag length are capped, so a device cannot flood the
store with series.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, tzinfo
from typing import TypeVar

from collectors.base import FieldValue, JsonValue, Sample
from collectors.http.catalogue import KIOSK_MEASUREMENT

MAX_DEPTH = 3
MAX_FIELDS = 64
MAX_TAGS = 16
MAX_TAG_LENGTH = 64
_NAME = re.compile(r"[^A-Za-z0-9_]")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_Value = TypeVar("_Value")


def kiosk_sample(document: JsonValue, tags: Mapping[str, str], at: datetime,
                 zone: tzinfo | None = None) -> Sample | None:
    """The `kiosk` point of a health JSON object, or None when it holds no numbers.
    Times written without an offset are read in `zone` (the agent's timezone)."""
    if not isinstance(document, dict):
        return None
    fields: dict[str, FieldValue] = {}
    extra: dict[str, str] = {}
    for name, value in _flatten(document, "", 1):
        if isinstance(value, bool):
            _put(fields, name, int(value), MAX_FIELDS)
        elif isinstance(value, (int, float)):
            _put(fields, name, value, MAX_FIELDS)
        elif isinstance(value, str) and _ISO_TIME.match(value):
            age = _age(value, at, zone)
            if age is not None:
                _put(fields, f"{name}_age_seconds", age, MAX_FIELDS)
        elif isinstance(value, str) and value and len(value) <= MAX_TAG_LENGTH \
                and name not in tags:
            _put(extra, name, value, MAX_TAGS)
    if not fields:
        return None
    return Sample(KIOSK_MEASUREMENT, {**tags, **extra}, fields, at)


def _flatten(node: Mapping[str, JsonValue], prefix: str, depth: int
             ) -> Iterator[tuple[str, JsonValue]]:
    for key, value in node.items():
        name = prefix + _NAME.sub("_", str(key))
        if isinstance(value, dict):
            if depth < MAX_DEPTH:
                yield from _flatten(value, name + "_", depth + 1)
        elif not isinstance(value, list):
            yield name, value


def _put(target: dict[str, _Value], name: str, value: _Value, limit: int) -> None:
    if len(target) < limit:
        target[name] = value


def _age(text: str, at: datetime, zone: tzinfo | None) -> float | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        if zone is None:
            return None
        when = when.replace(tzinfo=zone)
    return round((at - when).total_seconds(), 3)

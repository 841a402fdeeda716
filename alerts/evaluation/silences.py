"""Silence matchers: `label=value`, `label!=value`, `label=~regex`, `label!~regex`.

A silence matches an alert when every matcher matches the alert's labels (device_id,
device_name, category, site, severity, kind, rule, instance, criticality). A label the
alert lacks has the value "". Regular expressions must match the whole value.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from alerts.evaluation.store import SilenceRecord

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Matcher:
    label: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.op in ("=~", "!~"):
            found = _regex(self.value).fullmatch(actual) is not None
        else:
            found = actual == self.value
        return found if self.op in ("=", "=~") else not found


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=1024)
def parse_matcher(text: str) -> Matcher:
    """One matcher; ValueError with a message naming the text when it is malformed."""
    match = _MATCHER.match(text)
    if match is None:
        raise ValueError(f"not a matcher: {text!r} (write label=value, label!=value, "
                         "label=~regex or label!~regex)")
    label, op, value = match.groups()
    if op in ("=~", "!~"):
        try:
            _regex(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression in {text!r}: {exc}") from None
    return Matcher(label, op, value)


def silencing(silences: Iterable[SilenceRecord], labels: Mapping[str, str]
              ) -> SilenceRecord | None:
    """The first silence whose matchers all match `labels`, if any."""
    for silence in silences:
        if all(parse_matcher(m).matches(labels) for m in silence.matchers):
            return silence
    return None

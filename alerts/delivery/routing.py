"""Which channels hear about an alert, and which group it joins there.

Routes are tried in config order. A route matches when every one of its matchers matches
the alert's labels (see `alert_labels`); a route with no matchers matches everything. The
first matching route wins unless it says `continue: true`, in which case later routes are
tried as well. A channel reached by two matching routes gets the notification once, in
the group of the first route. With no routes configured at all, every channel gets every
notification (a small setup with one log channel needs no routes).

Matcher values:
  `critical`            equal
  `critical|warning`    any of the alternatives
  `!info`               not equal (alternatives allowed: `!info|warning`)
  `~sw-.*`              the whole value matches the regular expression
A label the alert lacks has the value "" (so `!x` matches it, `x` does not).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from alerts.model import Alert
from config.model import RouteSpec


@dataclass(frozen=True, slots=True)
class Destination:
    """One channel an alert goes to, and the group it is batched with there."""

    channel: str
    group_key: str                     # "kind=outage,site=hall": stable, sortable
    group_labels: Mapping[str, str]


def alert_labels(alert: Alert) -> dict[str, str]:
    """Every label an alert can be routed or grouped on: its `labels`, then the record's
    own fields, which win (severity, kind, rule, device_id, instance when set)."""
    labels = dict(alert.labels)
    labels.update(severity=alert.severity.value, kind=alert.kind, rule=alert.rule,
                  device_id=alert.device_id)
    if alert.instance:
        labels["instance"] = alert.instance
    return labels


@lru_cache(maxsize=1024)
def _matcher(pattern: str) -> tuple[bool, re.Pattern[str] | frozenset[str]]:
    """(negated, test) for one matcher value; cached, as routes are few and alerts many."""
    negated = pattern.startswith("!")
    body = pattern[1:] if negated else pattern
    if body.startswith("~"):
        return negated, re.compile(body[1:])
    return negated, frozenset(body.split("|"))


def value_matches(pattern: str, value: str) -> bool:
    negated, test = _matcher(pattern)
    hit = value in test if isinstance(test, frozenset) else test.fullmatch(value) is not None
    return hit != negated


def route_matches(route: RouteSpec, labels: Mapping[str, str]) -> bool:
    return all(value_matches(pattern, labels.get(name, "")) for name, pattern in route.match)


def group_of(group_by: Sequence[str], labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The group key and labels: the values of `group_by` (a missing label is "")."""
    chosen = {name: labels.get(name, "") for name in group_by}
    return ",".join(f"{name}={value}" for name, value in chosen.items()), chosen


def route(alert: Alert, routes: Sequence[RouteSpec],
          channels: Sequence[str]) -> list[Destination]:
    """Where `alert` goes: one Destination per channel, in route then channel order.
    `channels` are the configured channel names (used when no routes are configured)."""
    labels = alert_labels(alert)
    if not routes:
        key, group = group_of(RouteSpec(match=(), channels=()).group_by, labels)
        return [Destination(name, key, group) for name in channels]
    found: dict[str, Destination] = {}
    for spec in routes:
        if not route_matches(spec, labels):
            continue
        key, group = group_of(spec.group_by, labels)
        for name in spec.channels:
            found.setdefault(name, Destination(name, key, group))
        if not spec.continue_matching:
            break
    return list(found.values())

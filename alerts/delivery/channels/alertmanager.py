"""Prometheus Alertmanager channel: `POST /api/v2/alerts`.

Alertmanager forgets an alert whose `endsAt` has passed, so a firing alert is posted with
`endsAt` a few refresh intervals ahead (as Prometheus does) and re-posted every
`refresh_interval` by the outbox (`refresh`). If Lifeline stops, its alerts resolve in
Alertmanager by themselves after that horizon instead of firing for ever. A recovery is
posted with `endsAt` = when it ended.

Every alert carries the rule's `description` (render.description), the device's
`location` and `address` when the inventory has them, and `generatorURL` when the channel
has one (`generator_url`, by default the agent's own endpoint when `http_listen` is set).
Alertmanager groups and waits by itself, so this channel's own `group_wait` and
`group_interval` default to 0 (config.model.AlertmanagerSettings).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.delivery import render
from alerts.delivery.channels._common import post_json
from alerts.delivery.routing import alert_labels
from alerts.model import Alert, Notification

# Alertmanager 0.25 accepts only classic Prometheus label names.
_BAD_LABEL_CHARS = re.compile(r"[^A-Za-z0-9_]")
ENDS_AFTER_REFRESHES = 4


def label_name(name: str) -> str:
    clean = _BAD_LABEL_CHARS.sub("_", name)
    return clean if clean and not clean[0].isdigit() else f"_{clean}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertmanagerChannel:
    name: str
    url: str                                    # http://host:9093 (the API path is added)
    timeout: float = 10.0
    lang: render.Lang = "ko"
    clock: Callable[[], datetime]
    refresh_interval: float = 60.0
    headers: tuple[tuple[str, str], ...] = ()
    ca_file: str | None = None
    generator_url: str | None = None
    places: Mapping[str, render.Place] = field(default_factory=dict)   # by device id

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/api/v2/alerts"

    def send(self, notifications: Sequence[Notification], group: Mapping[str, str]) -> None:
        now = self.clock()
        body = [self.posted(n.alert, resolved=n.event == "resolved", now=now)
                for n in notifications]
        post_json(self.endpoint, body, headers=dict(self.headers), timeout=self.timeout,
                  ca_file=self.ca_file)

    def refresh(self, alerts: Sequence[Alert]) -> None:
        """Re-post still-firing alerts so Alertmanager keeps them active."""
        if alerts:
            now = self.clock()
            post_json(self.endpoint, [self.posted(a, resolved=False, now=now) for a in alerts],
                      headers=dict(self.headers), timeout=self.timeout, ca_file=self.ca_file)

    def posted(self, alert: Alert, *, resolved: bool, now: datetime) -> dict[str, Any]:
        labels = {label_name(k): v for k, v in alert_labels(alert).items() if v}
        labels["alertname"] = alert.rule
        annotations = {"summary": render.summary(alert, self.lang)}
        if text := render.description(alert, self.lang):
            annotations["description"] = text
        place = render.place_of(alert, self.places)
        annotations.update({k: v for k, v in (("location", place.location),
                                              ("address", place.address)) if v})
        if alert.suppressed:
            annotations["suppressed"] = ", ".join(alert.suppressed)
        if alert.value is not None:
            annotations["value"] = f"{alert.value:g}"
        if resolved:
            ends = alert.ends_at or now
        else:
            ends = now + timedelta(seconds=ENDS_AFTER_REFRESHES * self.refresh_interval)
        posted: dict[str, Any] = {"labels": labels, "annotations": annotations,
                                  "startsAt": _utc(alert.starts_at), "endsAt": _utc(ends)}
        if self.generator_url:
            posted["generatorURL"] = self.generator_url
        return posted

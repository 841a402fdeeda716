"""Log channel: one structured line per notification on the "lifeline.alerts" logger.

The line is `alert EVENT key=value ...` with values JSON-quoted where needed, so it reads
well in a terminal and parses with one regular expression; the same fields ride along as
`extra={"alert": {...}}` for a JSON log formatter.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alerts.delivery import render
from alerts.model import Notification

LOGGER = logging.getLogger("lifeline.alerts")


def _value(text: str) -> str:
    plain = text and all(c.isalnum() or c in "-_.:/@+," for c in text)
    return text if plain else json.dumps(text, ensure_ascii=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogChannel:
    name: str
    lang: render.Lang = "en"
    logger: logging.Logger = LOGGER

    def fields(self, notification: Notification, group: Mapping[str, str]) -> dict[str, str]:
        alert = notification.alert
        fields = {"event": notification.event, "rule": alert.rule,
                  "severity": alert.severity.value, "device": alert.device_id,
                  "instance": alert.instance, "fingerprint": alert.fingerprint,
                  "id": notification.id, "channel": self.name,
                  "group": ",".join(f"{k}={v}" for k, v in group.items()),
                  "starts_at": alert.starts_at.isoformat(),
                  "ends_at": alert.ends_at.isoformat() if alert.ends_at else "",
                  "suppressed": str(len(alert.suppressed)) if alert.suppressed else "",
                  "flapping": "true" if alert.flapping else "",
                  "summary": render.summary(alert, self.lang)}
        return {k: v for k, v in fields.items() if v}

    def send(self, notifications: Sequence[Notification], group: Mapping[str, str]) -> None:
        for notification in notifications:
            fields = self.fields(notification, group)
            critical = notification.alert.severity.value == "critical"
            level = logging.WARNING if critical and notification.event != "resolved" \
                else logging.INFO
            text = " ".join(f"{k}={_value(v)}" for k, v in fields.items() if k != "event")
            self.logger.log(level, "alert %s %s", notification.event, text,
                            extra={"alert": fields})

"""Notifications as JSON text, so the outbox can keep them in SQLite across restarts."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from alerts.model import Alert, Notification, Severity


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint, "rule": alert.rule, "kind": alert.kind,
        "severity": alert.severity.value, "device_id": alert.device_id,
        "instance": alert.instance, "labels": dict(alert.labels),
        "summary": alert.summary, "summary_ko": alert.summary_ko,
        "description": alert.description, "description_ko": alert.description_ko,
        "starts_at": _time(alert.starts_at), "ends_at": _time(alert.ends_at),
        "flapping": alert.flapping, "suppressed": list(alert.suppressed), "value": alert.value,
    }


def alert_from_dict(data: dict[str, Any]) -> Alert:
    fields = dict(data)
    fields["severity"] = Severity(fields["severity"])
    fields["starts_at"] = _parse_time(fields["starts_at"])
    fields["ends_at"] = _parse_time(fields["ends_at"])
    fields["suppressed"] = tuple(fields["suppressed"])
    return Alert(**fields)


def dumps(notification: Notification) -> str:
    return json.dumps({"id": notification.id, "event": notification.event,
                       "created": notification.created.isoformat(),
                       "alert": alert_to_dict(notification.alert)},
                      ensure_ascii=False, sort_keys=True)


def loads(text: str) -> Notification:
    data = json.loads(text)
    return Notification(id=data["id"], event=data["event"],
                        created=datetime.fromisoformat(data["created"]),
                        alert=alert_from_dict(data["alert"]))

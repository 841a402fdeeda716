"""Builders shared by the delivery tests (routing, outbox, channels): alerts,
notifications, an injected clock, and a config loaded through the real loader."""
from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.delivery.outbox import Outbox
from alerts.model import Alert, Notification, Severity
from inventory.load import load_config
from inventory.model import Config

from kits.alerts_clock import SEOUL

T0 = datetime(2024, 5, 2, 9, 0, tzinfo=SEOUL)


def make_alert(device_id: str = "bb-sw-1", **overrides: Any) -> Alert:
    labels = {"device_id": device_id, "device_name": f"{device_id} name",
              "category": "backbone_switch", "site": "district-hall", "criticality": "critical"}
    labels.update(overrides.pop("labels", {}))
    fields: dict[str, Any] = {
        "fingerprint": f"fp-{overrides.get('rule', 'device_down')}-{device_id}",
        "rule": "device_down", "kind": "outage", "severity": Severity.CRITICAL,
        "device_id": device_id, "labels": labels, "summary": f"{device_id} is unreachable",
        "summary_ko": f"{device_id} 응답 없음", "description": "3 polls unanswered",
        "description_ko": "3회 연속 무응답", "starts_at": T0}
    fields.update(overrides)
    return Alert(**fields)


def make_notification(event: str = "firing", device_id: str = "bb-sw-1", seq: int = 1,
                      **overrides: Any) -> Notification:
    if event == "resolved":     # as the engine makes them: a recovery carries no description
        overrides = {"description": "", "description_ko": "", **overrides}
    alert = make_alert(device_id, **overrides)
    if event == "resolved" and alert.ends_at is None:
        alert = make_alert(device_id, ends_at=T0 + timedelta(minutes=12), **overrides)
    return Notification(id=f"{alert.fingerprint}:{event}:{seq}", event=event,  # type: ignore[arg-type]
                        alert=alert, created=T0)


def load(tmp: Path, alerts_yaml: str) -> Config:
    """A config with only an `alerts:` section (given as YAML, dedented)."""
    path = tmp / "lifeline.yaml"
    path.write_text("agent: {name: test, state_dir: " + str(tmp / "var") + "}\n"
                    + textwrap.dedent(alerts_yaml), encoding="utf-8")
    return load_config(path)


def enqueue(outbox: Outbox, notifications: Sequence[Notification]) -> None:
    """As the engine does: inside its own transaction on its own connection."""
    conn = sqlite3.connect(outbox.db_path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        outbox.enqueue(conn, notifications)
        conn.execute("COMMIT")
    finally:
        conn.close()

"""The alert channels: webhook (json, slack, teams), email, Alertmanager and the log.

`build_channels(config)` turns the configured `alerts.channels` into objects that satisfy
`alerts.model.Channel`; the registry below is the whole list, nothing registers itself.
Building does no I/O and reads no secret: secrets are read at each send, so a rotated
token or password file is picked up without a restart.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from alerts.channels.alertmanager import AlertmanagerChannel
from alerts.channels.email import EmailChannel
from alerts.channels.log import LogChannel
from alerts.channels.webhook import WebhookChannel
from alerts.model import Channel
from inventory.model import Config

Clock = Callable[[], datetime]


def _webhook(name: str, o: dict[str, Any], zone: ZoneInfo, clock: Clock) -> Channel:
    return WebhookChannel(name=name, url=o["url"], format=o.get("format", "json"),
                          headers=_pairs(o.get("headers", ())), token=o.get("token"),
                          timeout=o.get("timeout", 10.0), lang=o.get("lang", "ko"),
                          zone=zone, ca_file=o.get("ca_file"))


def _email(name: str, o: dict[str, Any], zone: ZoneInfo, clock: Clock) -> Channel:
    return EmailChannel(name=name, smtp=o["smtp"], sender=o["from"], to=tuple(o["to"]),
                        starttls=o.get("starttls", False), username=o.get("username"),
                        password=o.get("password"), timeout=o.get("timeout", 10.0),
                        lang=o.get("lang", "ko"), zone=zone, clock=clock,
                        ca_file=o.get("ca_file"))


def _alertmanager(name: str, o: dict[str, Any], zone: ZoneInfo, clock: Clock) -> Channel:
    return AlertmanagerChannel(name=name, url=o["url"], timeout=o.get("timeout", 10.0),
                               lang=o.get("lang", "ko"), clock=clock,
                               refresh_interval=o.get("refresh_interval", 60.0),
                               headers=_pairs(o.get("headers", ())), ca_file=o.get("ca_file"))


def _log(name: str, o: dict[str, Any], zone: ZoneInfo, clock: Clock) -> Channel:
    return LogChannel(name=name, lang=o.get("lang", "en"))


BUILDERS: Mapping[str, Callable[[str, dict[str, Any], ZoneInfo, Clock], Channel]] = {
    "webhook": _webhook, "email": _email, "alertmanager": _alertmanager, "log": _log,
}


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), str(v)) for k, v in items)


def build_channels(config: Config, clock: Clock | None = None) -> dict[str, Channel]:
    """Every configured channel by name. `clock` (timezone-aware now) defaults to the wall
    clock in the agent's timezone; tests pass their own."""
    zone = ZoneInfo(config.agent.timezone)
    now: Clock = clock or (lambda: datetime.now(zone))
    return {spec.name: BUILDERS[spec.type](spec.name, dict(spec.options), zone, now)
            for spec in config.alerts.channels}

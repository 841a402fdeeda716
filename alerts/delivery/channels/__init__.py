"""The alert channels: webhook (json, slack, teams), email, Alertmanager and the log.

`build_channels(config)` turns the configured `alerts.channels` into objects that satisfy
`alerts.model.Channel`; the registry below is the whole list, nothing registers itself.
Building does no I/O and reads no secret: secrets are read at each send, so a rotated
token or password file is picked up without a restart.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.delivery import render
from alerts.delivery.channels.alertmanager import AlertmanagerChannel
from alerts.delivery.channels.email import EmailChannel
from alerts.delivery.channels.log import LogChannel
from alerts.delivery.channels.webhook import WebhookChannel
from alerts.model import Channel, Clock
from config.model import (
    AlertmanagerSettings,
    ChannelSettings,
    EmailSettings,
    LogSettings,
    WebhookSettings,
)
from inventory.model import Config


def build_channel(settings: ChannelSettings, zone: ZoneInfo, clock: Clock,
                  places: Mapping[str, render.Place] | None = None) -> Channel:
    """The channel its settings describe (one branch per `type:`, the whole list).
    `places`: where each device is (by id), for the messages."""
    places = places or {}
    if isinstance(settings, WebhookSettings):
        return WebhookChannel(name=settings.name, url=settings.url, format=settings.format,
                              headers=settings.headers, token=settings.token,
                              timeout=settings.timeout, lang=settings.lang, zone=zone,
                              ca_file=settings.ca_file, places=places)
    if isinstance(settings, EmailSettings):
        return EmailChannel(name=settings.name, smtp=settings.smtp, sender=settings.sender,
                            to=settings.to, starttls=settings.starttls,
                            username=settings.username, password=settings.password,
                            timeout=settings.timeout, lang=settings.lang, zone=zone,
                            clock=clock, ca_file=settings.ca_file, places=places)
    if isinstance(settings, AlertmanagerSettings):
        return AlertmanagerChannel(name=settings.name, url=settings.url,
                                   timeout=settings.timeout, lang=settings.lang, clock=clock,
                                   refresh_interval=settings.refresh_interval,
                                   headers=settings.headers, ca_file=settings.ca_file,
                                   generator_url=settings.generator_url, places=places)
    assert isinstance(settings, LogSettings)
    return LogChannel(name=settings.name, lang=settings.lang)


def build_channels(config: Config, clock: Clock | None = None) -> dict[str, Channel]:
    """Every channel alerts go to, by name: the configured ones, or the log channel when
    none is. `clock` (timezone-aware now) defaults to the wall clock in the agent's
    timezone; tests pass their own. Messages say where devices are as this config's
    inventory says (a reload builds the channels again)."""
    zone = config.agent.zone
    now: Clock = clock or (lambda: datetime.now(zone))
    places = render.places(config.devices)
    return {spec.name: build_channel(spec, zone, now, places)
            for spec in config.alerts.delivery_channels}

"""Each channel's delivery timing (group_wait, group_interval, retry, expiry)."""
from __future__ import annotations

from collections.abc import Iterable

from config.model import ChannelSettings, DeliveryTiming


class Timings:
    """By channel name; a channel no longer configured (its rows still in the outbox)
    gets the defaults."""

    def __init__(self, channels: Iterable[ChannelSettings]) -> None:
        self._by_name = {spec.name: spec.delivery for spec in channels}

    def __getitem__(self, channel: str) -> DeliveryTiming:
        return self._by_name.get(channel, DeliveryTiming())

"""The records that cross between the alert engine and the delivery side.

The engine (rules -> conditions -> state machine, alerts/engine.py) decides *what* to
tell and *when*; it emits `Notification`s into the outbox. The delivery side
(alerts/routing.py, alerts/outbox.py, alerts/channels/) decides *where* and makes
sure each notification reaches each routed channel once, retrying until it does or
expires. Nothing else crosses that line.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Literal, Protocol


class Severity(str, Enum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


# What a notification says happened to the alert.
#   firing:   it started (first notice), or it is flapping (one notice, then quiet)
#   repeat:   still firing after the rule's repeat interval (lifecycle: monthly)
#   resolved: it is over; sent only for alerts whose firing notice was sent
Event = Literal["firing", "repeat", "resolved"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One alert as the channels see it. `fingerprint` is stable across restarts:
    a hash of rule + device_id + instance."""

    fingerprint: str
    rule: str                  # e.g. device_down, interface_down, ups_on_battery, lifecycle_exceeded
    kind: str                  # outage | interface | ups | host | http | lifecycle | drift
    severity: Severity
    device_id: str
    instance: str = ""         # ifName, mount point, ... ("" for device-wide conditions)
    # Every label routes and groups: device_id, device_name, category, site, severity,
    # kind, rule, instance (when set), criticality. Values are strings.
    labels: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""          # one line, in the channel's language is the channel's job:
    summary_ko: str = ""       # the engine fills both
    description: str = ""
    description_ko: str = ""
    starts_at: datetime        # timezone-aware
    ends_at: datetime | None = None      # set when resolved
    flapping: bool = False
    # Children whose outages this alert stands for (dependency suppression).
    suppressed: tuple[str, ...] = ()
    value: float | None = None           # the measured value that crossed, if any


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """One thing to tell. `id` is unique and stable (fingerprint + event + sequence), so
    enqueueing the same notification twice is a no-op."""

    id: str
    event: Event
    alert: Alert
    created: datetime


class DeliveryError(Exception):
    """A channel could not deliver. `retryable` False means it never will (e.g. HTTP 400,
    a mail address the server refuses): the outbox records it and stops trying."""

    def __init__(self, message: str, *, retryable: bool = True,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        # Seconds the peer asked us to wait (HTTP Retry-After); the outbox waits at least that.
        self.retry_after = retry_after


class Channel(Protocol):
    """One configured destination. `send` is blocking (it runs on a delivery thread),
    delivers the whole group as one message where the medium allows (one mail, one
    webhook post, one Alertmanager POST), and raises DeliveryError on failure."""

    name: str

    def send(self, notifications: Sequence[Notification],
             group: Mapping[str, str]) -> None:
        ...

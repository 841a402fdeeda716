"""The records that cross between the evaluating and the delivering side, and out of
the alerts package.

The evaluating side (`alerts.evaluation`: rules -> conditions -> state machine) decides
*what* to tell and *when*; it emits `Notification`s into a `NotificationSink` (the
outbox). The delivering side (`alerts.delivery`: routing, outbox, channels) decides
*where* and makes sure each notification reaches each routed channel once, retrying
until it does or expires. Nothing else crosses that line. `AlertStatus` is what the
package tells the agent about itself (`AlertService.status()`).

    Alert, Notification, Event, Severity    what is told
    NotificationSink                        where the evaluating side puts it (the outbox)
    Channel, RefreshingChannel              what the delivering side sends through
    DeliveryError                           what a channel raises when it cannot
    AlertStatus, AlertCounts, FiringAlert,
    ChannelStats                            the package's report on itself
    Clock                                   now, injected into both sides
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

from config.db import Connection

# Now, timezone-aware: injected into both sides (tests move it, nothing sleeps).
Clock = Callable[[], datetime]


class Severity(StrEnum):
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
    rule: str                  # device_down, interface_down, ups_on_battery, lifecycle_exceeded...
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

    @property
    def name(self) -> str: ...

    def send(self, notifications: Sequence[Notification],
             group: Mapping[str, str]) -> None:
        ...


@runtime_checkable
class RefreshingChannel(Channel, Protocol):
    """A channel whose peer forgets a firing alert unless told again (Alertmanager): the
    outbox re-posts the firing alerts routed there every `refresh_interval` seconds (0:
    never). `refresh` raises DeliveryError like `send`."""

    @property
    def refresh_interval(self) -> float: ...

    def refresh(self, alerts: Sequence[Alert]) -> None: ...


class NotificationSink(Protocol):
    """Where the evaluating side puts notifications: the outbox, inside the engine's open
    transaction (`conn`), so a state change and the notices it causes commit together."""

    def enqueue(self, conn: Connection,
                notifications: Sequence[Notification]) -> None: ...


# ---- what the alerts package reports about itself ------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class AlertCounts:
    """Alerts by state; one alert may count in several (firing and silenced)."""

    pending: int = 0
    firing: int = 0
    suppressed: int = 0          # firing, but a down parent speaks for it
    silenced: int = 0
    acked: int = 0
    flapping: int = 0
    closed: int = 0              # firing while its site is closed (opening hours): no repeats


@dataclass(frozen=True, slots=True, kw_only=True)
class FiringAlert:
    """One firing alert, as `lifeline status` and `lifeline alerts list` show it."""

    id: str                      # the fingerprint
    rule: str
    device_id: str
    instance: str
    severity: str
    since: datetime
    suppressed: bool = False
    silenced: bool = False
    acked: bool = False
    flapping: bool = False
    closed: bool = False         # still firing while its site is closed: kept, not repeated


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStats:
    """One channel's delivery figures; the error text never holds a secret. Times are
    timezone-aware."""

    pending: int = 0
    delivered: int = 0
    failed: int = 0
    expired: int = 0
    retries: int = 0
    resent_after_restart: int = 0
    # A firing the channel never got (expired or refused) while its alert still fires is
    # queued again until it is delivered; a recovery whose firing never got there is
    # withheld (docs/channels.md, "Lost notices").
    untold: int = 0              # firing alerts the channel missed, waiting to be told again
    retold: int = 0              # missed firing notices delivered after all
    withheld: int = 0            # recoveries not sent: their firing never reached the channel
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_delivery_at: datetime | None = None
    oldest_pending: datetime | None = None   # when the oldest undelivered one was queued


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertStatus:
    """Alert counts, the firing alerts oldest first, and each channel's delivery."""

    counts: AlertCounts = AlertCounts()
    firing: tuple[FiringAlert, ...] = ()
    delivery: Mapping[str, ChannelStats] = field(default_factory=dict)

"""The collector contract, documented once.

A collector polls one device and returns a `PollResult`. It never raises for a device
that is down or answers badly: the failure is data, carried as a `ResultCode` and a
clear `error`. Each `Sample` maps one-to-one to an InfluxDB point.

Result codes (stored as the integer `result_code` field of `lifeline_poll`):

| code | name            | meaning                                                        |
|------|-----------------|----------------------------------------------------------------|
| 0    | success         | every requested object answered                                |
| 1    | timeout         | no answer within timeout x attempts (also a closed UDP port     |
|      |                 | or a wrong v1/v2c community: SNMP cannot tell these apart)      |
| 2    | auth_failure    | the agent refused our credentials (SNMPv3 USM report, HTTP 401) |
| 3    | no_such_object  | the device answered but has none of the profile's objects       |
| 4    | bad_response    | an answer we could not use (SNMP error-status, HTTP status or   |
|      |                 | body not as expected, malformed data)                           |
| 5    | partial         | some objects or tables answered, some failed: samples kept     |
| 6    | config_error    | the poll could not start: unreadable secret, unknown profile   |
| 7    | connection_error| refused, unreachable, DNS or TLS failure before any answer      |
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeAlias

if TYPE_CHECKING:
    from inventory.model import Device

FieldValue = int | float | bool | str
# A JSON document as `json.loads` returns it.
JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"


class ResultCode(IntEnum):
    SUCCESS = 0
    TIMEOUT = 1
    AUTH_FAILURE = 2
    NO_SUCH_OBJECT = 3
    BAD_RESPONSE = 4
    PARTIAL = 5
    CONFIG_ERROR = 6
    CONNECTION_ERROR = 7

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def answered_well(self) -> bool:
        """The answer could be used (all or part of the data): the device is healthy as
        far as polling can tell. Every other code is a failure, answered or not."""
        return self in (ResultCode.SUCCESS, ResultCode.PARTIAL)

    @property
    def reachable(self) -> bool:
        """The device answered something (even if not all we asked)."""
        return self not in (ResultCode.TIMEOUT, ResultCode.CONFIG_ERROR,
                            ResultCode.CONNECTION_ERROR)


@dataclass(frozen=True, slots=True)
class Sample:
    """One point: measurement, string tags, typed fields, a timezone-aware time."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time: datetime

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("Sample.time must be timezone-aware")
        if not self.fields:
            raise ValueError(f"Sample {self.measurement} has no fields")


@dataclass(frozen=True, slots=True)
class Identity:
    """What the device says it is, for reconciling against the inventory record."""

    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_name: str | None = None
    serial: str | None = None
    model: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


class CounterRate(NamedTuple):
    """Per-second increase of one counter since the previous poll of the device. Counters
    are stored raw (Telegraf's way); rates exist only for the agent's alert rules.

    A NamedTuple, not a frozen dataclass: as immutable and as typed, and a switch poll
    makes two dozen of them, where a frozen dataclass's `object.__setattr__` per field
    cost five times as much to build (bench/snmp_hot_path.py)."""

    measurement: str
    row: str                    # the table row (ifIndex, ...), "" for a scalar
    field: str                  # the field as emitted, e.g. ifHCInOctets or ifInOctets
    name: str                   # the profile's rate name, e.g. in_octets (same for 32/64-bit)
    per_second: float
    wrapped: bool = False       # the counter passed its maximum since the last poll


@dataclass(frozen=True, slots=True, kw_only=True)
class SnmpFacts:
    """What an SNMP poll learned that is not a point."""

    rates: tuple[CounterRate, ...] = ()   # empty on the first poll: nothing to compare yet
    rebooted: bool = False                # sysUpTime went back since the previous poll
    requests: int = 0                     # SNMP requests the poll took
    engine_id: str | None = None          # SNMPv3: the agent's snmpEngineID, hex
    engine_id_shared_with: tuple[str, ...] = ()   # other addresses answering with it
    profile: str | None = None            # `profile: auto`: the profile chosen
    profile_reason: str | None = None     # and why (the sysObjectID, a probe, no fit)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpFacts:
    """What an HTTP check learned that is not a point."""

    result: str                           # Telegraf's http_response result, e.g. success
    status_code: int | None = None
    document: JsonValue = None            # the body as JSON, when the check read it
    failed_expectations: tuple[str, ...] = ()     # why each failed expect_* did not hold
    cert_expiry_days: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PollResult:
    """The outcome of one poll of one device."""

    device_id: str
    code: ResultCode
    started: datetime
    duration: float                     # seconds
    error: str | None = None
    samples: tuple[Sample, ...] = ()
    identity: Identity | None = None
    warnings: tuple[str, ...] = ()      # worth an operator's attention, not a failure
    facts: SnmpFacts | HttpFacts | None = None    # for the alert rules; None for hosts

    @property
    def reachable(self) -> bool:
        return self.code.reachable


class NoRoomToPollError(Exception):
    """The agent could not start the poll in its budget: every in-flight slot stayed busy
    (the agent is saturated or starved of CPU). Nothing was asked of the device, so this
    says nothing about it: the run is skipped, like one that overlaps its previous poll,
    never a failure of the device (no false outage)."""


class Collector(Protocol):
    """What the scheduler calls. Implementations live one per transport."""

    async def collect(self, device: Device) -> PollResult:
        """Poll once; never raise for a device that is down or answers badly (only
        NoRoomToPollError, when the agent itself had no room to poll)."""
        ...

    async def aclose(self) -> None:
        """Release sockets and threads; called once, before the event loop ends."""
        ...


POLL_MEASUREMENT = "lifeline_poll"


def device_tags(device: Device, *, agent_host: str | None,
                hostname: str | None) -> dict[str, str]:
    """The tags every point of a device carries: `device_id`, `category`, and `site`,
    `agent_host` (the polled address), `hostname` (what the device calls itself) when
    known."""
    tags = {"device_id": device.id, "category": device.category}
    if device.site:
        tags["site"] = device.site
    if agent_host:
        tags["agent_host"] = agent_host
    if hostname:
        tags["hostname"] = hostname
    return tags


def poll_sample(code: ResultCode, duration: float, tags: Mapping[str, str],
                time: datetime) -> Sample:
    """The `lifeline_poll` point every collector emits once per device per poll:
    `up` (1 when the device answered at all), `duration_seconds`, `result_code`."""
    return Sample(POLL_MEASUREMENT, dict(tags),
                  {"up": int(code.reachable), "duration_seconds": round(duration, 6),
                   "result_code": int(code)}, time)

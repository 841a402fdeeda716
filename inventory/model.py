"""Typed, frozen records of the inventory: devices, how each is polled, service-life
categories, and `Config`, everything one configuration holds.

`inventory.load` builds them once from the validated configuration files (`config.loader`)
and they never change afterwards; a reload builds a new `Config`. These are what every
other package sees.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Literal

from config.expectations import Expectation
from config.model import (
    AgentSettings,
    AlertSettings,
    ClusterSettings,
    ConsoleSettings,
    Credentials,
    InfluxSettings,
    ThresholdItems,
    TrapSettings,
)


class Criticality(StrEnum):
    """How much an outage or an ageing asset matters; orders the replacement plan."""

    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for the most critical, so that sorting ascending puts it first."""
        return _CRITICALITY_ORDER.index(self)


_CRITICALITY_ORDER = [Criticality.CRITICAL, Criticality.HIGH, Criticality.NORMAL, Criticality.LOW]

# The share of its interval one whole poll may use: the rest keeps a slow poll from
# running into the next one, which the scheduler would skip.
POLL_BUDGET_SHARE = 0.8
PING_COUNT = 3                  # echo requests per ICMP poll, by default
PING_INTERVAL = 1.0             # seconds between them


@dataclass(frozen=True, slots=True, kw_only=True)
class PollSpec:
    """How and how often a device is polled. Durations are in seconds."""

    protocol: Literal["snmp", "http", "host", "icmp", "tcp"]
    address: str | None = None          # the host (name or IP, IPv6 without brackets)
    port: int | None = None             # SNMP (161 by default) and TCP
    url: str | None = None              # for HTTP checks
    credentials: str | None = None      # a key of Config.credentials
    profile: str = "auto"               # SNMP profile name; auto: chosen by sysObjectID
    interval: float = 60.0
    timeout: float = 2.0
    retries: int = 1
    method: str = "GET"                 # HTTP
    expect_status: tuple[int, ...] = (200,)
    expect_text: str | None = None
    expect_regex: str | None = None     # HTTP: searched in the body (validated at load)
    expect_json: tuple[Expectation, ...] = ()   # HTTP: 'path OP literal', parsed at load
    headers: tuple[tuple[str, str], ...] = ()   # HTTP request headers
    body: str | None = None             # HTTP request body (POST)
    follow_redirects: bool = True       # HTTP: at most 10 redirects
    verify_tls: bool = True
    monitored_interfaces: tuple[str, ...] = ()  # ifName/ifDescr of uplinks that alert when down
    count: int = PING_COUNT             # ICMP: echo requests per poll
    ping_interval: float = PING_INTERVAL    # ICMP: seconds between echo requests
    send: str | None = None             # TCP: written once connected (expect_* read back)

    @property
    def deadline(self) -> float:
        """The longest one request may take: every attempt timing out. An HTTP check
        (one request) and the local host's gathering end by it; a ping (no retries: its
        `count` echoes are the attempts) ends `timeout` after its last echo request."""
        if self.protocol == "icmp":
            return (self.count - 1) * self.ping_interval + self.timeout
        return self.timeout * (self.retries + 1)

    @property
    def poll_budget(self) -> float:
        """The longest one whole poll may take: POLL_BUDGET_SHARE of the interval, never
        less than one request's `deadline`. An SNMP walk of many requests (each with its
        own timeout and retries) ends by it; the scheduler cuts a poll off only after it."""
        return max(POLL_BUDGET_SHARE * self.interval, self.deadline)


@dataclass(frozen=True, slots=True)
class VendorDates:
    """The manufacturer's end-of-life (EoX) milestones, all optional."""

    end_of_sale: date | None = None
    end_of_sw_maintenance: date | None = None
    end_of_security_fixes: date | None = None
    last_date_of_support: date | None = None

    def items(self) -> list[tuple[str, date]]:
        return [(name, getattr(self, name)) for name in self.__slots__ if getattr(self, name)]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record was written, for error messages: file and line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """One inventory record: a device, or a batch of identical assets (quantity > 1)."""

    id: str
    name: str
    category: str
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    site: str | None = None
    location: str | None = None
    goods_code: str | None = None
    acquired: date | None = None
    acquired_year_only: bool = False    # the sheet gave 도입연도, not a date: acquired is 1 Jan
    service_life_years: int | None = None
    support_ends: date | None = None
    vendor_dates: VendorDates = field(default_factory=VendorDates)
    warranty_ends: date | None = None
    contract_ends: date | None = None
    lease_ends: date | None = None
    retired: date | None = None         # disposed of / replaced: out of plan and polling
    replaced_by: str | None = None
    unit_cost_krw: int | None = None
    quantity: int = 1
    criticality: Criticality = Criticality.NORMAL
    parent: str | None = None
    operating_hours: str | None = None
    sys_object_id: str | None = None    # what the device should say it is (drift check)
    tags: tuple[tuple[str, str], ...] = ()
    notes: str | None = None            # 비고, as the replacement plan shows it
    function: str | None = None         # 주요기능 (main function)
    funding: str | None = None          # 재원 (funding source): 구비, 시비, 국비, …
    replaced_in: int | None = None      # the year it was replaced: that year's actual spend
    thresholds: ThresholdItems = ()     # alert threshold overrides, set keys only
    poll: PollSpec | None = None
    source: Source | None = None

    @property
    def total_cost_krw(self) -> int | None:
        return None if self.unit_cost_krw is None else self.unit_cost_krw * self.quantity

    def is_retired(self, on: date) -> bool:
        return self.retired is not None and self.retired <= on


@dataclass(frozen=True, slots=True)
class LifeRule:
    """A service life in force for assets acquired on or after `effective_from`."""

    years: int
    effective_from: date | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Category:
    """A service-life category: display names and its rules, oldest first."""

    key: str
    name_ko: str
    name_en: str
    rules: tuple[LifeRule, ...]
    aliases: tuple[str, ...] = ()
    unit_ko: str = "대"                 # the counter word of its quantity: 대, 식

    def rule_for(self, acquired: date | None) -> LifeRule:
        """The rule in force when the asset was acquired (the newest when undated)."""
        if acquired is None:
            return self.rules[-1]
        chosen = self.rules[0]
        for rule in self.rules:
            if rule.effective_from is None or rule.effective_from <= acquired:
                chosen = rule
        return chosen

    def display_name(self, lang: str) -> str:
        return self.name_ko if lang == "ko" else self.name_en


class Order(StrEnum):
    """Which of a project's due assets a capped year takes first."""

    OLDEST_FIRST = "oldest_first"       # by acquisition date, as "순차적 교체" does
    PRIORITY = "priority"               # by the plan's priority (inventory.plan)


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """A section of the replacement plan: categories (and single devices) the office
    budgets together, with an optional yearly cap in units or won, and an order."""

    key: str
    name_ko: str
    name_en: str
    categories: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    cap_units: int | None = None
    cap_krw: int | None = None
    order: Order = Order.PRIORITY

    def __post_init__(self) -> None:
        for cap in (self.cap_units, self.cap_krw):
            if cap is not None and cap < 1:
                raise ValueError(f"a yearly cap must be 1 or more, not {cap}")

    def display_name(self, lang: str) -> str:
        return self.name_ko if lang == "ko" else self.name_en


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSettings:
    """The config's `plan:`: projects in report order, and the 재원 of unmarked devices."""

    projects: tuple[Project, ...] = ()
    funding: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """A whole loaded configuration: the files it came from and everything in them."""

    path: Path
    files: tuple[Path, ...]
    agent: AgentSettings
    influxdb: InfluxSettings | None
    categories: dict[str, Category]
    credentials: dict[str, Credentials]
    devices: tuple[Device, ...]
    alerts: AlertSettings
    plan: PlanSettings = PlanSettings()
    traps: TrapSettings | None = None   # None: no trap receiver
    console: ConsoleSettings = field(default_factory=ConsoleSettings)  # agent/web/ access
    cluster: ClusterSettings | None = None  # None: one agent on its own (SQLite)

    def device(self, device_id: str) -> Device:
        for device in self.devices:
            if device.id == device_id:
                return device
        raise KeyError(device_id)

    def category(self, key: str) -> Category:
        return self.categories[key]

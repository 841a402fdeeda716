"""Typed, frozen records of a loaded configuration.

These are what every other package sees. They are built once by `inventory.loader`
from validated YAML and never change afterwards; a reload builds a new `Config`.
Nothing here does I/O except `SecretRef.reveal`, which reads the environment or a file
at the moment a collector or channel needs the secret.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Literal


class Criticality(str, Enum):
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


class SecretError(Exception):
    """A secret could not be read. The message names the variable or file, never a value."""


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret lives: an environment variable or a file. Never the value itself."""

    env: str | None = None
    file: Path | None = None

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def reveal(self) -> str:
        """Read the secret now. Raises SecretError naming where it looked."""
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise SecretError(f"environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"cannot read secret file {self.file}: {exc.strerror}") from None

    def __repr__(self) -> str:  # keeps values out of logs even if someone prints the record
        return f"SecretRef({self.describe()})"


@dataclass(frozen=True, slots=True)
class SnmpCredentials:
    """SNMP v1/v2c community or v3 USM user. Secrets are references, read when polled."""

    name: str
    version: Literal["1", "2c", "3"]
    community: SecretRef | None = None
    user: str | None = None
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_key: SecretRef | None = None
    priv_protocol: Literal["DES", "AES", "AES192", "AES256"] | None = None
    priv_key: SecretRef | None = None
    context: str = ""

    @property
    def security_level(self) -> str:
        if self.version != "3":
            return "community"
        if self.priv_protocol:
            return "authPriv"
        return "authNoPriv" if self.auth_protocol else "noAuthNoPriv"


@dataclass(frozen=True, slots=True)
class HttpCredentials:
    """Basic auth or a bearer token for HTTP checks."""

    name: str
    username: str | None = None
    password: SecretRef | None = None
    token: SecretRef | None = None


Credentials = SnmpCredentials | HttpCredentials


@dataclass(frozen=True, slots=True, kw_only=True)
class PollSpec:
    """How and how often a device is polled. Durations are in seconds."""

    protocol: Literal["snmp", "http", "host"]
    address: str | None = None          # host[:port] for SNMP; None for the local host
    port: int | None = None
    url: str | None = None              # for HTTP checks
    credentials: str | None = None      # a key of Config.credentials
    profile: str = "generic"            # SNMP profile name
    interval: float = 60.0
    timeout: float = 2.0
    retries: int = 1
    method: str = "GET"                 # HTTP
    expect_status: tuple[int, ...] = (200,)
    expect_text: str | None = None
    expect_regex: str | None = None     # HTTP: searched in the body (validated at load)
    expect_json: tuple[str, ...] = ()   # HTTP: 'path OP literal' (collectors.http.expect)
    headers: tuple[tuple[str, str], ...] = ()   # HTTP request headers
    body: str | None = None             # HTTP request body (POST)
    follow_redirects: bool = True       # HTTP: at most 10 redirects
    verify_tls: bool = True
    monitored_interfaces: tuple[str, ...] = ()  # ifName/ifDescr of uplinks that alert when down

    @property
    def deadline(self) -> float:
        """The longest one poll may take: every attempt timing out."""
        return self.timeout * (self.retries + 1)


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
    notes: str | None = None
    thresholds: tuple[tuple[str, object], ...] = ()   # alert threshold overrides, set keys only
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


@dataclass(frozen=True, slots=True)
class InfluxSettings:
    url: str
    org: str
    bucket: str
    token: SecretRef | None = None
    batch_size: int = 5000
    flush_interval: float = 10.0
    spool_max_bytes: int = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class AgentSettings:
    name: str = "lifeline"
    state_dir: Path = Path("./var")
    timezone: str = "Asia/Seoul"
    retention_days: int = 30
    http_listen: str | None = None      # e.g. 127.0.0.1:9108 for /healthz and /metrics
    log_format: Literal["plain", "json"] = "plain"
    max_in_flight: int = 256


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """An alert channel; `options` keeps the type-specific keys already validated."""

    name: str
    type: Literal["webhook", "email", "alertmanager", "log"]
    options: tuple[tuple[str, object], ...] = ()

    def option(self, key: str, default: object = None) -> object:
        return dict(self.options).get(key, default)


@dataclass(frozen=True, slots=True)
class RouteSpec:
    match: tuple[tuple[str, str], ...]
    channels: tuple[str, ...]
    group_by: tuple[str, ...] = ("kind", "site")
    continue_matching: bool = False


@dataclass(frozen=True, slots=True)
class AlertSettings:
    channels: tuple[ChannelSpec, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    thresholds: tuple[tuple[str, object], ...] = ()   # rule overrides, shaped by alerts.thresholds
    # per-category overrides: ((category, ((key, value), ...)), ...)
    category_thresholds: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    lifecycle_horizon_months: int = 12


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

    def device(self, device_id: str) -> Device:
        for device in self.devices:
            if device.id == device_id:
                return device
        raise KeyError(device_id)

    def category(self, key: str) -> Category:
        return self.categories[key]

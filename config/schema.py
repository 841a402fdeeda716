"""The configuration file's schema: pydantic models used only at the edge.

Every model forbids unknown keys, so a typo is an error with a did-you-mean rather than
a silently ignored setting. Validators raise `PydanticCustomError` with short messages
(`not a date: '2008-13-01'`) that `config.loader` places at FILE:LINE; each carries its
kind and values (config/messages.py), so the CLI says it in English or Korean.
`config.loader` and `inventory.load` turn these models into the frozen dataclasses of
`config.model` and `inventory.model`.
"""
from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from config.dates import EARLIEST, LATEST, in_window, out_of_window
from config.durations import DurationTooLongError, parse_duration
from config.errors import shown
from config.expectations import EXPECTATION_KINDS, ExpectationError, parse
from config.messages import Message, said

# The errors our validators raise, each a kind of config/problem_texts.py: their messages
# are ours, and shown as they are (config/schema_errors.py words every other error itself).
OWN_ERRORS = frozenset({
    "bad_address", "bad_regex", "bad_url", "bad_generator_url", "date_out_of_range",
    "inline_secret", "not_for_api", "not_for_channel", "not_for_protocol", "port_needed",
    "port_not_allowed", "channel_without_url",
    "missing_address", "missing_bucket", "missing_database", "missing_email",
    "missing_community", "missing_auth_key", "missing_priv_key", "missing_dsn",
    "missing_url", "missing_user", "duration_too_long", "two_usernames",
    "not_a_date", "not_a_duration", "not_a_year", "not_whole",
    "priv_without_auth", "two_sources", "years_and_rules",
    "not_listen", "not_listen_address", "not_an_address", "tls_pair", "renew_vs_lease",
    *EXPECTATION_KINDS})


def invalid(kind: str, **values: Any) -> PydanticCustomError:
    """A validation error of `kind` (its texts in config/problem_texts.py); the offending
    `value` is shown quoted (repr, cut short), names as they are."""
    return refused(said(kind, **{k: shown(v) if k == "value" else str(v)
                                 for k, v in values.items()}))


def refused(message: Message) -> PydanticCustomError:
    """`message` as pydantic's error: its kind as the type, the message itself in the
    context (pydantic's `msg` is its English), for config/schema_errors.py to place."""
    assert message.kind in OWN_ERRORS, message.kind
    return PydanticCustomError(message.kind, "{said}", {"said": message})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# ---- scalar types with clear messages -------------------------------------------------

def _date(value: Any) -> Any:
    if value is None:
        return value
    if isinstance(value, datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            pass
    if not isinstance(value, date):
        raise invalid("not_a_date", value=value)
    if not in_window(value):   # config/dates.py says why: 9999-12-31 breaks every sum
        raise refused(out_of_window(value))
    return value


def _acquired(value: Any) -> Any:
    """A date, a year and month (`2013-03`: the 1st), or a bare year (도입연도) meaning
    1 January of that year."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}", value.strip()):
        value = int(value)
    if isinstance(value, str) and (month := re.fullmatch(r"(\d{4})-(\d{1,2})", value.strip())):
        year, number = int(month[1]), int(month[2])
        value = date(year, number, 1) if 1 <= number <= 12 else value
    if isinstance(value, int) and not isinstance(value, bool):
        if EARLIEST.year <= value <= LATEST.year:
            return value
        raise invalid("not_a_year", value=value)
    return _date(value)


def _duration(value: Any) -> Any:
    try:
        seconds = parse_duration(value)
    except DurationTooLongError as exc:
        raise refused(exc.said) from None
    except (ValueError, TypeError, AttributeError):
        raise invalid("not_a_duration", value=value) from None
    return seconds


def _whole(value: Any) -> Any:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise invalid("not_whole", value=value)
    if isinstance(value, str):
        cleaned = value.replace(",", "").strip()
        if not re.fullmatch(r"-?\d+", cleaned):
            raise invalid("not_whole", value=value)
        return int(cleaned)
    return value


def _text(value: Any) -> Any:
    # Model numbers and serials are often digits-only; YAML reads them as int.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


Date = Annotated[date | None, BeforeValidator(_date)]
Acquired = Annotated[date | int | None, BeforeValidator(_acquired)]
Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
Delay = Annotated[float, BeforeValidator(_duration), Field(ge=0)]   # a wait that may be 0s
Count = Annotated[int, BeforeValidator(_whole)]
Text = Annotated[str, BeforeValidator(_text)]
# Bytes on the wire (tcp `send`): kept exactly, trailing "\r\n" and all.
RawText = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1,
                                           max_length=4096)]
OptText = Annotated[str | None, BeforeValidator(_text)]
Identifier = Annotated[str, BeforeValidator(_text),
                       Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=128)]


class _InlineSecret:
    """Marks a key where a secret would be written inline; only *_env/*_file are allowed."""


def inline_secret_check(data: Any, names: tuple[str, ...]) -> Any:
    if isinstance(data, dict):
        for name in names:
            if name in data:
                raise invalid("inline_secret", name=name)
    return data


class SecretFields(Strict):
    """Common checks: for each secret name X (every field X_env), the secret is never
    written inline as X, and at most one of X_env / X_file is given."""

    @model_validator(mode="before")
    @classmethod
    def _no_inline(cls, data: Any) -> Any:
        return inline_secret_check(data, cls._secret_names())

    @model_validator(mode="after")
    def _one_source(self) -> SecretFields:
        for name in self._secret_names():
            if getattr(self, f"{name}_env", None) and getattr(self, f"{name}_file", None):
                raise invalid("two_sources", name=name)
        return self

    @classmethod
    def _secret_names(cls) -> tuple[str, ...]:
        return tuple(f[:-4] for f in cls.model_fields if f.endswith("_env"))


# ---- sections -------------------------------------------------------------------------

class AgentIn(Strict):
    name: Text = "lifeline"
    state_dir: Text = "./var"
    timezone: Text = "Asia/Seoul"
    retention_days: Count = Field(30, ge=1)
    http_listen: OptText = None
    log_format: Literal["plain", "json"] = "plain"
    max_in_flight: Count = Field(256, ge=1, le=10000)
    lang: Literal["ko", "en"] | None = None     # person-facing text; None: the locale's

    @field_validator("http_listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        # Beyond loopback only with the console's authentication (inventory/load.py checks
        # it against `console:`): here only the form.
        if value is not None and parse_http_listen(value) is None:
            raise invalid("not_listen_address", value=value)
        return value


def parse_http_listen(text: str) -> tuple[str, int] | None:
    """(host, port) for `IP:PORT` (`[IPv6]:PORT`; `localhost` is 127.0.0.1), else None."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    if host == "localhost":
        host = "127.0.0.1"
    try:
        return str(ipaddress.ip_address(host)), int(port)
    except ValueError:
        return None


def parse_listen_address(text: str) -> tuple[str, int] | None:
    """(host, port) for a loopback `HOST:PORT` (`[::1]:PORT` for IPv6), else None."""
    address = parse_http_listen(text)
    if address is None or not ipaddress.ip_address(address[0]).is_loopback:
        return None
    return address


# storage.influxdb keys that belong to one write API only: given for the other, an error.
INFLUX_API_ONLY = {"org": "v2", "bucket": "v2", "token_env": "v2", "token_file": "v2",
                   "database": "v1", "retention_policy": "v1", "username": "v1",
                   "username_env": "v1", "username_file": "v1", "password_env": "v1",
                   "password_file": "v1"}


class InfluxIn(SecretFields):
    api: Literal["v2", "v1"] = "v2"
    url: Text
    org: OptText = None             # v2
    bucket: OptText = None
    token_env: OptText = None
    token_file: OptText = None
    database: OptText = None        # v1
    retention_policy: OptText = None
    username: OptText = None        # not a secret: may be written, or read from env/file
    username_env: OptText = None
    username_file: OptText = None
    password_env: OptText = None
    password_file: OptText = None
    batch_size: Count = Field(5000, ge=1)
    flush_interval: Duration = 10.0
    spool_max_mb: Count = Field(256, ge=1)

    @classmethod
    def _secret_names(cls) -> tuple[str, ...]:
        return ("token", "password")

    @model_validator(mode="after")
    def _one_api(self) -> InfluxIn:
        for key, api in INFLUX_API_ONLY.items():
            if getattr(self, key) is not None and self.api != api:
                raise invalid("not_for_api", key=key, api=api, this=self.api)
        if self.api == "v2" and not self.bucket:
            raise invalid("missing_bucket")
        if self.api == "v1" and not self.database:
            raise invalid("missing_database")
        given = [k for k in ("username", "username_env", "username_file") if getattr(self, k)]
        if len(given) > 1:
            raise invalid("two_usernames", keys=" and ".join(given), listed=", ".join(given))
        return self


class StorageIn(Strict):
    influxdb: InfluxIn | None = None


class LifeRuleIn(Strict):
    years: Count = Field(ge=1, le=100)
    effective_from: Date = None
    source: Text = ""


class CategoryIn(Strict):
    """A service-life table entry (config/service_life.yaml, or a config override)."""

    name_ko: OptText = None
    name_en: OptText = None
    aliases: list[Text] = []
    unit_ko: OptText = None         # the counter word of a quantity: 대 (default), 식
    years: Count | None = Field(None, ge=1, le=100)
    effective_from: Date = None
    source: OptText = None
    rules: list[LifeRuleIn] | None = None

    @model_validator(mode="after")
    def _years_or_rules(self) -> CategoryIn:
        if self.years is not None and self.rules is not None:
            raise invalid("years_and_rules")
        return self


def _years_shorthand(value: Any) -> Any:
    """`pc: 5` in a config's service_life means {years: 5}."""
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return {"years": value}
    return value


CategoryEntry = Annotated[CategoryIn, BeforeValidator(_years_shorthand)]


class ServiceLifeTableIn(Strict):
    categories: dict[Identifier, CategoryIn]


class CredentialIn(SecretFields):
    version: Literal["1", "2c", "3", "http"]
    community_env: OptText = None
    community_file: OptText = None
    user: OptText = None
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_key_env: OptText = None
    auth_key_file: OptText = None
    priv_protocol: Literal["DES", "AES", "AES192", "AES256"] | None = None
    priv_key_env: OptText = None
    priv_key_file: OptText = None
    context: Text = ""
    username: OptText = None
    password_env: OptText = None
    password_file: OptText = None
    token_env: OptText = None
    token_file: OptText = None

    @model_validator(mode="before")
    @classmethod
    def _no_inline(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("version"), (int, float)):
            data = {**data, "version": {1: "1", 2: "2c", 3: "3"}.get(data["version"],
                                                                    str(data["version"]))}
        # net-snmp's words for the v3 keys are refused inline too
        return inline_secret_check(data, (*cls._secret_names(), "auth_password",
                                          "priv_password"))

    @model_validator(mode="after")
    def _complete(self) -> CredentialIn:
        if self.version in ("1", "2c") and not (self.community_env or self.community_file):
            raise invalid("missing_community", version=self.version)
        if self.version == "3":
            if not self.user:
                raise invalid("missing_user")
            if self.auth_protocol and not (self.auth_key_env or self.auth_key_file):
                raise invalid("missing_auth_key")
            if self.priv_protocol and not self.auth_protocol:
                raise invalid("priv_without_auth")
            if self.priv_protocol and not (self.priv_key_env or self.priv_key_file):
                raise invalid("missing_priv_key")
        return self


def _expectation(value: Any) -> Any:
    try:
        parse(value)
    except ExpectationError as exc:
        raise refused(exc.said) from None
    return value


JsonExpectation = Annotated[str, BeforeValidator(_expectation)]


# Keys that mean something for one protocol only: given for another, they are an error
# rather than silently ignored.
PROTOCOL_ONLY = {"count": "icmp", "ping_interval": "icmp", "send": "tcp"}


class PollIn(Strict):
    protocol: Literal["snmp", "http", "host", "icmp", "tcp"]
    address: OptText = None
    url: OptText = None
    credentials: OptText = None
    profile: Text = "auto"
    interval: Duration = 60.0
    timeout: Duration = 2.0
    retries: Count = Field(1, ge=0, le=10)
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: list[Count] = [200]
    expect_text: OptText = None
    expect_regex: OptText = None
    expect_json: list[JsonExpectation] = []
    headers: dict[Text, Text] = {}
    body: OptText = None
    follow_redirects: bool = True
    verify_tls: bool = True
    monitored_interfaces: list[Text] = []
    count: Count | None = Field(None, ge=1, le=100)         # icmp: echo requests per poll
    ping_interval: Duration | None = None                   # icmp: between echo requests
    send: RawText | None = None                             # tcp: written after connecting

    @field_validator("expect_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise invalid("bad_regex", value=value, why=exc) from None
        return value

    @model_validator(mode="after")
    def _target(self) -> PollIn:
        if self.protocol == "snmp" and not self.address:
            raise invalid("missing_address", article="an", protocol="snmp")
        if self.protocol == "http" and not self.url:
            raise invalid("missing_url")
        if self.protocol in ("icmp", "tcp") and not self.address:
            article = "an" if self.protocol == "icmp" else "a"
            raise invalid("missing_address", article=article, protocol=self.protocol)
        port = _port_of(self.address)
        if self.protocol == "tcp" and port is None:
            raise invalid("port_needed", value=self.address)
        if self.protocol == "icmp" and port is not None:
            raise invalid("port_not_allowed", value=self.address)
        for key, protocol in PROTOCOL_ONLY.items():
            if getattr(self, key) is not None and self.protocol != protocol:
                raise invalid("not_for_protocol", key=key, protocol=protocol)
        return self

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        match = _ADDRESS.fullmatch(value or "")
        if value is not None and _bare_ipv6(value):
            return value
        if value is not None and (match is None or not 0 < int(match[2] or 1) < 65536):
            raise invalid("bad_address", value=value)
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise invalid("bad_url", value=value)
        return value


_ADDRESS = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?")


def _bare_ipv6(text: str) -> bool:
    """`::1`, `fd00::5`: an IPv6 address written without brackets (and so without port)."""
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


def _port_of(address: str | None) -> int | None:
    if not address or _bare_ipv6(address):
        return None
    match = _ADDRESS.fullmatch(address)
    return int(match[2]) if match and match[2] else None


class VendorDatesIn(Strict):
    end_of_sale: Date = None
    end_of_sw_maintenance: Date = None
    end_of_security_fixes: Date = None
    last_date_of_support: Date = None


class ThresholdsIn(Strict):
    """Alert rule thresholds (alerts/evaluation/thresholds.py has the
    defaults and what each means)."""

    outage_polls: Count | None = Field(None, ge=1, le=100)
    outage_repeat: Delay | None = None
    bad_answer_for: Delay | None = None
    repeat: Delay | None = None
    lifecycle_repeat: Delay | None = None
    interface_down_for: Delay | None = None
    interface_error_rate: float | None = Field(None, ge=0)
    interface_discard_rate: float | None = Field(None, ge=0)
    ups_for: Delay | None = None
    ups_charge_percent: float | None = Field(None, ge=0, le=100)
    ups_minutes: float | None = Field(None, ge=0)
    ups_overload_percent: float | None = Field(None, ge=0)
    disk_percent: float | None = Field(None, ge=0, le=100)
    mem_percent: float | None = Field(None, ge=0, le=100)
    cpu_percent: float | None = Field(None, ge=0, le=100)
    cpu_for: Delay | None = None
    sessions_percent: float | None = Field(None, ge=0, le=100)
    host_for: Delay | None = None
    http_for: Delay | None = None
    http_slow_seconds: float | None = Field(None, gt=0)
    ping_for: Delay | None = None
    ping_loss_percent: float | None = Field(None, ge=0, le=100)
    ping_latency_ms: float | None = Field(None, gt=0)
    kiosk_for: Delay | None = None
    kiosk_toner_percent: float | None = Field(None, ge=0, le=100)
    cert_days: Count | None = Field(None, ge=0)
    flap_changes: Count | None = Field(None, ge=1)
    flap_window: Duration | None = None
    flap_stable: Duration | None = None


class AlertThresholdsIn(ThresholdsIn):
    """The config-wide thresholds, with overrides per category."""

    categories: dict[Identifier, ThresholdsIn] = {}


class DeviceIn(Strict):
    id: Identifier
    name: Text
    category: Text
    vendor: OptText = None
    model: OptText = None
    serial: OptText = None
    site: OptText = None
    location: OptText = None
    goods_code: OptText = None
    acquired: Acquired = None
    service_life_years: Count | None = Field(None, ge=1, le=100)
    support_ends: Date = None
    vendor_dates: VendorDatesIn | None = None
    warranty_ends: Date = None
    contract_ends: Date = None
    lease_ends: Date = None
    retired: Date = None
    replaced_by: OptText = None
    unit_cost_krw: Count | None = Field(None, ge=0)
    quantity: Count = Field(1, ge=1)
    criticality: Literal["critical", "high", "normal", "low"] = "normal"
    parent: OptText = None
    operating_hours: OptText = None
    sys_object_id: Annotated[str | None, Field(pattern=r"^\.?\d+(\.\d+)+$")] = None
    tags: dict[Text, Text] = {}
    notes: OptText = None               # 비고: shown in the plan's 비고 column
    function: OptText = None            # 주요기능 (main function), as the plan shows it
    funding: OptText = None             # 재원 (funding source): 구비, 시비, 국비, …
    replaced_in: Count | None = Field(None, ge=1950, le=2100)   # the year it was replaced
    thresholds: ThresholdsIn | None = None
    poll: PollIn | None = None


class ChannelIn(SecretFields):
    name: Identifier
    type: Literal["webhook", "email", "alertmanager", "log"]
    url: OptText = None
    format: Literal["json", "slack", "teams", "teams_adaptive"] = "json"
    headers: dict[Text, Text] = {}
    token_env: OptText = None
    token_file: OptText = None
    smtp: OptText = None
    starttls: bool = False
    username: OptText = None
    password_env: OptText = None
    password_file: OptText = None
    from_: OptText = Field(None, alias="from")
    to: list[Text] = []
    lang: Literal["ko", "en"] = "ko"
    timeout: Duration = 10.0
    # Delivery timing (config.model.DeliveryTiming); unset means its default (docs/channels.md).
    group_wait: Delay | None = None
    group_interval: Delay | None = None
    retry_initial: Duration | None = None
    retry_max: Duration | None = None
    expire_after: Duration | None = None
    refresh_interval: Duration | None = None    # alertmanager: re-post still-firing alerts
    generator_url: OptText = None               # alertmanager: each alert's generatorURL
    ca_file: OptText = None                     # a CA to trust for STARTTLS / https

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _needs(self) -> ChannelIn:
        if self.type in ("webhook", "alertmanager") and not self.url:
            raise invalid("channel_without_url", type=self.type)
        if self.type == "email" and not (self.smtp and self.from_ and self.to):
            raise invalid("missing_email")
        if self.generator_url is not None:
            if self.type != "alertmanager":
                raise invalid("not_for_channel", type=self.type)
            if not absolute_http_url(self.generator_url):
                raise invalid("bad_generator_url", value=self.generator_url)
        return self


def absolute_http_url(text: str) -> bool:
    """Whether `text` is an absolute http(s) URL with a host (what Alertmanager takes as a
    generatorURL)."""
    try:
        parts = urlsplit(text)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in text
    except ValueError:
        return False


class RouteIn(Strict):
    match: dict[Text, Text] = {}
    channels: list[Text]
    group_by: list[Text] = ["kind", "site"]
    continue_: bool = Field(False, alias="continue")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AlertsIn(Strict):
    channels: list[ChannelIn] = []
    routes: list[RouteIn] = []
    thresholds: AlertThresholdsIn = AlertThresholdsIn()
    lifecycle_horizon_months: Count = Field(12, ge=0, le=120)


class TrapsIn(Strict):
    """`traps:` receive SNMP traps and informs (collectors/snmp/traps.py)."""

    listen: Text = "127.0.0.1:162"
    rate_per_source: float = Field(10.0, gt=0, le=100000)   # traps a second, each source
    burst: Count = Field(50, ge=1, le=100000)               # ... and how many at once

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if parse_trap_listen(value) is None:
            raise invalid("not_listen", value=value)
        return value


def parse_trap_listen(text: str) -> tuple[str, int] | None:
    """(ip, port) for an IPv4 `IP:PORT` (the trap receiver's address), else None."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    try:
        return str(ipaddress.IPv4Address(host)), int(port)
    except ValueError:
        return None


class ConsoleIn(Strict):
    """`console:` the web console's access (config.model.ConsoleSettings, agent/web/)."""

    read_only: bool = True
    users_file: OptText = None
    proxy_user_header: OptText = None
    proxy_addresses: list[Text] = ["127.0.0.1", "::1"]
    tls_cert_file: OptText = None
    tls_key_file: OptText = None
    https_proxy: bool = False
    session: Duration = Field(12 * 3600.0, le=30 * 86400)
    login_attempts: Count = Field(5, ge=1, le=1000)
    login_window: Duration = Field(300.0, le=86400)
    refresh: Duration = Field(5.0, ge=1, le=3600)
    grafana_url: OptText = None

    @field_validator("proxy_addresses")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise invalid("not_an_address", value=value) from None
        return values

    @field_validator("grafana_url")
    @classmethod
    def _grafana(cls, value: str | None) -> str | None:
        if value is not None and not absolute_http_url(value):
            raise invalid("bad_url", value=value)
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> ConsoleIn:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise invalid("tls_pair")
        return self


class ClusterIn(SecretFields):
    """`cluster:` several agents sharing one PostgreSQL (docs/cluster.md)."""

    dsn_env: OptText = None              # the DSN (libpq form or URL) is a secret
    dsn_file: OptText = None
    node: Identifier                     # this agent's name in the cluster, unique
    zone: Identifier | None = None       # buckets of this zone stay on its nodes
    zones: dict[Identifier, list[Text]] = {}    # zone -> the sites whose devices it keeps
    lease: Duration = Field(5.0, ge=1, le=300)  # a bucket's lease, renewed every `renew`
    renew: Duration = Field(1.0, le=60)

    @model_validator(mode="after")
    def _needs_dsn(self) -> ClusterIn:
        if not self.dsn_env and not self.dsn_file:
            raise invalid("missing_dsn")
        if self.renew * 2 > self.lease:
            raise invalid("renew_vs_lease", renew=f"{self.renew:g}", lease=f"{self.lease:g}")
        return self


class PlanScheduleIn(Strict):
    """How a project or category is spread over the years (inventory.plan)."""

    cap_units: Count | None = Field(None, ge=1)              # at most N units a year
    cap_thousand_krw: Count | None = Field(None, ge=1)       # at most N 천원 a year
    order: Literal["oldest_first", "priority"] = "priority"


class PlanProjectIn(PlanScheduleIn):
    """A project of the report: a group of categories (and devices) the office names."""

    key: Identifier
    name_ko: Text
    name_en: OptText = None
    categories: list[Text] = []
    devices: list[Text] = []


class PlanIn(Strict):
    funding: OptText = None                    # 재원 of devices that name none
    categories: dict[Text, PlanScheduleIn] = {}
    projects: list[PlanProjectIn] = []


class ConfigFileIn(Strict):
    """One configuration file. Included files may hold only the inventory-like sections."""

    agent: AgentIn | None = None
    include: list[Text] | Text | None = None
    include_roots: list[Text] | None = None    # main file only: see config/loader.py
    storage: StorageIn | None = None
    service_life_table: OptText = None
    service_life: dict[Identifier, CategoryEntry] = {}
    credentials: dict[Identifier, CredentialIn] = {}
    devices: list[DeviceIn] = []
    alerts: AlertsIn | None = None
    plan: PlanIn | None = None
    traps: TrapsIn | None = None
    console: ConsoleIn | None = None
    cluster: ClusterIn | None = None


MAIN_ONLY_SECTIONS = ("agent", "storage", "alerts", "service_life_table", "include_roots",
                      "plan", "traps", "console", "cluster")
# The top-level keys of a configuration file; a file with none of them is not one of ours.
SECTIONS = frozenset(ConfigFileIn.model_fields)

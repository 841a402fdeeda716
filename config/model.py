"""Typed, frozen records of the settings a configuration file holds.

`config.loader` builds these from validated YAML; they never change afterwards (a reload
builds new ones). The inventory's records (devices, service-life categories) and the
`Config` that holds everything are in `inventory.model`, built on these.
Nothing here does I/O except `SecretRef.reveal`, which reads the environment or a file at
the moment a collector or channel needs the secret.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo

Lang = Literal["ko", "en"]
REFRESH_INTERVAL = 60.0     # seconds between Alertmanager re-posts of firing alerts


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


def _given(*refs: SecretRef | None) -> tuple[SecretRef, ...]:
    return tuple(ref for ref in refs if ref is not None)


# ---- credentials ----------------------------------------------------------------------

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

    def secrets(self) -> tuple[SecretRef, ...]:
        return _given(self.community, self.auth_key, self.priv_key)


@dataclass(frozen=True, slots=True)
class HttpCredentials:
    """Basic auth or a bearer token for HTTP checks."""

    name: str
    username: str | None = None
    password: SecretRef | None = None
    token: SecretRef | None = None

    def secrets(self) -> tuple[SecretRef, ...]:
        return _given(self.password, self.token)


Credentials = SnmpCredentials | HttpCredentials


# ---- the agent and its storage --------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AgentSettings:
    name: str = "lifeline"
    state_dir: Path = Path("./var")
    timezone: str = "Asia/Seoul"        # an IANA name; the loader refuses unknown ones
    retention_days: int = 30
    http_listen: str | None = None      # e.g. 127.0.0.1:9108: the console, /healthz, /metrics
    log_format: Literal["plain", "json"] = "plain"
    max_in_flight: int = 256
    lang: Lang | None = None            # person-facing text; None: the locale's (agent.cli)

    @property
    def zone(self) -> ZoneInfo:
        """The agent's time zone: every date and time a person reads is in it.
        (ZoneInfo caches its instances: calling this often costs nothing.)"""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleSettings:
    """`console:`: who may use the web console on `agent.http_listen` (agent/web/) and how.

    Without `users_file` or `proxy_user_header` nobody logs in: the console then only
    listens on loopback and only shows. Changes (ack, silence, unsilence) need
    `read_only: false` and a person logged in, so each is recorded with who made it."""

    read_only: bool = True
    users_file: Path | None = None      # NAME:ARGON2-HASH lines (`lifeline console-user`)
    proxy_user_header: str | None = None    # set by a trusted reverse proxy: the user
    proxy_addresses: tuple[str, ...] = ("127.0.0.1", "::1")  # where that proxy connects from
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    https_proxy: bool = False           # behind a proxy that speaks https: Secure cookies
    session_seconds: float = 12 * 3600.0
    login_attempts: int = 5             # failed logins per address ...
    login_window_seconds: float = 300.0     # ... within this long, then refused
    refresh_seconds: float = 5.0        # how often the board asks for news
    grafana_url: str | None = None      # with InfluxDB: device pages link to Grafana here

    @property
    def authenticates(self) -> bool:
        return self.users_file is not None or self.proxy_user_header is not None

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None


@dataclass(frozen=True, slots=True)
class TrapSettings:
    """`traps:`: where the trap receiver listens and how much one source may send."""

    host: str = "127.0.0.1"
    port: int = 162
    rate_per_source: float = 10.0       # traps a second from one address, sustained
    burst: int = 50                     # ... and at once

    @property
    def listen(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSettings:
    """`cluster:`: this agent as a node of a cluster on a shared PostgreSQL
    (agent/cluster/). The DSN is a secret: a reference, read when connecting."""

    dsn: SecretRef
    node: str
    zone: str | None = None
    zones: tuple[tuple[str, tuple[str, ...]], ...] = ()    # (zone, its sites), as written
    lease: float = 5.0                  # seconds a bucket's lease lasts unless renewed
    renew: float = 1.0                  # seconds between renewals

    def zone_of_site(self, site: str) -> str:
        """The zone whose sites include `site`; "" (any node) for none."""
        for zone, sites in self.zones:
            if site in sites:
                return zone
        return ""


@dataclass(frozen=True, slots=True)
class InfluxSettings:
    """Where the InfluxDB sink writes. `api` "v2": `/api/v2/write` with org, bucket and a
    token (InfluxDB 2.x, 3, 1.8+ and VictoriaMetrics); "v1": `/write?db=&rp=` with an
    optional username and password (InfluxDB 1.x, VictoriaMetrics)."""

    url: str
    org: str = ""
    bucket: str = ""
    token: SecretRef | None = None
    batch_size: int = 5000
    flush_interval: float = 10.0
    spool_max_bytes: int = 256 * 1024 * 1024
    api: Literal["v2", "v1"] = "v2"
    database: str = ""
    retention_policy: str = ""          # "": the database's default retention policy
    username: str | SecretRef | None = None     # written as is, or read from env or file
    password: SecretRef | None = None

    def secrets(self) -> tuple[SecretRef, ...]:
        username = self.username if isinstance(self.username, SecretRef) else None
        return _given(self.token, username, self.password)

    def describe(self) -> str:
        """Where the points go, for messages: the URL and the org and bucket, or the
        database and retention policy. Never a secret."""
        if self.api == "v1":
            policy = (f"retention policy {self.retention_policy!r}" if self.retention_policy
                      else "its default retention policy")
            return f"{self.url} (database {self.database!r}, {policy})"
        return f"{self.url} (org {self.org!r}, bucket {self.bucket!r})"


# ---- alert channels and routes --------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryTiming:
    """When the outbox sends a channel's notices and how long it keeps trying; seconds.
    Each key may be set per channel; these are the defaults."""

    group_wait: float = 30.0        # wait this long for more alerts of a new group
    group_interval: float = 60.0    # then at most one message per group this often
    retry_initial: float = 10.0     # first wait after a failed send, doubling ...
    retry_max: float = 600.0        # ... up to this
    expire_after: float = 86400.0   # give up on a notice this old


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseChannelSettings:
    """What every alert channel has; one subclass per `type:`."""

    type: ClassVar[str]
    name: str
    lang: Lang = "ko"
    timeout: float = 10.0
    delivery: DeliveryTiming = DeliveryTiming()

    def secrets(self) -> tuple[SecretRef, ...]:
        return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSettings(BaseChannelSettings):
    type: ClassVar[str] = "webhook"
    url: str
    format: Literal["json", "slack", "teams", "teams_adaptive"] = "json"
    headers: tuple[tuple[str, str], ...] = ()
    token: SecretRef | None = None
    ca_file: str | None = None          # a CA to trust for https

    def secrets(self) -> tuple[SecretRef, ...]:
        return _given(self.token)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailSettings(BaseChannelSettings):
    type: ClassVar[str] = "email"
    smtp: str                           # host:port
    sender: str
    to: tuple[str, ...]
    starttls: bool = False
    username: str | None = None
    password: SecretRef | None = None
    ca_file: str | None = None          # a CA to trust for STARTTLS

    def secrets(self) -> tuple[SecretRef, ...]:
        return _given(self.password)


# Alertmanager groups and waits by itself (its route's group_wait, group_interval):
# waiting here as well only delays what it is told, a recovery above all.
ALERTMANAGER_DELIVERY = DeliveryTiming(group_wait=0.0, group_interval=0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertmanagerSettings(BaseChannelSettings):
    type: ClassVar[str] = "alertmanager"
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    ca_file: str | None = None
    refresh_interval: float = REFRESH_INTERVAL   # re-post still-firing alerts this often
    generator_url: str | None = None    # each alert's generatorURL (a link back to us)
    delivery: DeliveryTiming = ALERTMANAGER_DELIVERY


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSettings(BaseChannelSettings):
    type: ClassVar[str] = "log"


ChannelSettings = WebhookSettings | EmailSettings | AlertmanagerSettings | LogSettings

# Where alerts go when `alerts.channels` names none: the agent's own log (the journal),
# each notice at once (grouping saves no one a message in a log).
DEFAULT_CHANNEL = LogSettings(name="log", lang="en",
                              delivery=DeliveryTiming(group_wait=0.0, group_interval=0.0))


@dataclass(frozen=True, slots=True)
class RouteSpec:
    match: tuple[tuple[str, str], ...]
    channels: tuple[str, ...]
    group_by: tuple[str, ...] = ("kind", "site")
    continue_matching: bool = False


# Alert threshold overrides as written: (key, value) pairs, set keys only, validated by
# the schema; `alerts.evaluation.thresholds` holds the defaults and what each key means.
ThresholdItems = tuple[tuple[str, object], ...]


@dataclass(frozen=True, slots=True)
class AlertSettings:
    channels: tuple[ChannelSettings, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    thresholds: ThresholdItems = ()
    # per-category overrides: ((category, ((key, value), ...)), ...)
    category_thresholds: tuple[tuple[str, ThresholdItems], ...] = ()
    lifecycle_horizon_months: int = 12

    @property
    def delivery_channels(self) -> tuple[ChannelSettings, ...]:
        """The channels alerts are delivered to: the configured ones, or, when none is
        configured, the log channel (DEFAULT_CHANNEL), so a firing alert is never told
        to no one."""
        return self.channels or (DEFAULT_CHANNEL,)

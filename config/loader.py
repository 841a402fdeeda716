"""Read a configuration: the main file and its includes, each validated against the schema.

`read_config(path)` reads the main file and its `include:` globs (depth first, each file
once), validates every file against `config.schema` (each device and credential on its
own, so that one bad entry hides no other problem), and builds the settings records of
`config.model`: agent, storage, credentials, alert channels and routes. It never raises
for a problem in the files: every one is collected, located as `FILE:LINE: path: message`,
in `ConfigSource.problems`. `inventory.load` builds the inventory from what it returns
and raises `ConfigError` if anything is wrong, so nothing is ever half-applied.

Paths written in a file (`include`, `*_file`, `service_life_table`) are relative to that
file; `agent.state_dir` is relative to the working directory, as a daemon's data path is.
Included files must lie under the main file's directory, or under a directory the main
file names in `include_roots` (symbolic links are followed before the check): an include
written by whoever edits an inventory file cannot make the agent read `/etc`. A file that
has none of the configuration's sections is refused without repeating its contents
(`config.source.load_located`).
"""
from __future__ import annotations

import functools
import glob
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, TypeAdapter, ValidationError

from config import schema, shipped
from config.errors import ConfigError, Path_, Problem, did_you_mean
from config.messages import said
from config.model import (
    ALERTMANAGER_DELIVERY,
    REFRESH_INTERVAL,
    AgentSettings,
    AlertmanagerSettings,
    AlertSettings,
    ChannelSettings,
    ClusterSettings,
    Credentials,
    DeliveryTiming,
    EmailSettings,
    HttpCredentials,
    InfluxSettings,
    LogSettings,
    RouteSpec,
    SecretRef,
    SnmpCredentials,
    ThresholdItems,
    WebhookSettings,
)
from config.schema_errors import located
from config.source import LocatedDocument, load_located

MAX_INCLUDED_FILES = 10_000
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Invalid:
    """Stands for an entry that failed validation: known by id, never built. Other
    entries may still refer to it without a second problem being reported."""

    id: object


@dataclass(slots=True)
class ConfigFile:
    """One parsed and validated file of the configuration."""

    doc: LocatedDocument
    parsed: schema.ConfigFileIn | None          # the sections; None if they are invalid
    devices: list[schema.DeviceIn | Invalid]
    credentials: dict[str, schema.CredentialIn | Invalid]


@dataclass(frozen=True, slots=True)
class Settings:
    """The main file's settings, built once every file was read."""

    agent: AgentSettings
    influxdb: InfluxSettings | None
    alerts: AlertSettings
    service_life_table: Path | None     # None: the shipped config/service_life.yaml


@dataclass(frozen=True, slots=True)
class ConfigSource:
    """Everything the files say, validated file by file, with every problem found so far."""

    path: Path
    files: tuple[ConfigFile, ...]
    settings: Settings | None           # None when the main file is unreadable or invalid
    credentials: dict[str, Credentials | Invalid]
    problems: tuple[Problem, ...]


def read_config(main_path: Path) -> ConfigSource:
    """Read and validate the main file and everything it includes; never raises for a
    problem in them (they are in `problems`)."""
    problems: list[Problem] = []
    files = _read_tree(main_path, problems)
    credentials = _credentials(files, problems)
    main = files[0] if files else None
    settings = None
    if main is not None and main.parsed is not None:
        settings = Settings(agent=_agent(main, problems), influxdb=_influx(main),
                            alerts=_alerts(main, problems),
                            service_life_table=_table_path(main))
    return ConfigSource(main_path, tuple(files), settings, credentials, tuple(problems))


def read_service_life_table(path: Path | None = None
                            ) -> tuple[LocatedDocument, schema.ServiceLifeTableIn]:
    """The service-life table (default: the shipped config/service_life.yaml), validated.
    Raises ConfigError."""
    doc = load_located(path if path is not None else shipped("service_life.yaml"),
                       sections=schema.ServiceLifeTableIn.model_fields)
    try:
        return doc, schema.ServiceLifeTableIn.model_validate(doc.value or {})
    except ValidationError as exc:
        raise ConfigError(located(doc, error) for error in exc.errors()) from None


# ---- reading files ---------------------------------------------------------------------

def _read_tree(main_path: Path, problems: list[Problem]) -> list[ConfigFile]:
    """The main file and everything it includes, depth first, each validated."""
    files: list[ConfigFile] = []
    seen: set[Path] = set()
    roots: tuple[Path, ...] = ()
    pending: list[tuple[Path, bool]] = [(main_path, True)]
    while pending:
        file, is_main = pending.pop(0)
        resolved = file.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        if len(seen) > MAX_INCLUDED_FILES:
            problems.append(Problem(str(main_path), 0, "include",
                                    said("too_many_files", limit=str(MAX_INCLUDED_FILES))))
            break
        try:
            doc = load_located(file, sections=schema.SECTIONS)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        files.append(_validate_file(doc, is_main, problems))
        parsed = files[-1].parsed
        if parsed is None:
            continue
        if is_main:
            roots = _include_roots(doc, parsed, problems)
        pending.extend((p, False) for p in _includes(doc, parsed, roots, problems))
    return files


def _include_roots(main: LocatedDocument, parsed: schema.ConfigFileIn,
                   problems: list[Problem]) -> tuple[Path, ...]:
    """The directories included files may be in: the main file's own, and those it names
    in `include_roots` (relative to it), each resolved."""
    base = main.file.parent
    roots = [base.resolve()]
    for index, written in enumerate(parsed.include_roots or []):
        root = (base / written).resolve()
        if not root.is_dir():
            problems.append(main.problem(("include_roots", index),
                                         said("not_a_directory", value=repr(written))))
        else:
            roots.append(root)
    return tuple(roots)


def _validate_file(doc: LocatedDocument, is_main: bool, problems: list[Problem]) -> ConfigFile:
    """The file's sections, each credential and each device validated on its own, so that
    one broken entry neither hides the others' problems nor makes references to it fail."""
    data = {} if doc.value is None else doc.value
    if not isinstance(data, dict):
        problems.append(doc.problem((), said("not_sections", type=type(data).__name__)))
        return ConfigFile(doc, None, [], {})
    if not is_main:
        for section in schema.MAIN_ONLY_SECTIONS:
            if section in data:
                problems.append(doc.problem((section,), said("main_only", section=section)))
    devices = _list_entries(doc, data.get("devices"), ("devices",), schema.DeviceIn, problems)
    credentials = _dict_entries(doc, data.get("credentials"), ("credentials",),
                                schema.CredentialIn, problems)
    # Every section that validates is kept, also when another one did not: includes are
    # still followed and service-life overrides still applied, so that every problem of
    # the whole configuration is found in one run, without false ones.
    sections: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("devices", "credentials"):
            continue
        if key == "alerts" and isinstance(value, dict):
            value = _alerts_entries(doc, value, problems)
        try:
            sections[key] = getattr(schema.ConfigFileIn.model_validate({key: value}), key)
        except ValidationError as exc:
            problems.extend(located(doc, error) for error in exc.errors())
    parsed = schema.ConfigFileIn.model_construct(**sections)
    return ConfigFile(doc, parsed, devices, credentials)


def _alerts_entries(doc: LocatedDocument, alerts: dict[str, Any],
                    problems: list[Problem]) -> dict[str, Any]:
    """Validate channels one by one, so that a bad channel does not hide bad routes."""
    channels = _list_entries(doc, alerts.get("channels"), ("alerts", "channels"),
                             schema.ChannelIn, problems)
    if not any(isinstance(c, Invalid) for c in channels):
        return alerts
    names = [c.get("name") for c in alerts.get("channels", []) if isinstance(c, dict)]
    routes = alerts.get("routes")
    for index, route in enumerate(routes if isinstance(routes, list) else []):
        for c_index, name in enumerate(route.get("channels", [])
                                       if isinstance(route, dict) else []):
            if name not in names:
                problems.append(doc.problem(("alerts", "routes", index, "channels", c_index),
                                            said("unknown_channel", name=repr(name),
                                                 hint=did_you_mean(name, names))))
    return {k: v for k, v in alerts.items() if k not in ("channels", "routes")}


def _list_entries(doc: LocatedDocument, raw: object, where: Path_, model: type[M],
                  problems: list[Problem]) -> list[M | Invalid]:
    """Validate each entry of a list section. An invalid entry is replaced by an `Invalid`
    placeholder after its problems are recorded: its id is still known, so other entries
    may refer to it."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(doc.problem(where, said("not_a_list", type=type(raw).__name__)))
        return []
    try:   # the common case, all valid, in one call: much faster for 100,000 devices
        valid: list[M] = _adapter(list[model]).validate_python(raw)   # type: ignore[valid-type]
        return list(valid)
    except ValidationError:
        pass   # find which entries are bad, one by one
    return [_validated(doc, (*where, index), entry, model, problems)
            for index, entry in enumerate(raw)]


def _dict_entries(doc: LocatedDocument, raw: object, where: Path_, model: type[M],
                  problems: list[Problem]) -> dict[str, M | Invalid]:
    """Validate each entry of a mapping section, as `_list_entries` does a list's."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(doc.problem(where, said("not_a_mapping", type=type(raw).__name__)))
        return {}
    try:
        valid: dict[str, M] = _adapter(dict[str, model]).validate_python(raw)  # type: ignore[valid-type]
        return dict(valid)
    except ValidationError:
        pass
    return {str(key): _validated(doc, (*where, key), entry, model, problems)
            for key, entry in raw.items()}


def _validated(doc: LocatedDocument, where: Path_, entry: object, model: type[M],
               problems: list[Problem]) -> M | Invalid:
    try:
        return model.model_validate(entry)
    except ValidationError as exc:
        problems.extend(located(doc, {**error, "loc": (*where, *error["loc"])})
                        for error in exc.errors())
        return Invalid(entry.get("id") if isinstance(entry, dict) else None)


@functools.cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    """One adapter per shape (building one costs more than validating a small file)."""
    return TypeAdapter(shape)


def _includes(doc: LocatedDocument, parsed: schema.ConfigFileIn, roots: tuple[Path, ...],
              problems: list[Problem]) -> Iterator[Path]:
    """The files `doc` includes that lie under `roots`. Matches outside are not read and
    not named (their names are not ours to print either): the problem says how many."""
    patterns = parsed.include
    if patterns is None:
        return
    if isinstance(patterns, str):
        patterns = [patterns]
    base = doc.file.parent
    for index, pattern in enumerate(patterns):
        where = ("include", index) if isinstance(parsed.include, list) else ("include",)
        matches = sorted(glob.glob(str(base / pattern), recursive=True))
        if not matches:
            problems.append(doc.problem(where, said("include_no_match", pattern=repr(pattern),
                                                    base=str(base))))
        inside = [m for m in matches if _under(Path(m).resolve(), roots)]
        if len(inside) < len(matches):
            outside = len(matches) - len(inside)
            problems.append(doc.problem(where, said(
                "include_outside", pattern=repr(pattern), count=str(outside),
                s="s" if outside != 1 else "")))
        for match in inside:
            yield Path(match)


def _under(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _table_path(main: ConfigFile) -> Path | None:
    assert main.parsed is not None
    if main.parsed.service_life_table is None:
        return None
    return main.doc.file.parent / main.parsed.service_life_table


# ---- credentials ---------------------------------------------------------------------

def _secret(doc: LocatedDocument, env: str | None, file: str | None) -> SecretRef | None:
    if env:
        return SecretRef(env=env)
    if file:
        return SecretRef(file=(doc.file.parent / file))
    return None


def _credentials(files: list[ConfigFile], problems: list[Problem]
                 ) -> dict[str, Credentials | Invalid]:
    result: dict[str, Credentials | Invalid] = {}
    where_defined: dict[str, str] = {}
    for file in files:
        for name, cred in file.credentials.items():
            here = f"{file.doc.file}:{file.doc.line_of(('credentials', name))}"
            if name in result:
                problems.append(file.doc.problem(("credentials", name),
                                                 said("duplicate_credentials", name=repr(name),
                                                      where=where_defined[name])))
                continue
            where_defined[name] = here
            result[name] = _credential(file.doc, name, cred)
    return result


def _credential(doc: LocatedDocument, name: str, cred: schema.CredentialIn | Invalid
                ) -> Credentials | Invalid:
    if isinstance(cred, Invalid):
        return cred   # already reported; kept so that references to it are not errors too
    if cred.version == "http":
        return HttpCredentials(name=name, username=cred.username,
                               password=_secret(doc, cred.password_env, cred.password_file),
                               token=_secret(doc, cred.token_env, cred.token_file))
    return SnmpCredentials(
        name=name, version=cred.version,
        community=_secret(doc, cred.community_env, cred.community_file),
        user=cred.user, auth_protocol=cred.auth_protocol,
        auth_key=_secret(doc, cred.auth_key_env, cred.auth_key_file),
        priv_protocol=cred.priv_protocol,
        priv_key=_secret(doc, cred.priv_key_env, cred.priv_key_file),
        context=cred.context)


# ---- main-file sections ----------------------------------------------------------------

def _agent(main: ConfigFile, problems: list[Problem]) -> AgentSettings:
    assert main.parsed is not None
    a = main.parsed.agent or schema.AgentIn()
    try:
        ZoneInfo(a.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(main.doc.problem(("agent", "timezone"),
                                         said("unknown_timezone", value=repr(a.timezone))))
    return AgentSettings(name=a.name, state_dir=Path(a.state_dir), timezone=a.timezone,
                         retention_days=a.retention_days, http_listen=a.http_listen,
                         log_format=a.log_format, max_in_flight=a.max_in_flight,
                         lang=a.lang)


def _channel(doc: LocatedDocument, c: schema.ChannelIn, http_listen: str | None
             ) -> ChannelSettings:
    """A channel's typed settings; secrets become references, unset timings defaults
    (the channel type's), an Alertmanager's generatorURL the agent's own endpoint when it
    has one and none is given."""
    timings = {"group_wait": c.group_wait, "group_interval": c.group_interval,
               "retry_initial": c.retry_initial, "retry_max": c.retry_max,
               "expire_after": c.expire_after}
    written = {key: value for key, value in timings.items() if value is not None}
    defaults = ALERTMANAGER_DELIVERY if c.type == "alertmanager" else DeliveryTiming()
    common: dict[str, Any] = {"name": c.name, "lang": c.lang, "timeout": c.timeout,
                              "delivery": replace(defaults, **written)}
    headers = tuple(sorted(c.headers.items()))
    if c.type == "webhook":
        assert c.url is not None
        return WebhookSettings(**common, url=c.url, format=c.format, headers=headers,
                               token=_secret(doc, c.token_env, c.token_file),
                               ca_file=c.ca_file)
    if c.type == "email":
        assert c.smtp is not None and c.from_ is not None
        return EmailSettings(**common, smtp=c.smtp, sender=c.from_, to=tuple(c.to),
                             starttls=c.starttls, username=c.username,
                             password=_secret(doc, c.password_env, c.password_file),
                             ca_file=c.ca_file)
    if c.type == "alertmanager":
        assert c.url is not None
        return AlertmanagerSettings(**common, url=c.url, headers=headers, ca_file=c.ca_file,
                                    refresh_interval=c.refresh_interval or REFRESH_INTERVAL,
                                    generator_url=c.generator_url or _own_url(http_listen))
    return LogSettings(**common)


def _own_url(http_listen: str | None) -> str | None:
    """The agent's endpoint as a link: `/healthz` (the page that says how it is), or None."""
    return f"http://{http_listen}/healthz" if http_listen else None


def cluster_settings(main: ConfigFile) -> ClusterSettings | None:
    """This agent as a cluster node: only when the main file has `cluster:`."""
    c = main.parsed.cluster if main.parsed is not None else None
    if c is None:
        return None
    dsn = _secret(main.doc, c.dsn_env, c.dsn_file)
    assert dsn is not None      # the schema requires one of them
    return ClusterSettings(dsn=dsn, node=c.node, zone=c.zone, lease=c.lease, renew=c.renew,
                           zones=tuple((z, tuple(sites)) for z, sites in c.zones.items()))


def _influx(main: ConfigFile) -> InfluxSettings | None:
    assert main.parsed is not None
    storage = main.parsed.storage
    if storage is None or storage.influxdb is None:
        return None
    i = storage.influxdb
    return InfluxSettings(url=i.url, org=i.org or "", bucket=i.bucket or "",
                          token=_secret(main.doc, i.token_env, i.token_file),
                          batch_size=i.batch_size, flush_interval=i.flush_interval,
                          spool_max_bytes=i.spool_max_mb * 1024 * 1024, api=i.api,
                          database=i.database or "", retention_policy=i.retention_policy or "",
                          username=i.username or _secret(main.doc, i.username_env,
                                                         i.username_file),
                          password=_secret(main.doc, i.password_env, i.password_file))


def _alerts(main: ConfigFile, problems: list[Problem]) -> AlertSettings:
    assert main.parsed is not None
    a = main.parsed.alerts
    if a is None:
        return AlertSettings()
    names = [c.name for c in a.channels]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append(main.doc.problem(("alerts", "channels", index, "name"),
                                             said("duplicate_channel", name=repr(name))))
    for index, route in enumerate(a.routes):
        for c_index, channel in enumerate(route.channels):
            if channel not in names:
                problems.append(main.doc.problem(
                    ("alerts", "routes", index, "channels", c_index),
                    said("unknown_channel", name=repr(channel),
                         hint=did_you_mean(channel, names))))
    agent = main.parsed.agent
    http_listen = agent.http_listen if agent is not None else None
    channels = tuple(_channel(main.doc, c, http_listen) for c in a.channels)
    routes = tuple(RouteSpec(match=tuple(sorted(r.match.items())), channels=tuple(r.channels),
                             group_by=tuple(r.group_by), continue_matching=r.continue_)
                   for r in a.routes)
    return AlertSettings(channels=channels, routes=routes,
                         thresholds=threshold_items(a.thresholds),
                         category_thresholds=tuple(
                             (key, threshold_items(value))
                             for key, value in sorted(a.thresholds.categories.items())),
                         lifecycle_horizon_months=a.lifecycle_horizon_months)


def threshold_items(t: schema.ThresholdsIn | None) -> ThresholdItems:
    """The threshold keys actually written, sorted (the defaults live in
    alerts/evaluation/thresholds.py)."""
    if t is None:
        return ()
    written = t.model_dump(exclude_none=True, exclude={"categories"})
    return tuple(sorted(written.items()))

"""Load and validate a configuration: every problem at once, nothing half-loaded.

`load_config(path)` reads the main file and its `include:` globs, validates each file
against `inventory.schema`, checks what spans files (duplicate ids, unknown categories,
parents and credentials, parent cycles, opening hours, poll deadlines), and only then
builds the frozen `Config`. Any problem raises `ConfigError` listing all of them as
`FILE:LINE: path: message`.

Paths written in a file (`include`, `*_file`, `service_life_table`) are relative to that
file; `agent.state_dir` is relative to the working directory, as a daemon's data path is.
"""
from __future__ import annotations

import difflib
import gc
import functools
import glob
import types
import typing
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, TypeAdapter, ValidationError

from config import shipped
from inventory import schema
from inventory.errors import ConfigError, Path_, Problem, format_path
from inventory.hours import HoursError, OperatingHours
from inventory.model import (AgentSettings, AlertSettings, Category, ChannelSpec, Config,
                             Credentials, Criticality, Device, HttpCredentials, InfluxSettings,
                             LifeRule, PollSpec, RouteSpec, SecretRef, SnmpCredentials, Source,
                             VendorDates)
from inventory.yamlsource import LocatedDocument, load_located

MAX_INCLUDED_FILES = 10_000


@dataclass(slots=True)
class _File:
    """One parsed and validated file of the configuration."""

    doc: LocatedDocument
    parsed: schema.ConfigFileIn | None          # the sections; None if they are invalid
    devices: list[Any]                          # DeviceIn, or _Invalid placeholders
    credentials: dict[str, Any]                 # CredentialIn, or _Invalid placeholders


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading makes millions of small objects and no reference cycles; Python's cyclic
    collector would rescan all of them again and again (100,000 devices: 35 s instead of
    9 s). Pause it for the load, as the objects are all alive until it returns anyway."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_config(path: str | Path) -> Config:
    """The validated configuration at `path`, or ConfigError with every problem."""
    with _gc_paused():
        return _load_config(Path(path))


def _load_config(main_path: Path) -> Config:
    problems: list[Problem] = []
    files = _read_tree(main_path, problems)
    main = files[0] if files else None
    if main is None or main.parsed is None:
        # Still check the inventory so that every problem is reported at once.
        _devices(files, load_service_life_table(), _credentials(files, problems), problems)
        raise ConfigError(problems)
    table_path = _table_path(main)
    try:
        categories = load_service_life_table(table_path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        categories = {}
    categories = _apply_overrides(categories, files, problems)
    credentials = _credentials(files, problems)
    devices = _devices(files, categories, credentials, problems)
    agent = _agent(main, problems)
    alerts = _alerts(main, problems)
    if problems:
        raise ConfigError(problems)
    # with no problems, no _Invalid placeholder is left in credentials
    return Config(
        path=main_path,
        files=tuple(f.doc.file for f in files),
        agent=agent,
        influxdb=_influx(main),
        categories=categories,
        credentials=credentials,
        devices=devices,
        alerts=alerts,
    )


# ---- reading files ---------------------------------------------------------------------

def _read_tree(main_path: Path, problems: list[Problem]) -> list[_File]:
    """The main file and everything it includes, depth first, each validated."""
    files: list[_File] = []
    seen: set[Path] = set()
    pending: list[tuple[Path, bool]] = [(main_path, True)]
    while pending:
        file, is_main = pending.pop(0)
        resolved = file.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        if len(seen) > MAX_INCLUDED_FILES:
            problems.append(Problem(str(main_path), 0, "include",
                                    f"more than {MAX_INCLUDED_FILES} files included"))
            break
        try:
            doc = load_located(file)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        files.append(_validate_file(doc, is_main, problems))
        parsed = files[-1].parsed
        if parsed is not None:
            pending.extend((p, False) for p in _includes(doc, parsed, problems))
    return files


def _validate_file(doc: LocatedDocument, is_main: bool, problems: list[Problem]) -> _File:
    """The file's sections, each credential and each device validated on its own, so that
    one broken entry neither hides the others' problems nor makes references to it fail."""
    data = {} if doc.value is None else doc.value
    if not isinstance(data, dict):
        problems.append(doc.problem((), "the file must be a mapping of sections "
                                        "(agent, devices, ...), not a "
                                        f"{type(data).__name__}"))
        return _File(doc, None, [], {})
    if not is_main:
        for section in schema.MAIN_ONLY_SECTIONS:
            if section in data:
                problems.append(doc.problem((section,), f"'{section}' belongs in the main "
                                                         "configuration file, not an include"))
    devices = _entries(doc, data.get("devices"), ("devices",), list, schema.DeviceIn, problems)
    credentials = _entries(doc, data.get("credentials"), ("credentials",), dict,
                           schema.CredentialIn, problems)
    sections: dict[str, Any] = {}
    valid = True
    for key, value in data.items():
        if key in ("devices", "credentials"):
            continue
        if key == "alerts" and isinstance(value, dict):
            value = _alerts_entries(doc, value, problems)
        try:
            sections[key] = getattr(schema.ConfigFileIn.model_validate({key: value}), key)
        except ValidationError as exc:
            problems.extend(_located(doc, error) for error in exc.errors())
            valid = False
    parsed = schema.ConfigFileIn.model_construct(**sections) if valid else None
    return _File(doc, parsed, devices, credentials)


def _alerts_entries(doc: LocatedDocument, alerts: dict[str, Any],
                    problems: list[Problem]) -> dict[str, Any]:
    """Validate channels one by one, so that a bad channel does not hide bad routes."""
    channels = _entries(doc, alerts.get("channels"), ("alerts", "channels"), list,
                        schema.ChannelIn, problems)
    if not any(isinstance(c, _Invalid) for c in channels):
        return alerts
    names = [c.get("name") for c in alerts.get("channels", []) if isinstance(c, dict)]
    routes = alerts.get("routes")
    for index, route in enumerate(routes if isinstance(routes, list) else []):
        for c_index, name in enumerate(route.get("channels", [])
                                       if isinstance(route, dict) else []):
            if name not in names:
                problems.append(doc.problem(("alerts", "routes", index, "channels", c_index),
                                            f"unknown channel {name!r}"
                                            f"{_did_you_mean(name, names)}"))
    return {k: v for k, v in alerts.items() if k not in ("channels", "routes")}


def _entries(doc: LocatedDocument, raw: Any, where: Path_, shape: type,
             model: type[BaseModel], problems: list[Problem]) -> Any:
    """Validate each entry of a list or mapping section; keep the valid ones.

    An invalid entry is replaced by None (for devices) or left out, after its problems
    are recorded; its id or name is still known, so other entries may refer to it."""
    if raw is None:
        return shape()
    if not isinstance(raw, shape):
        kind = "list" if shape is list else "mapping"
        problems.append(doc.problem(where, f"must be a {kind}, not "
                                                f"{type(raw).__name__}"))
        return shape()
    try:   # the common case, all valid, in one call: much faster for 100,000 devices
        return _adapter(shape, model).validate_python(raw)
    except ValidationError:
        pass   # find which entries are bad, one by one
    items = enumerate(raw) if shape is list else raw.items()
    valid: Any = shape()
    for key, entry in items:
        try:
            value = model.model_validate(entry)
        except ValidationError as exc:
            problems.extend(_located(doc, {**error, "loc": (*where, key, *error["loc"])})
                            for error in exc.errors())
            value = _Invalid(entry.get("id") if isinstance(entry, dict) else None)
        if shape is list:
            valid.append(value)
        else:
            valid[key] = value
    return valid


@functools.cache
def _adapter(shape: type, model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(list[model] if shape is list else dict[str, model])  # type: ignore[valid-type]


@dataclass(frozen=True, slots=True)
class _Invalid:
    """Stands for an entry that failed validation: known by id, never built."""

    id: object


def _includes(doc: LocatedDocument, parsed: schema.ConfigFileIn,
              problems: list[Problem]) -> Iterator[Path]:
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
            problems.append(doc.problem(where, f"include {pattern!r} matches no file "
                                               f"(relative to {base})"))
        for match in matches:
            yield Path(match)


def _table_path(main: _File) -> Path | None:
    assert main.parsed is not None
    if main.parsed.service_life_table is None:
        return None
    return main.doc.file.parent / main.parsed.service_life_table


# ---- service-life table ----------------------------------------------------------------

def load_service_life_table(path: str | Path | None = None) -> dict[str, Category]:
    """The service-life table (default: the shipped config/service_life.yaml)."""
    table_path = Path(path) if path is not None else shipped("service_life.yaml")
    doc = load_located(table_path)
    try:
        table = schema.ServiceLifeTableIn.model_validate(doc.value or {})
    except ValidationError as exc:
        raise ConfigError(_located(doc, error) for error in exc.errors()) from None
    problems: list[Problem] = []
    categories = {}
    for key, entry in table.categories.items():
        where = ("categories", key)
        rules = _rules(entry, doc, where, problems, source_default=f"{table_path.name}")
        categories[key] = Category(key=key, name_ko=entry.name_ko or key,
                                   name_en=entry.name_en or key, rules=rules,
                                   aliases=tuple(entry.aliases))
    if problems:
        raise ConfigError(problems)
    return categories


def _rules(entry: schema.CategoryIn, doc: LocatedDocument, where: Path_,
           problems: list[Problem], source_default: str) -> tuple[LifeRule, ...]:
    if entry.rules is not None:
        rules = [LifeRule(r.years, r.effective_from, r.source or source_default)
                 for r in entry.rules]
    elif entry.years is not None:
        rules = [LifeRule(entry.years, entry.effective_from, entry.source or source_default)]
    else:
        problems.append(doc.problem(where, "a category needs years or rules"))
        return ()
    return _ordered_rules(rules, doc, where, problems)


def _ordered_rules(rules: list[LifeRule], doc: LocatedDocument, where: Path_,
                   problems: list[Problem]) -> tuple[LifeRule, ...]:
    undated = [r for r in rules if r.effective_from is None]
    if len(undated) > 1:
        problems.append(doc.problem(where, "only one rule may lack effective_from"))
    dated = sorted((r for r in rules if r.effective_from is not None),
                   key=lambda r: r.effective_from or date.min)
    starts = [r.effective_from for r in dated]
    if len(set(starts)) != len(starts):
        problems.append(doc.problem(where, "two rules with the same effective_from"))
    return tuple(undated[:1] + dated)


def _apply_overrides(categories: dict[str, Category], files: list[_File],
                     problems: list[Problem]) -> dict[str, Category]:
    """Apply every file's `service_life:`: a bare number or undated rule replaces the
    category's rules; a dated one is added, so the history before it is kept."""
    result = dict(categories)
    for file in files:
        if file.parsed is None:
            continue
        for key, entry in file.parsed.service_life.items():
            where = ("service_life", key)
            source = f"{file.doc.file.name}:{file.doc.line_of(where)}"
            rules = _rules(entry, file.doc, where, problems, source_default=source)
            old = result.get(key)
            if old is None and not (entry.name_ko or entry.name_en):
                hint = _did_you_mean(key, result)
                problems.append(file.doc.problem(
                    where, f"unknown category {key!r}{hint}; a new category needs "
                           "name_ko or name_en"))
                continue
            if old is not None and entry.rules is None and entry.effective_from is not None:
                rules = _ordered_rules([*old.rules, *rules], file.doc, where, problems)
            result[key] = Category(
                key=key,
                name_ko=entry.name_ko or (old.name_ko if old else key),
                name_en=entry.name_en or (old.name_en if old else key),
                rules=rules,
                aliases=tuple(entry.aliases) or (old.aliases if old else ()))
    return result


# ---- credentials and devices -----------------------------------------------------------

def _secret(doc: LocatedDocument, env: str | None, file: str | None) -> SecretRef | None:
    if env:
        return SecretRef(env=env)
    if file:
        return SecretRef(file=(doc.file.parent / file))
    return None


def _credentials(files: list[_File], problems: list[Problem]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    where_defined: dict[str, str] = {}
    for file in files:
        for name, cred in file.credentials.items():
            here = f"{file.doc.file}:{file.doc.line_of(('credentials', name))}"
            if name in result:
                problems.append(file.doc.problem(("credentials", name),
                                                 f"credentials {name!r} already defined "
                                                 f"at {where_defined[name]}"))
                continue
            where_defined[name] = here
            result[name] = _credential(file.doc, name, cred)
    return result





def _credential(doc: LocatedDocument, name: str, cred: Any) -> Any:
    if isinstance(cred, _Invalid):
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


def _devices(files: list[_File], categories: dict[str, Category],
             credentials: dict[str, Credentials], problems: list[Problem]) -> tuple[Device, ...]:
    every = [(file.doc, index, device) for file in files
             for index, device in enumerate(file.devices)]
    first_seen: dict[str, str] = {}
    for doc, index, device in every:
        where = ("devices", index)
        if not isinstance(device.id, str):
            continue
        if device.id in first_seen:
            problems.append(doc.problem(where + ("id",), f"duplicate id {device.id!r} "
                                                         f"(first at {first_seen[device.id]})"))
        else:
            first_seen[device.id] = f"{doc.file}:{doc.line_of(where)}"
    placed = [(doc, index, device) for doc, index, device in every
              if isinstance(device, schema.DeviceIn)]
    for doc, index, device in placed:
        problems.extend(_check_device(doc, ("devices", index), device, categories,
                                      credentials, first_seen))
    problems.extend(_parent_cycles(placed))
    return tuple(_device(doc, index, device) for doc, index, device in placed)


def _check_device(doc: LocatedDocument, where: Path_, device: schema.DeviceIn,
                  categories: dict[str, Category], credentials: dict[str, Credentials],
                  ids: dict[str, str]) -> Iterator[Problem]:
    if device.category not in categories:
        yield doc.problem(where + ("category",), f"unknown category {device.category!r}"
                                                 f"{_did_you_mean(device.category, categories)}")
    if device.parent is not None and device.parent not in ids:
        yield doc.problem(where + ("parent",), f"unknown parent {device.parent!r}"
                                               f"{_did_you_mean(device.parent, ids)}")
    if device.parent == device.id:
        yield doc.problem(where + ("parent",), "a device cannot be its own parent")
    if device.operating_hours is not None:
        try:
            OperatingHours.parse(device.operating_hours)
        except HoursError as exc:
            yield doc.problem(where + ("operating_hours",), str(exc))
    if isinstance(device.acquired, date):
        for field in ("support_ends", "retired"):
            value = getattr(device, field)
            if value is not None and value < device.acquired:
                yield doc.problem(where + (field,), f"{value} is before acquired "
                                                    f"({device.acquired})")
    if device.poll is not None:
        yield from _check_poll(doc, where + ("poll",), device.poll, credentials)


def _check_poll(doc: LocatedDocument, where: Path_, poll: schema.PollIn,
                credentials: dict[str, Credentials]) -> Iterator[Problem]:
    attempts = poll.retries + 1
    if poll.timeout * attempts >= poll.interval:
        yield doc.problem(where + ("timeout",),
                          f"a poll can take timeout x attempts = {poll.timeout:g}s x "
                          f"{attempts} = {poll.timeout * attempts:g}s, not less than its "
                          f"interval {poll.interval:g}s: lower timeout or retries, or "
                          "raise interval")
    if poll.credentials is not None:
        cred = credentials.get(poll.credentials)
        if isinstance(cred, _Invalid):
            pass  # its own problems are reported where it is defined
        elif cred is None:
            yield doc.problem(where + ("credentials",),
                              f"unknown credentials {poll.credentials!r}"
                              f"{_did_you_mean(poll.credentials, credentials)}")
        elif poll.protocol == "snmp" and not isinstance(cred, SnmpCredentials):
            yield doc.problem(where + ("credentials",),
                              f"credentials {poll.credentials!r} are not SNMP credentials")
        elif poll.protocol == "http" and not isinstance(cred, HttpCredentials):
            yield doc.problem(where + ("credentials",),
                              f"credentials {poll.credentials!r} are not HTTP credentials")
    elif poll.protocol == "snmp":
        yield doc.problem(where, "an snmp poll needs credentials (a key of credentials:)")


def _parent_cycles(placed: list[tuple[LocatedDocument, int, schema.DeviceIn]]
                   ) -> Iterator[Problem]:
    parent_of = {device.id: device.parent for _, _, device in placed}
    where = {device.id: (doc, index) for doc, index, device in placed}
    reported: set[str] = set()
    for start in parent_of:
        chain, node = [], start
        while node is not None and node in parent_of and node not in chain:
            chain.append(node)
            node = parent_of[node]
        if node is None or node not in chain or node in reported:
            continue
        cycle = chain[chain.index(node):]
        reported.update(cycle)
        if len(cycle) == 1:
            continue  # a device that is its own parent is reported by _check_device
        doc, index = where[node]
        shown = " -> ".join([*cycle, node])
        yield doc.problem(("devices", index, "parent"), f"parent cycle: {shown}")


def _device(doc: LocatedDocument, index: int, d: schema.DeviceIn) -> Device:
    acquired = date(d.acquired, 1, 1) if isinstance(d.acquired, int) else d.acquired
    vendor = d.vendor_dates
    return Device(
        id=d.id, name=d.name, category=d.category, vendor=d.vendor, model=d.model,
        serial=d.serial, site=d.site, location=d.location, goods_code=d.goods_code,
        acquired=acquired, acquired_year_only=isinstance(d.acquired, int),
        service_life_years=d.service_life_years, support_ends=d.support_ends,
        vendor_dates=VendorDates(**vendor.model_dump()) if vendor else VendorDates(),
        warranty_ends=d.warranty_ends, contract_ends=d.contract_ends,
        lease_ends=d.lease_ends, retired=d.retired, replaced_by=d.replaced_by,
        unit_cost_krw=d.unit_cost_krw, quantity=d.quantity,
        criticality=Criticality(d.criticality), parent=d.parent,
        operating_hours=d.operating_hours, sys_object_id=d.sys_object_id,
        tags=tuple(sorted(d.tags.items())), notes=d.notes,
        thresholds=_threshold_items(d.thresholds),
        poll=_poll(d.poll) if d.poll else None,
        source=Source(str(doc.file), doc.line_of(("devices", index))))


def _split_address(address: str, default_port: int | None) -> tuple[str, int | None]:
    """'127.0.0.1:161' -> ('127.0.0.1', 161); '[::1]:1161' -> ('::1', 1161)."""
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    host, _, port = address.partition(":")
    return host, int(port) if port else default_port


def _poll(p: schema.PollIn) -> PollSpec:
    default_port = 161 if p.protocol == "snmp" else None
    address, port = _split_address(p.address, default_port) if p.address else (None, None)
    return PollSpec(protocol=p.protocol, address=address,
                    port=port,
                    url=p.url, credentials=p.credentials, profile=p.profile,
                    interval=p.interval, timeout=p.timeout, retries=p.retries,
                    method=p.method, expect_status=tuple(p.expect_status),
                    expect_text=p.expect_text, expect_regex=p.expect_regex,
                    expect_json=tuple(p.expect_json), headers=tuple(p.headers.items()),
                    body=p.body, follow_redirects=p.follow_redirects, verify_tls=p.verify_tls,
                    monitored_interfaces=tuple(p.monitored_interfaces))


# ---- main-file sections ----------------------------------------------------------------

def _agent(main: _File, problems: list[Problem]) -> AgentSettings:
    assert main.parsed is not None
    a = main.parsed.agent or schema.AgentIn()
    try:
        ZoneInfo(a.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(main.doc.problem(("agent", "timezone"),
                                         f"unknown timezone {a.timezone!r} "
                                         "(use an IANA name such as Asia/Seoul)"))
    return AgentSettings(name=a.name, state_dir=Path(a.state_dir), timezone=a.timezone,
                         retention_days=a.retention_days, http_listen=a.http_listen,
                         log_format=a.log_format, max_in_flight=a.max_in_flight)


def _channel(doc: LocatedDocument, c: schema.ChannelIn) -> ChannelSpec:
    """A channel with its type-specific keys; secrets become references, lists tuples."""
    data = c.model_dump(by_alias=True, exclude={"name", "type"})
    options: dict[str, object] = {}
    for secret in ("password", "token"):
        ref = _secret(doc, data.pop(f"{secret}_env"), data.pop(f"{secret}_file"))
        if ref is not None:
            options[secret] = ref
    for key, value in data.items():
        if value in (None, [], {}):
            continue
        if isinstance(value, dict):
            value = tuple(sorted(value.items()))
        options[key] = tuple(value) if isinstance(value, list) else value
    return ChannelSpec(name=c.name, type=c.type, options=tuple(sorted(options.items())))


def _influx(main: _File) -> InfluxSettings | None:
    assert main.parsed is not None
    storage = main.parsed.storage
    if storage is None or storage.influxdb is None:
        return None
    i = storage.influxdb
    return InfluxSettings(url=i.url, org=i.org, bucket=i.bucket,
                          token=_secret(main.doc, i.token_env, i.token_file),
                          batch_size=i.batch_size, flush_interval=i.flush_interval,
                          spool_max_bytes=i.spool_max_mb * 1024 * 1024)


def _alerts(main: _File, problems: list[Problem]) -> AlertSettings:
    assert main.parsed is not None
    a = main.parsed.alerts
    if a is None:
        return AlertSettings()
    names = [c.name for c in a.channels]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append(main.doc.problem(("alerts", "channels", index, "name"),
                                             f"duplicate channel name {name!r}"))
    for index, route in enumerate(a.routes):
        for c_index, channel in enumerate(route.channels):
            if channel not in names:
                problems.append(main.doc.problem(
                    ("alerts", "routes", index, "channels", c_index),
                    f"unknown channel {channel!r}{_did_you_mean(channel, names)}"))
    channels = tuple(_channel(main.doc, c) for c in a.channels)
    routes = tuple(RouteSpec(match=tuple(sorted(r.match.items())), channels=tuple(r.channels),
                             group_by=tuple(r.group_by), continue_matching=r.continue_)
                   for r in a.routes)
    return AlertSettings(channels=channels, routes=routes,
                         thresholds=_threshold_items(a.thresholds),
                         category_thresholds=tuple(
                             (key, _threshold_items(value))
                             for key, value in sorted(a.thresholds.categories.items())),
                         lifecycle_horizon_months=a.lifecycle_horizon_months)


def _threshold_items(t: schema.ThresholdsIn | None) -> tuple[tuple[str, object], ...]:
    """The threshold keys actually written, sorted (defaults live in alerts.thresholds)."""
    if t is None:
        return ()
    written = t.model_dump(exclude_none=True, exclude={"categories"})
    return tuple(sorted(written.items()))


# ---- error messages --------------------------------------------------------------------

def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _located(doc: LocatedDocument, error: Any) -> Problem:
    """A pydantic error as a Problem at the line where the value was written."""
    loc: Path_ = tuple(part for part in error["loc"] if not _is_internal(part))
    kind, value = error["type"], error.get("input")
    if kind == "inline_secret":
        loc = (*loc, error["ctx"]["name"])   # point at the key holding the secret
    if kind == "extra_forbidden":
        key = loc[-1]
        hint = _did_you_mean(str(key), _allowed_keys(loc[:-1]))
        return doc.problem(loc, f"unknown key {key!r}{hint}")
    if kind == "missing":
        return Problem(str(doc.file), doc.line_of(loc[:-1]), format_path(loc),
                       "required key is missing")
    return doc.problem(loc, _message(kind, error, value))


def _is_internal(part: Any) -> bool:
    # pydantic adds union-branch and validator names to `loc`; keep only the data path.
    return isinstance(part, str) and ("[" in part and part.endswith("]") or
                                      part.startswith("function-"))


def _message(kind: str, error: Any, value: Any) -> str:
    if kind in ("literal_error", "enum"):
        return f"{error['msg'].replace('Input should be', 'must be')}: got {value!r}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"not a whole number: {value!r}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return f"{error['msg'].replace('Input should be', 'must be')}: got {value!r}"
    if kind in ("bool_parsing", "bool_type"):
        return f"not true or false: {value!r}"
    if kind in ("string_type",):
        return f"not text: {value!r}"
    if kind == "string_pattern_mismatch":
        return f"not a valid identifier or value: {value!r}"
    if kind in ("list_type",):
        return f"must be a list, not {type(value).__name__}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys, not {type(value).__name__}"
    # our own PydanticCustomError messages are already short and never echo secrets
    return error["msg"].removeprefix("Value error, ")


def _allowed_keys(loc: Path_) -> list[str]:
    """The keys the schema allows at `loc`, for did-you-mean hints."""
    annotation: Any = schema.ConfigFileIn
    for part in loc:
        model = _unwrap(annotation)
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = _field(model, part)
            if field is None:
                return []
            annotation = field
        elif typing.get_origin(model) is list and isinstance(part, int):
            annotation = typing.get_args(model)[0]
        elif typing.get_origin(model) is dict:
            annotation = typing.get_args(model)[1]
        else:
            return []
    model = _unwrap(annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _field(model: type[BaseModel], key: Any) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional/Union to the one model, list or dict inside."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(annotation) if a is not type(None)]
            structured = [a for a in inner if typing.get_origin(a) in (list, dict)
                          or (isinstance(a, type) and issubclass(a, BaseModel))
                          or typing.get_origin(a) is typing.Annotated]
            annotation = structured[0] if structured else inner[0]
        else:
            return annotation

"""Load a configuration into the inventory: every problem at once, nothing half-loaded.

`load_config(path)` has `config.loader` read and validate the files, then builds what
spans them: the service-life categories (the table, then each file's `service_life:`
overrides), the devices (duplicate ids, unknown categories, parents and credentials,
parent cycles, opening hours, poll deadlines) and, only when nothing is wrong, the frozen
`Config`. Any problem raises `ConfigError` listing all of them as `FILE:LINE: path: message`.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from config import schema
from config.errors import ConfigError, Path_, Problem, did_you_mean
from config.expectations import parse as parse_expectation
from config.loader import (
    ConfigFile,
    ConfigSource,
    Invalid,
    cluster_settings,
    read_config,
    read_service_life_table,
    threshold_items,
)
from config.messages import Message, said
from config.model import (
    ConsoleSettings,
    Credentials,
    HttpCredentials,
    SnmpCredentials,
    TrapSettings,
)
from config.source import LocatedDocument
from inventory.category_names import CategoryIndex
from inventory.hours import HoursError, OperatingHours
from inventory.model import (
    PING_COUNT,
    PING_INTERVAL,
    Category,
    Config,
    Criticality,
    Device,
    LifeRule,
    Order,
    PlanSettings,
    PollSpec,
    Project,
    Source,
    VendorDates,
)


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
        return _build(read_config(Path(path)))


def _build(source: ConfigSource) -> Config:
    problems = list(source.problems)
    settings = source.settings
    categories = {}
    try:
        categories = load_service_life_table(settings.service_life_table if settings else None)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if settings is not None:
        categories = _apply_overrides(categories, source.files, problems)
    # Checked even when the main file is invalid, so that every problem is reported at once.
    devices = _devices(source.files, categories, source.credentials, problems)
    plan = _plan_settings(source.files[0] if source.files else None, categories, devices,
                          problems)
    console = _console(source.files[0], problems) if source.files else ConsoleSettings()
    if problems or settings is None:
        raise ConfigError(problems, lang=settings.agent.lang if settings else None)
    # with no problems, no Invalid placeholder is left in credentials
    credentials = {name: c for name, c in source.credentials.items()
                   if not isinstance(c, Invalid)}
    return Config(path=source.path, files=tuple(f.doc.file for f in source.files),
                  agent=settings.agent, influxdb=settings.influxdb, categories=categories,
                  credentials=credentials, devices=devices, alerts=settings.alerts, plan=plan,
                  traps=_traps(source.files[0]), console=console,
                  cluster=cluster_settings(source.files[0]))


def _traps(main: ConfigFile) -> TrapSettings | None:
    """The trap receiver's settings: only when the main file has `traps:`."""
    traps = main.parsed.traps if main.parsed is not None else None
    if traps is None:
        return None
    listen = schema.parse_trap_listen(traps.listen)
    assert listen is not None       # the schema checked it
    return TrapSettings(host=listen[0], port=listen[1], rate_per_source=traps.rate_per_source,
                        burst=traps.burst)


def _console(main: ConfigFile, problems: list[Problem]) -> ConsoleSettings:
    """The web console's access (`console:`). A console reachable beyond loopback, or one
    that changes alerts, needs someone to log in: refused here, so `run` never starts it."""
    parsed = main.parsed
    if parsed is None:
        return ConsoleSettings()
    c = parsed.console or schema.ConsoleIn()
    folder = main.doc.file.parent
    settings = ConsoleSettings(
        read_only=c.read_only, users_file=folder / c.users_file if c.users_file else None,
        proxy_user_header=c.proxy_user_header, proxy_addresses=tuple(c.proxy_addresses),
        tls_cert_file=folder / c.tls_cert_file if c.tls_cert_file else None,
        tls_key_file=folder / c.tls_key_file if c.tls_key_file else None,
        https_proxy=c.https_proxy, session_seconds=c.session,
        login_attempts=c.login_attempts, login_window_seconds=c.login_window,
        refresh_seconds=c.refresh, grafana_url=c.grafana_url)
    listen = parsed.agent.http_listen if parsed.agent is not None else None
    address = schema.parse_http_listen(listen) if listen else None
    if (address is not None and schema.parse_listen_address(listen or "") is None
            and not settings.authenticates):
        problems.append(main.doc.problem(
            ("agent", "http_listen"), said("reachable_console", listen=str(listen))))
    if not settings.read_only and not settings.authenticates:
        problems.append(main.doc.problem(
            ("console", "read_only"), said("writable_console")))
    return settings


# ---- service-life table ----------------------------------------------------------------

def load_service_life_table(path: str | Path | None = None) -> dict[str, Category]:
    """The service-life categories of a table (default: the shipped
    config/service_life.yaml). Raises ConfigError."""
    doc, table = read_service_life_table(Path(path) if path is not None else None)
    problems: list[Problem] = []
    categories = {}
    for key, entry in table.categories.items():
        where = ("categories", key)
        rules = _rules(entry, doc, where, problems, source_default=doc.file.name)
        categories[key] = Category(key=key, name_ko=entry.name_ko or key,
                                   name_en=entry.name_en or key, rules=rules,
                                   aliases=tuple(entry.aliases),
                                   unit_ko=entry.unit_ko or "대")
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
        problems.append(doc.problem(where, said("category_needs_years")))
        return ()
    return _ordered_rules(rules, doc, where, problems)


def _ordered_rules(rules: list[LifeRule], doc: LocatedDocument, where: Path_,
                   problems: list[Problem]) -> tuple[LifeRule, ...]:
    undated = [r for r in rules if r.effective_from is None]
    if len(undated) > 1:
        problems.append(doc.problem(where, said("one_undated_rule")))
    dated = sorted((r for r in rules if r.effective_from is not None),
                   key=lambda r: r.effective_from or date.min)
    starts = [r.effective_from for r in dated]
    if len(set(starts)) != len(starts):
        problems.append(doc.problem(where, said("same_effective_from")))
    return tuple(undated[:1] + dated)


def _apply_overrides(categories: dict[str, Category], files: tuple[ConfigFile, ...],
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
                hint = did_you_mean(key, result)
                problems.append(file.doc.problem(
                    where, said("unknown_new_category", key=repr(key), hint=hint)))
                continue
            if old is not None and entry.rules is None and entry.effective_from is not None:
                rules = _ordered_rules([*old.rules, *rules], file.doc, where, problems)
            result[key] = Category(
                key=key,
                name_ko=entry.name_ko or (old.name_ko if old else key),
                name_en=entry.name_en or (old.name_en if old else key),
                rules=rules,
                aliases=tuple(entry.aliases) or (old.aliases if old else ()),
                unit_ko=entry.unit_ko or (old.unit_ko if old else "대"))
    return result


# ---- devices ---------------------------------------------------------------------------

def _devices(files: tuple[ConfigFile, ...], categories: dict[str, Category],
             credentials: dict[str, Credentials | Invalid], problems: list[Problem]
             ) -> tuple[Device, ...]:
    every = [(file.doc, index, device) for file in files
             for index, device in enumerate(file.devices)]
    first_seen: dict[str, str] = {}
    for doc, index, device in every:
        where = ("devices", index)
        if not isinstance(device.id, str):
            continue
        if device.id in first_seen:
            problems.append(doc.problem((*where, "id"), said(
                "duplicate_id", id=repr(device.id), first=first_seen[device.id])))
        else:
            first_seen[device.id] = f"{doc.file}:{doc.line_of(where)}"
    placed = [(doc, index, device) for doc, index, device in every
              if isinstance(device, schema.DeviceIn)]
    names = CategoryIndex(categories)
    for doc, index, device in placed:
        problems.extend(_check_device(doc, ("devices", index), device, names,
                                      credentials, first_seen))
    problems.extend(_parent_cycles(placed))
    return tuple(_device(doc, index, device, names.find(device.category) or device.category)
                 for doc, index, device in placed)


def _check_device(doc: LocatedDocument, where: Path_, device: schema.DeviceIn,
                  categories: CategoryIndex, credentials: dict[str, Credentials | Invalid],
                  ids: dict[str, str]) -> Iterator[Problem]:
    # A category is its key or any of its names (스위치, Backbone switch, 행정망 백본).
    if categories.find(device.category) is None:
        yield doc.problem((*where, "category"), _unknown_category(device.category,
                                                                  categories))
    if device.parent is not None and device.parent not in ids:
        yield doc.problem((*where, "parent"), said("unknown_parent", value=repr(device.parent),
                                                   hint=did_you_mean(device.parent, ids)))
    if device.parent == device.id:
        yield doc.problem((*where, "parent"), said("own_parent"))
    if device.operating_hours is not None:
        try:
            OperatingHours.parse(device.operating_hours)
        except HoursError as exc:
            yield doc.problem((*where, "operating_hours"), said("bad_hours", why=str(exc)))
    acquired_year = (device.acquired if isinstance(device.acquired, int)
                     else device.acquired.year if device.acquired else None)
    if device.replaced_in is not None and acquired_year and device.replaced_in < acquired_year:
        yield doc.problem((*where, "replaced_in"), said(
            "replaced_before_acquired", year=str(device.replaced_in),
            acquired=str(acquired_year)))
    if isinstance(device.acquired, date):
        for field in ("support_ends", "retired"):
            value = getattr(device, field)
            if value is not None and value < device.acquired:
                yield doc.problem((*where, field), said(
                    "before_acquired", value=str(value), acquired=str(device.acquired)))
    if device.poll is not None:
        yield from _check_poll(doc, (*where, "poll"), device.poll, credentials)


def _check_poll(doc: LocatedDocument, where: Path_, poll: schema.PollIn,
                credentials: dict[str, Credentials | Invalid]) -> Iterator[Problem]:
    attempts = poll.retries + 1
    if poll.protocol == "icmp":
        spec = _poll(poll)
        if spec.deadline >= poll.interval:
            yield doc.problem((*where, "timeout"), said(
                "ping_too_long", deadline=f"{spec.deadline:g}", interval=f"{poll.interval:g}"))
    elif poll.timeout * attempts >= poll.interval:
        yield doc.problem((*where, "timeout"), said(
            "request_too_long", timeout=f"{poll.timeout:g}", attempts=str(attempts),
            total=f"{poll.timeout * attempts:g}", interval=f"{poll.interval:g}"))
    if poll.credentials is not None:
        cred = credentials.get(poll.credentials)
        if isinstance(cred, Invalid):
            pass  # its own problems are reported where it is defined
        elif cred is None:
            yield doc.problem((*where, "credentials"), said(
                "unknown_credentials", name=repr(poll.credentials),
                hint=did_you_mean(poll.credentials, credentials)))
        elif poll.protocol == "snmp" and not isinstance(cred, SnmpCredentials):
            yield doc.problem((*where, "credentials"),
                              said("not_snmp_credentials", name=repr(poll.credentials)))
        elif poll.protocol == "http" and not isinstance(cred, HttpCredentials):
            yield doc.problem((*where, "credentials"),
                              said("not_http_credentials", name=repr(poll.credentials)))
    elif poll.protocol == "snmp":
        yield doc.problem(where, said("snmp_needs_credentials"))


def _parent_cycles(placed: list[tuple[LocatedDocument, int, schema.DeviceIn]]
                   ) -> Iterator[Problem]:
    parent_of = {device.id: device.parent for _, _, device in placed}
    where = {device.id: (doc, index) for doc, index, device in placed}
    reported: set[str] = set()
    for start in parent_of:
        chain: list[str] = []
        node: str | None = start
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
        yield doc.problem(("devices", index, "parent"), said("parent_cycle", cycle=shown))


def _device(doc: LocatedDocument, index: int, d: schema.DeviceIn, category: str) -> Device:
    acquired = date(d.acquired, 1, 1) if isinstance(d.acquired, int) else d.acquired
    vendor = d.vendor_dates
    return Device(
        id=d.id, name=d.name, category=category, vendor=d.vendor, model=d.model,
        serial=d.serial, site=d.site, location=d.location, goods_code=d.goods_code,
        acquired=acquired, acquired_year_only=isinstance(d.acquired, int),
        service_life_years=d.service_life_years, support_ends=d.support_ends,
        vendor_dates=VendorDates(**vendor.model_dump()) if vendor else VendorDates(),
        warranty_ends=d.warranty_ends, contract_ends=d.contract_ends,
        lease_ends=d.lease_ends, retired=d.retired, replaced_by=d.replaced_by,
        unit_cost_krw=d.unit_cost_krw, quantity=d.quantity,
        criticality=Criticality(d.criticality), parent=d.parent,
        operating_hours=d.operating_hours, sys_object_id=d.sys_object_id,
        tags=tuple(sorted(d.tags.items())), notes=d.notes, function=d.function,
        funding=d.funding, replaced_in=d.replaced_in,
        thresholds=threshold_items(d.thresholds),
        poll=_poll(d.poll) if d.poll else None,
        source=Source(str(doc.file), doc.line_of(("devices", index))))


def _split_address(address: str, default_port: int | None) -> tuple[str, int | None]:
    """'127.0.0.1:161' -> ('127.0.0.1', 161); '[::1]:1161' -> ('::1', 1161); '::1' (an
    IPv6 address without brackets, as an icmp poll may give it) -> ('::1', default)."""
    if address.count(":") > 1 and not address.startswith("["):
        return address, default_port
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
                    expect_json=tuple(parse_expectation(text) for text in p.expect_json),
                    headers=tuple(p.headers.items()),
                    body=p.body, follow_redirects=p.follow_redirects, verify_tls=p.verify_tls,
                    monitored_interfaces=tuple(p.monitored_interfaces),
                    count=p.count if p.count is not None else PING_COUNT,
                    ping_interval=(p.ping_interval if p.ping_interval is not None
                                   else PING_INTERVAL),
                    send=p.send)


# ---- the replacement plan's projects -----------------------------------------------------

def _plan_settings(main: ConfigFile | None, categories: dict[str, Category],
                   devices: tuple[Device, ...], problems: list[Problem]) -> PlanSettings:
    """The main file's `plan:`: its projects in order, then a project per category that has
    a schedule of its own. Category names are read as in devices; ids must exist."""
    section = main.parsed.plan if main is not None and main.parsed is not None else None
    if main is None or section is None:
        return PlanSettings()
    names, ids = CategoryIndex(categories), {device.id for device in devices}
    projects: list[Project] = []
    claimed: dict[str, str] = {}
    for index, entry in enumerate(section.projects):
        where: Path_ = ("plan", "projects", index)
        keys = _plan_categories(main, where, entry.categories, names, problems)
        for key in keys:
            if key in claimed:
                problems.append(main.doc.problem((*where, "categories"), said(
                    "category_in_project", key=repr(key), project=repr(claimed[key]))))
            claimed[key] = entry.key
        for number, device_id in enumerate(entry.devices):
            if device_id not in ids:
                problems.append(main.doc.problem((*where, "devices", number), said(
                    "unknown_device", id=repr(device_id), hint=did_you_mean(device_id, ids))))
        projects.append(_project(entry, entry.key, entry.name_ko, entry.name_en or entry.key,
                                 keys, tuple(entry.devices)))
    for written, schedule in section.categories.items():
        own = names.find(written)
        if own is None or own in claimed:
            why = (_unknown_category(written, names) if own is None else
                   said("category_capped_in_project", key=repr(own),
                        project=repr(claimed[own])))
            problems.append(main.doc.problem(("plan", "categories", written), why))
            continue
        category = categories[own]
        projects.append(_project(schedule, own, category.name_ko, category.name_en, (own,), ()))
    return PlanSettings(projects=tuple(projects), funding=section.funding)


def _plan_categories(main: ConfigFile, where: Path_, written: list[str], names: CategoryIndex,
                     problems: list[Problem]) -> tuple[str, ...]:
    keys = []
    for number, name in enumerate(written):
        key = names.find(name)
        if key is None:
            problems.append(main.doc.problem((*where, "categories", number),
                                             _unknown_category(name, names)))
        else:
            keys.append(key)
    return tuple(keys)


def _unknown_category(written: str, names: CategoryIndex) -> Message:
    """'unknown category' with the closest key or Korean name, as CategoryIndex.hint finds
    it (a looser match than a key's: names are words)."""
    return said("unknown_category", value=repr(written),
                hint=did_you_mean(written, names.labels, cutoff=0.5))


def _project(schedule: schema.PlanScheduleIn, key: str, name_ko: str, name_en: str,
             categories: tuple[str, ...], devices: tuple[str, ...]) -> Project:
    cap_krw = schedule.cap_thousand_krw * 1000 if schedule.cap_thousand_krw else None
    return Project(key=key, name_ko=name_ko, name_en=name_en, categories=categories,
                   devices=devices, cap_units=schedule.cap_units, cap_krw=cap_krw,
                   order=Order(schedule.order))

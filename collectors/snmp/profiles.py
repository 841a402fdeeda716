"""Device kinds as data: loading, validating and compiling SNMP profiles.

A profile is a YAML file in `collectors/snmp/profiles/` (see that folder's files and
`collectors/README.md` for the format). Profiles whose name starts with `_` are
fragments: they can be extended but not named by a device. Validation happens once, at
load time, with errors that name the file and the key path; what comes out is a set of
frozen `Profile` records with OIDs already encoded, so a poll never parses anything.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from collectors.snmp import ber

PROFILE_DIR = Path(__file__).with_name("profiles")
_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class ProfileError(ValueError):
    """A profile file is missing, malformed or inconsistent. The message names the file."""


# --- the YAML schema ------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Oid = Annotated[str, Field(pattern=r"^\.?\d+(\.\d+)+$")]


class ColumnSpec(_Strict):
    name: Annotated[str, Field(pattern=_NAME)]
    oid: Oid
    tag: bool = False                   # a string (or enum word) carried as a tag
    hidden: bool = False                # fetched for another column's use only
    counter: Literal[32, 64] | None = None
    rate: str | None = None             # name of the per-second rate kept for alert rules
    scale: float | None = None          # multiply (e.g. tenths of a volt -> volts)
    scale_by: str | None = None         # multiply by another (hidden) column of the row
    integer: bool = False               # truncate after scaling
    enum: dict[int, str] | None = None  # documented meanings of an integer field
    oid_names: dict[Oid, str] | None = None  # an OID-valued column shown as a name (tags)
    fallback_for: str | None = None     # fetched only when that column is absent (32-bit)
    as_float: bool = False              # stored as a float, as other collectors store it
    absent: list[int] = []              # sentinels meaning "unknown" (-1, 2^32-1): no field
    map: dict[int, int] | None = None   # vendor value -> the shared meaning (`enum`'s keys)
    unit: str = ""
    description: str = ""


class DerivedSpec(_Strict):
    """One computed field, from exactly one of the three formulas."""

    name: Annotated[str, Field(pattern=_NAME)]
    percent_of: tuple[str, str] | None = None   # 100 * a / b, skipped when b is 0 or missing
    difference: tuple[str, str] | None = None   # a - b (free = total - used)
    sum: tuple[str, str] | None = None          # a + b (total = used + free)
    complement: str | None = None               # 100 - a (idle = 100 - active)
    measurement: str | None = None      # a routed table's: only that measurement's rows
    unit: str = "percent"
    description: str = ""


class SummarySpec(_Strict):
    """One more point made of a table's rows, as other tools report the whole device:
    Telegraf's `cpu=cpu-total` (the mean of the processors), memory pools summed."""

    measurement: str | None = None      # default: the table's
    tags: dict[str, str] = {}           # e.g. {cpu: cpu-total}
    mean: list[str] = []
    sum: list[str] = []
    derived: list[DerivedSpec] = []
    replaces_rows: bool = False         # only the summary is kept (pools mean nothing alone)


class CacheRowsSpec(_Strict):
    """Rows that another row counts as used although the OS can take them back at once:
    net-snmp's HOST-RESOURCES counts buffers and page cache as used physical memory,
    which psutil and every operator do not."""

    column: str                         # a tag column naming the row (hrStorageDescr)
    values: list[str] = Field(min_length=1)   # how those names begin: "Memory buffers"
    measurement: str                    # the rows this is subtracted from (mem)
    field: str                          # and their field (used)


class RouteSpec(_Strict):
    column: str                         # an OID-valued hidden column
    values: dict[Oid, str]              # its value -> measurement; other rows are dropped


class TableSpec(_Strict):
    name: Annotated[str, Field(pattern=_NAME)]
    measurement: str | None = None
    route: RouteSpec | None = None
    index_tag: str
    rows_hint: int = Field(default=8, ge=1, le=1000)
    max_rows: int | None = Field(default=None, ge=1)
    columns: list[ColumnSpec] = Field(min_length=1)
    derived: list[DerivedSpec] = []
    summary: SummarySpec | None = None
    cache_rows: CacheRowsSpec | None = None


class GroupSpec(_Strict):
    name: Annotated[str, Field(pattern=_NAME)]
    measurement: str
    tags: dict[str, str] = {}           # fixed tags of the point (cpu: cpu-total)
    unless: str | None = None           # a table: this group is its stand-in when it is empty
    fields: list[ColumnSpec] = Field(min_length=1)
    derived: list[DerivedSpec] = []


class DetectSpec(_Strict):
    """When `profile: auto` picks this profile: the device's sysObjectID is the OID
    (or, ending in `.*`, below it), and, if given, the device answers under `has`."""

    sysobjectid: Annotated[str, Field(pattern=r"^\.?\d+(\.\d+)*(\.\*)?$")]
    has: Oid | None = None


class ChassisSpec(_Strict):
    class_oid: Oid = Field(alias="class")
    serial: Oid
    model: Oid
    max_rows: int = Field(default=16, ge=1, le=256)


class IdentitySpec(_Strict):
    sys_descr: Oid | None = None
    sys_object_id: Oid | None = None
    sys_name: Oid | None = None
    uptime: Oid | None = None           # sysUpTime: reboot detection for counter rates
    chassis: ChassisSpec | None = None


TrapMeaning = Literal["on_battery", "on_mains", "battery_low", "battery_replace",
                      "overload", "selftest_failed",
                      "link_down", "link_up", "cold_start", "warm_start", "auth_failure",
                      "alarm", "alarm_cleared"]


class TrapSpec(_Strict):
    """A notification the device kind sends: its v2 OID (a v1 trap's enterprise.0.specific),
    a name, and what it means to the rules (collectors/snmp/traps.py). `alarms` names the
    alarm an `alarm`/`alarm_cleared` trap carries as an OID value (upsAlarmDescr) with the
    shared alarm names the rules read (OnBattery, LowBattery, BatteryBad, ...)."""

    oid: Oid
    name: Annotated[str, Field(pattern=_NAME)]
    meaning: TrapMeaning
    alarms: dict[Oid, str] = {}
    description: str = ""


class ProfileSpec(_Strict):
    name: str
    description: str = ""
    extends: list[str] = []
    detect: list[DetectSpec] = []       # not inherited: each profile says what it fits
    identity: IdentitySpec | None = None
    scalars: list[GroupSpec] = []
    tables: list[TableSpec] = []
    required: list[str] | None = None   # groups/tables whose absence makes a poll fail
    traps: list[TrapSpec] = []          # inherited, by OID: the notifications it understands

    @field_validator("extends", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


# --- compiled records -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Column:
    """One OID column (or scalar) with everything needed to turn its value into data."""

    name: str
    oid: bytes                          # encoded OID (the column, or the scalar instance)
    tag: bool = False
    hidden: bool = False
    counter: int | None = None
    rate: str | None = None
    scale: float | None = None
    scale_by: str | None = None
    integer: bool = False
    enum: Mapping[int, str] = field(default_factory=dict)
    oid_names: Mapping[bytes, str] = field(default_factory=dict)
    fallback_for: str | None = None
    as_float: bool = False
    absent: frozenset[int] = frozenset()
    value_map: Mapping[int, int] = field(default_factory=dict)
    unit: str = ""
    description: str = ""

    @property
    def oid_text(self) -> str:
        return ber.oid_text(self.oid)


DerivedFormula = Literal["percent_of", "difference", "sum", "complement"]


@dataclass(frozen=True, slots=True)
class Derived:
    """A field computed from others of the same point; floats, as percentages are."""

    name: str
    formula: DerivedFormula
    operands: tuple[str, ...]
    unit: str
    description: str
    measurement: str | None = None      # None: every row's

    def applies_to(self, measurement: str) -> bool:
        return self.measurement is None or self.measurement == measurement

    def value(self, fields: Mapping[str, object]) -> int | float | None:
        """The value, or None when an operand is missing (or a divisor is 0). A
        difference of integers (bytes) stays an integer; percentages are floats."""
        values: list[int | float] = []
        for name in self.operands:
            number = fields.get(name)
            if not isinstance(number, (int, float)) or isinstance(number, bool):
                return None
            values.append(number)
        if self.formula == "percent_of":
            return round(100.0 * values[0] / values[1], 3) if values[1] else None
        if self.formula == "difference":
            return values[0] - values[1]
        if self.formula == "sum":
            return values[0] + values[1]
        return round(100.0 - values[0], 3)

    @property
    def text(self) -> str:
        a = self.operands
        if self.formula == "percent_of":
            return f"{a[0]} / {a[1]} x 100"
        if self.formula in ("difference", "sum"):
            return f"{a[0]} {'-' if self.formula == 'difference' else '+'} {a[1]}"
        return f"100 - {a[0]}"


@dataclass(frozen=True, slots=True)
class Summary:
    """See SummarySpec."""

    measurement: str
    tags: Mapping[str, str]
    mean: tuple[str, ...]
    sum: tuple[str, ...]
    derived: tuple[Derived, ...]
    replaces_rows: bool


@dataclass(frozen=True, slots=True)
class CacheRows:
    """See CacheRowsSpec."""

    column: str
    values: tuple[str, ...]             # prefixes of the names
    measurement: str
    field: str

    def names(self, text: str | None) -> bool:
        return text is not None and text.startswith(self.values)


@dataclass(frozen=True, slots=True)
class Detect:
    """One way a device fits a profile (see DetectSpec)."""

    sys_object_id: tuple[int, ...]
    below: bool                         # the pattern ended in `.*`
    has: bytes | None

    def fits(self, sys_object_id: tuple[int, ...]) -> bool:
        if self.below:
            return (len(sys_object_id) > len(self.sys_object_id)
                    and sys_object_id[:len(self.sys_object_id)] == self.sys_object_id)
        return sys_object_id == self.sys_object_id

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Larger is more specific: more fixed sub-identifiers, exact before `.*`, a
        probe (`has`) before none."""
        return (len(self.sys_object_id), 0 if self.below else 1, 1 if self.has else 0)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    measurement: str | None
    route_column: str | None
    routes: Mapping[bytes, str]
    index_tag: str
    rows_hint: int
    max_rows: int | None
    columns: tuple[Column, ...]
    derived: tuple[Derived, ...] = ()
    summary: Summary | None = None
    cache_rows: CacheRows | None = None

    def measurements(self) -> tuple[str, ...]:
        """Every measurement the table's points go to, the summary's included."""
        found = [self.measurement] if self.measurement else list(self.routes.values())
        if self.summary is not None:
            if self.summary.replaces_rows and self.summary.measurement in found:
                found = [self.summary.measurement]
            found.append(self.summary.measurement)
        return tuple(dict.fromkeys(found))

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True, slots=True)
class Group:
    """Scalars that make one point."""

    name: str
    measurement: str
    fields: tuple[Column, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    unless: str | None = None           # a table that, when it has rows, makes this unneeded
    derived: tuple[Derived, ...] = ()


@dataclass(frozen=True, slots=True)
class IdentityObjects:
    """Where a profile reads what the device says it is (the poll's `base.Identity`)."""

    sys_descr: bytes | None
    sys_object_id: bytes | None
    sys_name: bytes | None
    uptime: bytes | None
    chassis: Table | None               # class, serial, model columns


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str
    chain: tuple[str, ...]              # itself and what it extends, for documentation
    detect: tuple[Detect, ...]
    identity: IdentityObjects
    groups: tuple[Group, ...]
    tables: tuple[Table, ...]
    required: tuple[str, ...]
    traps: tuple[TrapSpec, ...] = ()


class ProfileSet(Mapping[str, Profile]):
    """Every usable (non-fragment) profile by name."""

    def __init__(self, profiles: Mapping[str, Profile]) -> None:
        self._profiles = dict(profiles)

    def __getitem__(self, name: str) -> Profile:
        return self._profiles[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)

    def candidates(self, sys_object_id: tuple[int, ...]) -> list[tuple[Profile, Detect]]:
        """The profiles whose `detect` fits this sysObjectID, most specific first (then by
        name, so the choice never depends on file order)."""
        found = [(p, d) for p in self._profiles.values() for d in p.detect
                 if d.fits(sys_object_id)]
        return sorted(found, key=lambda pd: (tuple(-x for x in pd[1].specificity), pd[0].name))


# --- loading --------------------------------------------------------------------------

def load_profiles(directory: Path = PROFILE_DIR) -> ProfileSet:
    """Read, validate and compile every `*.yaml` in `directory`. Raises ProfileError."""
    specs: dict[str, tuple[Path, ProfileSpec]] = {}
    for path in sorted(directory.glob("*.yaml")):
        spec = _read(path)
        if spec.name != path.stem:
            raise ProfileError(f"{path}: name {spec.name!r} does not match the file name")
        specs[spec.name] = (path, spec)
    compiled = {name: _compile(name, specs) for name in specs if not name.startswith("_")}
    return ProfileSet(compiled)


def _read(path: Path) -> ProfileSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: {exc}") from None
    try:
        return ProfileSpec.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: " + ".".join(str(p) for p in err["loc"]) + f": {err['msg']}"
                 for err in exc.errors()]
        raise ProfileError("\n".join(lines)) from None


def _chain(name: str, specs: Mapping[str, tuple[Path, ProfileSpec]],
           seen: tuple[str, ...] = ()) -> list[ProfileSpec]:
    """Ancestors first, each once, so later profiles override earlier ones."""
    if name in seen:
        raise ProfileError(f"profile {name!r}: extends itself via {' -> '.join(seen)}")
    if name not in specs:
        where = f" (extended by {seen[-1]!r})" if seen else ""
        raise ProfileError(f"unknown profile {name!r}{where}")
    out: list[ProfileSpec] = []
    for parent in specs[name][1].extends:
        for spec in _chain(parent, specs, (*seen, name)):
            if spec not in out:
                out.append(spec)
    out.append(specs[name][1])
    return out


def _compile(name: str, specs: Mapping[str, tuple[Path, ProfileSpec]]) -> Profile:
    path = specs[name][0]
    try:
        chain = _chain(name, specs)
    except ProfileError as exc:
        raise ProfileError(f"{path}: {exc}") from None
    groups: dict[str, GroupSpec] = {}
    tables: dict[str, TableSpec] = {}
    identity = IdentitySpec()
    required: list[str] = []
    for spec in chain:
        groups.update((g.name, g) for g in spec.scalars)
        tables.update((t.name, t) for t in spec.tables)
        if spec.identity is not None:
            identity = identity.model_copy(update={
                key: getattr(spec.identity, key) for key in spec.identity.model_fields_set})
        if spec.required is not None:
            required = list(spec.required)
    try:
        profile = Profile(
            name=name, description=chain[-1].description,
            chain=tuple(s.name for s in reversed(chain)),
            detect=tuple(_detect(d) for d in chain[-1].detect),
            identity=_identity(identity),
            groups=tuple(_group(g) for g in groups.values()),
            tables=tuple(_table(t) for t in tables.values()),
            required=tuple(required),
            traps=tuple({t.oid.lstrip("."): t for s in chain for t in s.traps}.values()))
    except ValueError as exc:
        raise ProfileError(f"{path}: {exc}") from None
    _check(profile, path)
    return profile


def _enc(oid: str) -> bytes:
    return ber.encode_oid(ber.parse_oid(oid))


def _enc_optional(oid: str | None) -> bytes | None:
    return None if oid is None else _enc(oid)


def _column(spec: ColumnSpec) -> Column:
    return Column(
        name=spec.name, oid=_enc(spec.oid), tag=spec.tag, hidden=spec.hidden,
        counter=spec.counter, rate=spec.rate, scale=spec.scale, scale_by=spec.scale_by,
        integer=spec.integer, enum=dict(spec.enum or {}),
        oid_names={_enc(k): v for k, v in (spec.oid_names or {}).items()},
        fallback_for=spec.fallback_for, as_float=spec.as_float,
        absent=frozenset(spec.absent), value_map=dict(spec.map or {}), unit=spec.unit,
        description=spec.description)


def _derived(spec: DerivedSpec) -> Derived:
    given = [(formula, operands) for formula, operands in (
        ("percent_of", spec.percent_of), ("difference", spec.difference), ("sum", spec.sum),
        ("complement", (spec.complement,) if spec.complement else None)) if operands]
    if len(given) != 1:
        raise ValueError(f"derived {spec.name}: give exactly one of percent_of, difference, "
                         f"sum and complement")
    formula, operands = given[0]
    derived = Derived(spec.name, formula, tuple(operands), spec.unit, "",   # type: ignore[arg-type]
                      spec.measurement)
    return replace(derived, description=spec.description or derived.text)


def _group(spec: GroupSpec) -> Group:
    return Group(spec.name, spec.measurement, tuple(_column(c) for c in spec.fields),
                 tags=dict(spec.tags), unless=spec.unless,
                 derived=tuple(_derived(d) for d in spec.derived))


def _summary(spec: SummarySpec, table: TableSpec, measurement: str | None) -> Summary:
    where = spec.measurement or measurement
    if where is None:
        raise ValueError(f"table {table.name}: a routed table's summary needs a measurement")
    return Summary(where, dict(spec.tags), tuple(spec.mean), tuple(spec.sum),
                   tuple(_derived(d) for d in spec.derived), spec.replaces_rows)


def _detect(spec: DetectSpec) -> Detect:
    below = spec.sysobjectid.endswith(".*")
    oid = spec.sysobjectid.removesuffix(".*").lstrip(".")
    return Detect(tuple(int(p) for p in oid.split(".")), below, _enc_optional(spec.has))


def _table(spec: TableSpec) -> Table:
    if (spec.measurement is None) == (spec.route is None):
        raise ValueError(f"table {spec.name}: give exactly one of measurement and route")
    return Table(
        name=spec.name, measurement=spec.measurement,
        route_column=spec.route.column if spec.route else None,
        routes={_enc(k): v for k, v in spec.route.values.items()} if spec.route else {},
        index_tag=spec.index_tag, rows_hint=spec.rows_hint, max_rows=spec.max_rows,
        columns=tuple(_column(c) for c in spec.columns),
        derived=tuple(_derived(d) for d in spec.derived),
        summary=_summary(spec.summary, spec, spec.measurement) if spec.summary else None,
        cache_rows=CacheRows(spec.cache_rows.column, tuple(spec.cache_rows.values),
                             spec.cache_rows.measurement, spec.cache_rows.field)
        if spec.cache_rows else None)


def _identity(spec: IdentitySpec) -> IdentityObjects:
    chassis = None
    if spec.chassis is not None:
        c = spec.chassis
        chassis = Table(
            name="chassis", measurement=None, route_column=None, routes={},
            index_tag="entPhysicalIndex", rows_hint=c.max_rows, max_rows=c.max_rows,
            columns=(Column("class", _enc(c.class_oid), hidden=True),
                     Column("serial", _enc(c.serial), tag=True),
                     Column("model", _enc(c.model), tag=True)))
    return IdentityObjects(
        sys_descr=_enc_optional(spec.sys_descr), sys_object_id=_enc_optional(spec.sys_object_id),
        sys_name=_enc_optional(spec.sys_name), uptime=_enc_optional(spec.uptime),
        chassis=chassis)


def _check(profile: Profile, path: Path) -> None:
    """Consistency that the schema alone cannot express."""
    problems: list[str] = []
    names = {g.name for g in profile.groups} | {t.name for t in profile.tables}
    problems += [f"required {r!r} is not a scalar group or table" for r in profile.required
                 if r not in names]
    for table in profile.tables:
        cols = {c.name: c for c in table.columns}
        for col in table.columns:
            problems += _column_problems(f"table {table.name}", col, cols)
        if table.route_column and table.route_column not in cols:
            problems.append(f"table {table.name}: route column {table.route_column!r} missing")
        known = set(cols)
        for d in table.derived:
            problems += [f"table {table.name}: derived {d.name} uses unknown {n!r}"
                         for n in d.operands if n not in known]
            known.add(d.name)
        if table.summary is not None:
            problems += _summary_problems(table, table.summary, known)
        rows = table.cache_rows
        if rows is not None:
            if rows.column not in cols or not cols[rows.column].tag:
                problems.append(f"table {table.name}: cache_rows column {rows.column!r} "
                                f"is not a tag column")
            if rows.measurement not in table.measurements() or rows.field not in cols:
                problems.append(f"table {table.name}: cache_rows subtract from unknown "
                                f"{rows.measurement}.{rows.field}")
    tables = {t.name for t in profile.tables}
    for group in profile.groups:
        gcols = {c.name: c for c in group.fields}
        for col in group.fields:
            problems += _column_problems(f"scalars {group.name}", col, gcols)
        known = set(gcols)
        for d in group.derived:
            problems += [f"scalars {group.name}: derived {d.name} uses unknown {n!r}"
                         for n in d.operands if n not in known]
            known.add(d.name)
        if group.unless is not None and group.unless not in tables:
            problems.append(f"scalars {group.name}: unless {group.unless!r} is not a table")
    if problems:
        raise ProfileError(f"{path}: profile {profile.name}: " + "; ".join(problems))


def _summary_problems(table: Table, summary: Summary, known: set[str]) -> list[str]:
    out = [f"table {table.name}: summary uses unknown {n!r}"
           for n in (*summary.mean, *summary.sum) if n not in known]
    if not (summary.mean or summary.sum):
        out.append(f"table {table.name}: summary needs mean or sum fields")
    made = {*summary.mean, *summary.sum}
    for d in summary.derived:
        out += [f"table {table.name}: summary derived {d.name} uses unknown {n!r}"
                for n in d.operands if n not in made]
        made.add(d.name)
    return out


def _column_problems(where: str, col: Column, cols: Mapping[str, Column]) -> list[str]:
    out = []
    if col.tag and (col.as_float or col.value_map or col.absent):
        out.append(f"{where}: tag {col.name} cannot be as_float, mapped or have sentinels")
    if col.value_map and col.enum and not set(col.value_map.values()) <= set(col.enum):
        out.append(f"{where}: {col.name} maps to values its enum does not name")
    if col.tag and (col.counter or col.scale or col.rate):
        out.append(f"{where}: tag {col.name} cannot be a counter, scaled or rated")
    if col.rate and not col.counter:
        out.append(f"{where}: {col.name} has a rate but is not a counter")
    if col.scale_by and col.scale_by not in cols:
        out.append(f"{where}: {col.name} scales by unknown column {col.scale_by!r}")
    if col.fallback_for and col.fallback_for not in cols:
        out.append(f"{where}: {col.name} is a fallback for unknown {col.fallback_for!r}")
    return out

"""Device kinds as data: loading, validating and compiling SNMP profiles.

A profile is a YAML file in `collectors/snmp/profiles/` (see that folder's files and
`collectors/README.md` for the format). Profiles whose name starts with `_` are
fragments: they can be extended but not named by a device. Validation happens once, at
load time, with errors that name the file and the key path; what comes out is a set of
frozen `Profile` records with OIDs already encoded, so a poll never parses anything.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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
    unit: str = ""
    description: str = ""


class DerivedSpec(_Strict):
    name: Annotated[str, Field(pattern=_NAME)]
    percent_of: tuple[str, str]         # 100 * a / b, skipped when b is 0 or missing
    unit: str = "percent"
    description: str = ""


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


class GroupSpec(_Strict):
    name: Annotated[str, Field(pattern=_NAME)]
    measurement: str
    fields: list[ColumnSpec] = Field(min_length=1)


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


class ProfileSpec(_Strict):
    name: str
    description: str = ""
    extends: list[str] = []
    identity: IdentitySpec | None = None
    scalars: list[GroupSpec] = []
    tables: list[TableSpec] = []
    required: list[str] | None = None   # groups/tables whose absence makes a poll fail

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
    unit: str = ""
    description: str = ""

    @property
    def oid_text(self) -> str:
        return ber.oid_text(self.oid)


@dataclass(frozen=True, slots=True)
class Derived:
    name: str
    numerator: str
    denominator: str
    unit: str
    description: str


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

    def measurements(self) -> tuple[str, ...]:
        if self.measurement:
            return (self.measurement,)
        return tuple(dict.fromkeys(self.routes.values()))

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True, slots=True)
class Group:
    """Scalars that make one point."""

    name: str
    measurement: str
    fields: tuple[Column, ...]


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
    identity: IdentityObjects
    groups: tuple[Group, ...]
    tables: tuple[Table, ...]
    required: tuple[str, ...]


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
            identity=_identity(identity),
            groups=tuple(_group(g) for g in groups.values()),
            tables=tuple(_table(t) for t in tables.values()),
            required=tuple(required))
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
        fallback_for=spec.fallback_for, unit=spec.unit, description=spec.description)


def _group(spec: GroupSpec) -> Group:
    return Group(spec.name, spec.measurement, tuple(_column(c) for c in spec.fields))


def _table(spec: TableSpec) -> Table:
    if (spec.measurement is None) == (spec.route is None):
        raise ValueError(f"table {spec.name}: give exactly one of measurement and route")
    return Table(
        name=spec.name, measurement=spec.measurement,
        route_column=spec.route.column if spec.route else None,
        routes={_enc(k): v for k, v in spec.route.values.items()} if spec.route else {},
        index_tag=spec.index_tag, rows_hint=spec.rows_hint, max_rows=spec.max_rows,
        columns=tuple(_column(c) for c in spec.columns),
        derived=tuple(Derived(d.name, d.percent_of[0], d.percent_of[1], d.unit, d.description)
                      for d in spec.derived))


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
        for d in table.derived:
            problems += [f"table {table.name}: derived {d.name} uses unknown {n!r}"
                         for n in (d.numerator, d.denominator) if n not in cols]
    for group in profile.groups:
        for col in group.fields:
            problems += _column_problems(f"scalars {group.name}", col, {})
    if problems:
        raise ProfileError(f"{path}: profile {profile.name}: " + "; ".join(problems))


def _column_problems(where: str, col: Column, cols: Mapping[str, Column]) -> list[str]:
    out = []
    if col.tag and (col.counter or col.scale or col.rate):
        out.append(f"{where}: tag {col.name} cannot be a counter, scaled or rated")
    if col.rate and not col.counter:
        out.append(f"{where}: {col.name} has a rate but is not a counter")
    if col.scale_by and col.scale_by not in cols:
        out.append(f"{where}: {col.name} scales by unknown column {col.scale_by!r}")
    if col.fallback_for and col.fallback_for not in cols:
        out.append(f"{where}: {col.name} is a fallback for unknown {col.fallback_for!r}")
    return out

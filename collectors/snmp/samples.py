"""Turning fetched varbinds into Samples and an Identity, as the profile says.

Strings become tags, numbers fields; enum fields stay integers (their meanings are
documented in the profile and the catalogue). Counters are emitted raw and also listed
in `Built.counters` for the rate tracker.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from collectors.base import FieldValue, Identity, Sample
from collectors.snmp import ber
from collectors.snmp.profiles import Column, Profile, Table
from collectors.snmp.walker import Fetched, Value

_NUMERIC = frozenset({ber.INTEGER, ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS,
                      ber.COUNTER64})


@dataclass(frozen=True, slots=True)
class CounterValue:
    measurement: str
    index: str
    field: str
    name: str
    bits: int
    value: int


@dataclass(slots=True)
class Built:
    samples: list[Sample] = field(default_factory=list)
    counters: list[CounterValue] = field(default_factory=list)
    bad_values: list[str] = field(default_factory=list)   # wrong types, kept out of fields
    answered: set[str] = field(default_factory=set)      # groups/tables with data


def text(raw: bytes) -> str:
    """Octet-string display text. Korean devices often send CP949 (EUC-KR) aliases."""
    raw = raw.rstrip(b"\x00")
    for encoding in ("utf-8", "cp949"):
        try:
            return raw.decode(encoding).strip()
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1").strip()


def index_text(suffix: bytes) -> str:
    return ".".join(map(str, ber.decode_subids(suffix)))


def tag_value(col: Column, value: Value) -> str | None:
    tag, raw = value
    if raw is None or tag in ber.EXCEPTION_TAGS:
        return None
    if tag == ber.OBJECT_ID:
        assert isinstance(raw, bytes)
        return col.oid_names.get(raw) or ber.oid_text(raw)
    if isinstance(raw, bytes):
        if tag == ber.IP_ADDRESS and len(raw) == 4:
            return ".".join(map(str, raw))
        return text(raw) or None
    return col.enum.get(raw, str(raw))


def field_value(col: Column, value: Value, row: Mapping[str, Value] | None = None
                ) -> FieldValue | None:
    """The number to store, or None when the value is absent or not a number."""
    tag, raw = value
    if tag not in _NUMERIC or not isinstance(raw, int):
        return None
    number: int | float = raw
    if col.scale_by is not None:
        factor = (row or {}).get(col.scale_by)
        if factor is None or not isinstance(factor[1], int):
            return None
        number *= factor[1]
    if col.scale is not None:
        number = round(number * col.scale, 6)   # 0.01 * 191 is 1.9100000000000001
    if col.integer:
        number = int(number)
    return number


def identity(profile: Profile, fetched: Fetched, chassis: tuple[str | None, str | None]
             ) -> Identity:
    spec = profile.identity

    def scalar(oid: bytes | None) -> str | None:
        value = fetched.scalars.get(oid) if oid else None
        if value is None or not isinstance(value[1], bytes):
            return None
        return ber.oid_text(value[1]) if value[0] == ber.OBJECT_ID else text(value[1])

    return Identity(sys_descr=scalar(spec.sys_descr), sys_object_id=scalar(spec.sys_object_id),
                    sys_name=scalar(spec.sys_name) or None, serial=chassis[0], model=chassis[1])


def chassis(table: Table, fetched: Fetched) -> tuple[str | None, str | None] | None:
    """(serial, model) of the first ENTITY-MIB row whose class is chassis(3); None when
    the table did not answer at all (so a cached value can be kept)."""
    cls, serial, model = table.columns
    classes = fetched.columns.get(cls.oid)
    if not classes:
        return None
    for index, value in classes.items():
        if value[1] == 3:
            s = fetched.columns.get(serial.oid, {}).get(index)
            m = fetched.columns.get(model.oid, {}).get(index)
            return (tag_value(serial, s) if s else None, tag_value(model, m) if m else None)
    return (None, None)


def build(profile: Profile, fetched: Fetched, base_tags: Mapping[str, str],
          time: datetime) -> Built:
    out = Built()
    for group in profile.groups:
        fields: dict[str, FieldValue] = {}
        for col in group.fields:
            value = fetched.scalars.get(col.oid)
            if value is not None:
                _put(out, fields, col, value, None, group.measurement, "")
        if fields:
            out.answered.add(group.name)
            out.samples.append(Sample(group.measurement, dict(base_tags), fields, time))
    for table in profile.tables:
        _build_table(out, table, fetched, base_tags, time)
    return out


def _put(out: Built, fields: dict[str, FieldValue], col: Column, value: Value,
         row: Mapping[str, Value] | None, measurement: str, index: str) -> None:
    number = field_value(col, value, row)
    if number is None:
        if value[0] not in ber.EXCEPTION_TAGS:
            out.bad_values.append(f"{col.name}{'.' + index if index else ''}: not a number")
        return
    fields[col.name] = number
    if col.counter and isinstance(number, int):
        out.counters.append(CounterValue(measurement, index, col.name, col.rate or col.name,
                                         col.counter, number))


def _rows(table: Table, fetched: Fetched) -> dict[bytes, dict[str, Value]]:
    rows: dict[bytes, dict[str, Value]] = {}
    for col in table.columns:
        for index, value in fetched.columns.get(col.oid, {}).items():
            rows.setdefault(index, {})[col.name] = value
    return rows


def _build_table(out: Built, table: Table, fetched: Fetched, base_tags: Mapping[str, str],
                 time: datetime) -> None:
    rows = _rows(table, fetched)
    if rows:
        out.answered.add(table.name)
    for index, row in sorted(rows.items(), key=lambda item: ber.decode_subids(item[0])):
        measurement = _measurement(table, row)
        if measurement is None:
            continue
        idx = index_text(index)
        tags = dict(base_tags)
        tags[table.index_tag] = idx
        fields: dict[str, FieldValue] = {}
        for col in table.columns:
            value = row.get(col.name)
            if value is None or col.hidden:
                continue
            if col.tag:
                shown = tag_value(col, value)
                if shown is not None:
                    tags[col.name] = shown
            else:
                _put(out, fields, col, value, row, measurement, idx)
        for d in table.derived:
            num, den = fields.get(d.numerator), fields.get(d.denominator)
            if isinstance(num, (int, float)) and isinstance(den, (int, float)) and den:
                fields[d.name] = round(100.0 * num / den, 3)
        if fields:
            out.samples.append(Sample(measurement, tags, fields, time))


def _measurement(table: Table, row: Mapping[str, Value]) -> str | None:
    if table.measurement is not None:
        return table.measurement
    assert table.route_column is not None
    value = row.get(table.route_column)
    if value is None or not isinstance(value[1], bytes):
        return None
    return table.routes.get(value[1])

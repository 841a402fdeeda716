"""Turning fetched varbinds into Samples and an Identity, as the profile says.

Strings become tags, numbers fields; enum fields stay integers (their meanings are
documented in the profile and the catalogue). Counters are emitted raw and also listed
in `Built.counters` for the rate tracker.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter

from collectors.base import FieldValue, Identity, Sample
from collectors.snmp import ber
from collectors.snmp.counters import CounterValue
from collectors.snmp.profiles import Column, Derived, Profile, Summary, Table
from collectors.snmp.walker import Fetched, Value

_NUMERIC = frozenset({ber.INTEGER, ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS,
                      ber.COUNTER64})


@dataclass(slots=True)
class Built:
    samples: list[Sample] = field(default_factory=list)
    counters: list[CounterValue] = field(default_factory=list)
    bad_values: list[str] = field(default_factory=list)   # wrong types, kept out of fields
    answered: set[str] = field(default_factory=set)      # groups/tables with data


def text(raw: bytes) -> str:
    """Octet-string display text, as the device sends it: an operator's " uplink" alias
    keeps its leading space; only the C-string NULs some agents append go. Korean devices
    often send CP949 (EUC-KR) aliases."""
    raw = raw.rstrip(b"\x00")
    for encoding in ("utf-8", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def index_text(suffix: bytes) -> str:
    return ".".join(map(str, ber.decode_subids(suffix)))


_first = itemgetter(0)


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


class NoMeaningError(ValueError):
    """A mapped column's value that the profile gives no meaning to."""


def field_value(col: Column, value: Value, row: Mapping[str, Value] | None = None
                ) -> FieldValue | None:
    """The number to store, or None when the value is absent, a sentinel for "unknown",
    or not a number. Raises NoMeaningError for a value a `map` does not name."""
    tag, raw = value
    if tag not in _NUMERIC or not isinstance(raw, int) or raw in col.absent:
        return None
    if col.value_map:
        if raw not in col.value_map:
            raise NoMeaningError(f"{col.name}: value {raw} has no meaning in the profile")
        raw = col.value_map[raw]
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
    if col.as_float:
        number = float(number)
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
    for table in profile.tables:
        _build_table(out, table, fetched, base_tags, time)
    for group in profile.groups:
        if group.unless is not None and group.unless in out.answered:
            continue                    # the table said it better
        fields: dict[str, FieldValue] = {}
        for col in group.fields:
            value = fetched.scalars.get(col.oid)
            if value is not None:
                _put(out, fields, col, value, None, group.measurement, "")
        if fields:
            out.answered.add(group.name)
            _add_derived(fields, group.derived)
            out.samples.append(Sample(group.measurement, {**base_tags, **group.tags},
                                      fields, time))
    return out


def _add_derived(fields: dict[str, FieldValue], derived: Sequence[Derived]) -> None:
    for d in derived:
        value = d.value(fields)
        if value is not None:
            fields[d.name] = value


def _put(out: Built, fields: dict[str, FieldValue], col: Column, value: Value,
         row: Mapping[str, Value] | None, measurement: str, index: str) -> None:
    try:
        number = field_value(col, value, row)
    except NoMeaningError:
        out.bad_values.append(f"{_where(col, index)}: value {value[1]!r} has no meaning in "
                              f"the profile")
        return
    if number is None:
        if value[0] not in ber.EXCEPTION_TAGS and (
                not isinstance(value[1], int) or value[1] not in col.absent):
            why = value[1].reason if isinstance(value[1], ber.BadValue) else "not a number"
            out.bad_values.append(f"{_where(col, index)}: {why}")
        return
    fields[col.name] = number
    if col.counter and isinstance(number, int):
        out.counters.append(CounterValue(measurement, index, col.name, col.rate or col.name,
                                         col.counter, number))


def _where(col: Column, index: str) -> str:
    return f"{col.name}{'.' + index if index else ''}"


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
    cached = _cached(out, table, rows)
    points: list[Sample] = []
    # Each row's index decoded once: the order of the rows, and their index tag.
    keyed = sorted([(ber.decode_subids(index), row) for index, row in rows.items()],
                   key=_first)
    for subids, row in keyed:
        measurement = _measurement(table, row)
        if measurement is None:
            continue
        idx = ".".join(map(str, subids))
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
        rule = table.cache_rows
        if rule is not None and cached and measurement == rule.measurement:
            used = fields.get(rule.field)
            if isinstance(used, int) and not isinstance(used, bool):
                fields[rule.field] = max(0, used - cached)
        if table.derived:
            _add_derived(fields, [d for d in table.derived if d.applies_to(measurement)])
        if fields:
            points.append(Sample(measurement, tags, fields, time))
    summary = table.summary
    if summary is not None:
        made = _summarise(summary, [p for p in points
                                    if p.measurement == summary.measurement], base_tags, time)
        if summary.replaces_rows:
            points = [p for p in points if p.measurement != summary.measurement]
        points += made
    out.samples += points


def _cached(out: Built, table: Table, rows: Mapping[bytes, Mapping[str, Value]]) -> int:
    """What the table's cache rows hold, in the subtracted field's unit (see CacheRows)."""
    rule = table.cache_rows
    if rule is None:
        return 0
    column, used = table.column(rule.column), table.column(rule.field)
    total = 0
    for index, row in rows.items():
        name, value = row.get(rule.column), row.get(rule.field)
        if name is None or value is None or not rule.names(tag_value(column, name)):
            continue
        number = field_value(used, value, row)
        if isinstance(number, int):
            total += number
        else:
            out.bad_values.append(f"{rule.field}.{index_text(index)}: not a number")
    return total


def _summarise(summary: Summary, points: Sequence[Sample], base_tags: Mapping[str, str],
               time: datetime) -> list[Sample]:
    fields: dict[str, FieldValue] = {}
    for name in summary.mean:
        values = _numbers(points, name)
        if values:
            fields[name] = round(sum(values) / len(values), 3)
    for name in summary.sum:
        values = _numbers(points, name)
        if values:
            fields[name] = sum(values)
    _add_derived(fields, summary.derived)
    if not fields:
        return []
    return [Sample(summary.measurement, {**base_tags, **summary.tags}, fields, time)]


def _numbers(points: Sequence[Sample], name: str) -> list[int | float]:
    return [v for p in points if isinstance(v := p.fields.get(name), (int, float))
            and not isinstance(v, bool)]


def _measurement(table: Table, row: Mapping[str, Value]) -> str | None:
    if table.measurement is not None:
        return table.measurement
    assert table.route_column is not None
    value = row.get(table.route_column)
    if value is None or not isinstance(value[1], bytes):
        return None
    return table.routes.get(value[1])

"""Turning answers into points: what the profile keys mean, on hand-made answers."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.snmp import ber
from collectors.snmp.profiles import Profile, load_profiles
from collectors.snmp.samples import build, text
from collectors.snmp.walker import Fetched

NOW = datetime(2026, 12, 1, tzinfo=UTC)

PROFILE = """
name: kit
scalars:
  - name: state
    measurement: ups
    fields:
      - {name: output_source, oid: 1.3.6.1.9.1.0, map: {2: 3, 3: 5}, enum: {3: normal, 5: battery}}
      - {name: minutes, oid: 1.3.6.1.9.2.0, absent: [-1, 4294967295]}
      - {name: load, oid: 1.3.6.1.9.3.0, as_float: true}
  - name: idle
    measurement: cpu
    tags: {cpu: cpu-total}
    unless: cpu
    fields:
      - {name: usage_idle, oid: 1.3.6.1.9.4.0, as_float: true}
    derived:
      - {name: usage_active, complement: usage_idle}
tables:
  - name: cpu
    measurement: cpu
    index_tag: cpu
    columns:
      - {name: usage_active, oid: 1.3.6.1.9.5.1.2, as_float: true}
    summary: {tags: {cpu: cpu-total}, mean: [usage_active]}
  - name: storage
    route: {column: type, values: {1.3.6.1.9.9.1: mem, 1.3.6.1.9.9.2: disk}}
    index_tag: i
    columns:
      - {name: type, oid: 1.3.6.1.9.6.1.1, hidden: true}
      - {name: path, oid: 1.3.6.1.9.6.1.2, tag: true}
      - {name: total, oid: 1.3.6.1.9.6.1.3}
      - {name: used, oid: 1.3.6.1.9.6.1.4}
    cache_rows: {column: path, values: ["Memory buffers", "Cached memory"],
                 measurement: mem, field: used}
    derived:
      - {name: free, difference: [total, used], measurement: disk, unit: bytes}
      - {name: used_percent, percent_of: [used, total]}
"""


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    folder: Path = tmp_path_factory.mktemp("profiles")
    (folder / "kit.yaml").write_text(PROFILE)
    return load_profiles(folder)["kit"]


def _oid(text_oid: str) -> bytes:
    return ber.encode_oid(ber.parse_oid(text_oid))


def _index(n: int) -> bytes:
    return ber.encode_oid((1, 3, n))[1:]    # the sub-identifier n alone (n < 128)


def _answers(scalars: dict[str, tuple[int, object]],
             columns: dict[str, dict[int, tuple[int, object]]]) -> Fetched:
    return Fetched(
        scalars={_oid(k): v for k, v in scalars.items()},                  # type: ignore[misc]
        columns={_oid(k): {_index(i): v for i, v in rows.items()}          # type: ignore[misc]
                 for k, rows in columns.items()})


def _points(kit: Profile, fetched: Fetched) -> dict[tuple[str, str], dict[str, object]]:
    built = build(kit, fetched, {"device": "d"}, NOW)
    return {(s.measurement, s.tags.get("cpu") or s.tags.get("i", "")): dict(s.fields)
            for s in built.samples}


def test_map_absent_and_float(kit: Profile) -> None:
    fetched = _answers({"1.3.6.1.9.1.0": (ber.INTEGER, 3),
                        "1.3.6.1.9.2.0": (ber.GAUGE32, 4294967295),
                        "1.3.6.1.9.3.0": (ber.INTEGER, 27)}, {})
    built = build(kit, fetched, {}, NOW)
    [ups] = [s for s in built.samples if s.measurement == "ups"]
    assert ups.fields == {"output_source": 5, "load": 27.0}     # battery; minutes unknown
    assert type(ups.fields["load"]) is float
    assert built.bad_values == []                               # a sentinel is no bad value


def test_a_vendor_value_without_meaning_is_a_bad_value(kit: Profile) -> None:
    built = build(kit, _answers({"1.3.6.1.9.1.0": (ber.INTEGER, 9)}, {}), {}, NOW)
    assert not [s for s in built.samples if s.measurement == "ups"]
    assert built.bad_values == ["output_source: value 9 has no meaning in the profile"]


def test_cpu_total_is_the_mean_of_the_processors_and_replaces_the_fallback(kit: Profile) -> None:
    points = _points(kit, _answers(
        {"1.3.6.1.9.4.0": (ber.INTEGER, 90)},
        {"1.3.6.1.9.5.1.2": {1: (ber.INTEGER, 10), 2: (ber.INTEGER, 31)}}))
    assert points[("cpu", "cpu-total")] == {"usage_active": 20.5}
    assert points[("cpu", "1")] == {"usage_active": 10.0}


def test_without_processor_rows_the_fallback_group_says_it(kit: Profile) -> None:
    points = _points(kit, _answers({"1.3.6.1.9.4.0": (ber.INTEGER, 90)}, {}))
    assert points[("cpu", "cpu-total")] == {"usage_idle": 90.0, "usage_active": 10.0}


def test_buffers_and_cache_are_not_used_memory(kit: Profile) -> None:
    ram, other, disk = (_oid("1.3.6.1.9.9.1"), _oid("1.3.6.1.9.9.3"), _oid("1.3.6.1.9.9.2"))
    rows = {1: (ram, b"Physical memory", 1000, 990), 6: (other, b"Memory buffers", 1000, 100),
            7: (other, b'Cached memory"', 400, 400), 31: (disk, b"/", 2000, 500)}
    fetched = _answers({}, {
        "1.3.6.1.9.6.1.1": {i: (ber.OBJECT_ID, r[0]) for i, r in rows.items()},
        "1.3.6.1.9.6.1.2": {i: (ber.OCTET_STRING, r[1]) for i, r in rows.items()},
        "1.3.6.1.9.6.1.3": {i: (ber.INTEGER, r[2]) for i, r in rows.items()},
        "1.3.6.1.9.6.1.4": {i: (ber.INTEGER, r[3]) for i, r in rows.items()}})
    points = _points(kit, fetched)
    assert points[("mem", "1")] == {"total": 1000, "used": 490, "used_percent": 49.0}
    assert points[("disk", "31")] == {"total": 2000, "used": 500, "free": 1500,
                                      "used_percent": 25.0}
    assert type(points[("disk", "31")]["free"]) is int


def test_text_is_kept_as_the_device_sends_it_but_for_trailing_nuls() -> None:
    assert text(b" uplink to core\x00\x00") == " uplink to core"
    assert text("  교육장 스위치".encode("cp949")) == "  교육장 스위치"

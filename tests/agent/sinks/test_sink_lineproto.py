"""Line protocol: our encoder against influxdb-client's Point, on generated samples."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client import Point, WritePrecision

from agent.sinks.lineproto import encode, encode_all, timestamp_ns
from collectors.base import Sample

SEOUL = ZoneInfo("Asia/Seoul")
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
values = st.one_of(st.integers(-2**63, 2**63 - 1), st.booleans(), text,
                   st.floats(allow_nan=True, allow_infinity=True))
times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
                     timezones=st.sampled_from([UTC, SEOUL]))


def _point_line(sample: Sample) -> str:
    point = Point.from_dict({"measurement": sample.measurement, "tags": dict(sample.tags),
                             "fields": dict(sample.fields), "time": sample.time},
                            write_precision=WritePrecision.NS)
    return point.to_line_protocol()


@settings(max_examples=300, deadline=None)
@given(measurement=text, tags=st.dictionaries(text, text, max_size=4),
       fields=st.dictionaries(text, values, min_size=1, max_size=4), time=times)
def test_same_bytes_as_influxdb_client_point(measurement, tags, fields, time):
    sample = Sample(measurement, tags, fields, time)
    ours = encode(sample)
    expected = _point_line(sample)
    assert (ours.decode("utf-8") if ours is not None else "") == expected


def test_escaping_types_and_nanoseconds():
    when = datetime(2024, 5, 1, 9, 0, 0, 123456, tzinfo=SEOUL)
    sample = Sample("if ace,x", {"ifDescr": "Gi 0/1,a=b", "site": "", "device_id": "sw-1"},
                    {"up": 1, "ratio": 0.5, "whole": 2.0, "ok": True, "name": 'a"b\\c',
                     "bad": float("nan")}, when)
    line = encode(sample).decode()
    assert line == ('if\\ ace\\,x,device_id=sw-1,ifDescr=Gi\\ 0/1\\,a\\=b '
                    'name="a\\"b\\\\c",ok=true,ratio=0.5,up=1i,whole=2 '
                    f"{timestamp_ns(when)}")
    assert timestamp_ns(when) == 1714521600123456000


def test_a_point_with_no_writable_field_is_skipped():
    now = datetime.now(UTC)
    samples = [Sample("m", {}, {"x": float("inf")}, now), Sample("m", {}, {"x": 1}, now)]
    assert encode_all(samples) == [f"m x=1i {timestamp_ns(now)}".encode()]


def test_timestamps_are_exact_across_zones():
    base = datetime(2030, 1, 1, tzinfo=UTC)
    for micros in (0, 1, 999_999, 123_456_789):
        when = base + timedelta(microseconds=micros)
        assert timestamp_ns(when.astimezone(SEOUL)) == 1893456000_000_000_000 + micros * 1000

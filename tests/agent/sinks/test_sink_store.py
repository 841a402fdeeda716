"""The embedded SQLite store: points kept as written, replaced like InfluxDB, pruned by age."""
from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.sinks import open_sink
from agent.sinks.influx import InfluxSink
from agent.sinks.store import EmbeddedStore, FieldsJson, read_points
from collectors.base import Sample
from config.sqlite import SchemaError
from inventory.load import load_config

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def interface(device: str, index: int, when: datetime, octets: int) -> Sample:
    return Sample("interface", {"device_id": device, "site": "hall", "ifIndex": str(index),
                                "ifName": f"Gi0/{index}"},
                  {"ifHCInOctets": octets, "ifOperStatus": 1, "util": 0.25, "up": True}, when)


def test_points_come_back_as_written_series_by_series(tmp_path: Path):
    store = EmbeddedStore(tmp_path / "m.sqlite3", prune_every=None)
    written = [interface("sw-1", i, NOW + timedelta(seconds=t), t * 10 + i)
               for t in range(3) for i in (2, 1)]
    store.write([*written, interface("sw-2", 1, NOW, 5)])
    store.close()
    back = list(read_points(tmp_path / "m.sqlite3", "sw-1"))
    expected = sorted(written, key=lambda s: (s.tags["ifIndex"], s.time))
    assert back == expected
    assert all(type(p.fields["ifHCInOctets"]) is int and p.fields["up"] is True for p in back)
    assert store.stats().points_written == 7 and store.stats().kind == "embedded"


def test_filters_by_measurement_and_since(tmp_path: Path):
    store = EmbeddedStore(tmp_path / "m.sqlite3", prune_every=None)
    store.write([interface("sw-1", 1, NOW - timedelta(hours=2), 1),
                 interface("sw-1", 1, NOW, 2),
                 Sample("lifeline_poll", {"device_id": "sw-1"}, {"up": 1}, NOW)])
    store.close()
    path = tmp_path / "m.sqlite3"
    recent = read_points(path, "sw-1", measurement="interface", since=NOW - timedelta(hours=1))
    assert [p.fields["ifHCInOctets"] for p in recent] == [2]
    assert [p.measurement for p in read_points(path, "sw-1", since=NOW)] == \
        ["interface", "lifeline_poll"]
    assert list(read_points(tmp_path / "missing.sqlite3", "sw-1")) == []


def test_same_series_and_time_replaces_as_influxdb_does(tmp_path: Path):
    store = EmbeddedStore(tmp_path / "m.sqlite3", prune_every=None)
    store.write([interface("sw-1", 1, NOW, 1)])
    store.write([interface("sw-1", 1, NOW, 2)])
    store.close()
    assert [p.fields["ifHCInOctets"] for p in read_points(tmp_path / "m.sqlite3", "sw-1")] == [2]


def test_a_failed_write_keeps_nothing_and_the_next_one_works(tmp_path: Path):
    store = EmbeddedStore(tmp_path / "m.sqlite3", prune_every=None)
    bad = Sample("odd", {"device_id": "sw-1"}, {"value": object()}, NOW)  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        store.write([interface("sw-1", 1, NOW, 1), bad])
    store.write([interface("sw-1", 1, NOW, 2)])
    store.close()
    assert [p.fields["ifHCInOctets"] for p in read_points(tmp_path / "m.sqlite3", "sw-1")] == [2]
    stats = store.stats()
    assert (stats.points_written, stats.write_errors) == (1, 1)
    assert "not JSON serializable" in (stats.last_error or "")


def test_retention_prunes_by_the_injected_clock(tmp_path: Path):
    clock = [NOW]
    store = EmbeddedStore(tmp_path / "m.sqlite3", retention_days=30, clock=lambda: clock[0],
                          prune_every=None)
    store.write([interface("sw-1", 1, NOW - timedelta(days=d), d) for d in (0, 10, 29, 31, 60)])
    assert store.prune() == 2
    clock[0] = NOW + timedelta(days=20)
    assert store.prune() == 1                   # the 10-day-old one is now 30 days old
    store.close()
    assert sorted(p.fields["ifHCInOctets"] for p in read_points(tmp_path / "m.sqlite3",
                                                                 "sw-1")) == [0, 10]


def test_the_retention_thread_prunes_at_open(tmp_path: Path):
    path = tmp_path / "m.sqlite3"
    old = EmbeddedStore(path, prune_every=None)
    old.write([interface("sw-1", 1, NOW - timedelta(days=400), 1)])
    old.close()
    store = EmbeddedStore(path, retention_days=30, clock=lambda: NOW, prune_every=3600)
    store.close()                               # joins the thread after its first run
    assert list(read_points(path, "sw-1")) == []


def test_wal_mode_and_concurrent_writers(tmp_path: Path):
    store = EmbeddedStore(tmp_path / "m.sqlite3", prune_every=None)
    threads = [threading.Thread(target=lambda k=k: [store.write(
        [interface(f"sw-{k}", 1, NOW + timedelta(seconds=n), n)]) for n in range(50)])
        for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    db = sqlite3.connect(tmp_path / "m.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT count(*) FROM points").fetchone()[0] == 200


def test_open_sink_picks_the_store_or_influxdb_from_the_config(write, tmp_path: Path):
    plain = write("plain.yaml", f"""
        agent: {{state_dir: {tmp_path / 'var1'}, retention_days: 7}}
        devices: []
        """)
    sink = open_sink(load_config(plain))
    assert isinstance(sink, EmbeddedStore) and sink.retention == timedelta(days=7)
    assert sink.path == tmp_path / "var1" / "metrics.sqlite3"
    sink.close()
    influx = write("influx.yaml", f"""
        agent: {{state_dir: {tmp_path / 'var2'}}}
        storage:
          influxdb: {{url: "http://127.0.0.1:9", org: o, bucket: b, spool_max_mb: 1}}
        devices: []
        """)
    sink = open_sink(load_config(influx))
    assert isinstance(sink, InfluxSink)
    assert (tmp_path / "var2" / "spool" / "cursor.json").exists()
    assert sink.stats().kind == "influxdb"
    sink.close(timeout=0.1)


# metrics.sqlite3 as the store wrote it before it kept a schema version (no
# schema_version table), verbatim.
_UNVERSIONED_LAYOUT = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    measurement TEXT NOT NULL,
    device_id TEXT NOT NULL,
    tags TEXT NOT NULL,
    UNIQUE (measurement, tags)
);
CREATE INDEX IF NOT EXISTS series_device ON series (device_id, measurement);
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL REFERENCES series (id),
    time_ns INTEGER NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (series_id, time_ns)
) WITHOUT ROWID;
"""


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def test_a_store_from_before_schema_versions_opens_and_keeps_its_points(tmp_path: Path):
    path = tmp_path / "metrics.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("PRAGMA journal_mode=WAL")
    old.executescript(_UNVERSIONED_LAYOUT)
    earlier = interface("sw-1", 1, NOW, 1)
    old.execute("INSERT INTO series (measurement, device_id, tags) VALUES (?, ?, ?)",
                (earlier.measurement, "sw-1", _compact(dict(earlier.tags))))
    old.execute("INSERT INTO points VALUES (1, ?, ?)",
                (int(NOW.timestamp()) * 10**9, _compact(dict(earlier.fields))))
    old.close()

    store = EmbeddedStore(path, prune_every=None)
    store.write([interface("sw-1", 1, NOW + timedelta(seconds=10), 2)])   # the same series
    store.close()
    again = EmbeddedStore(path, prune_every=None)           # at version 1: nothing to do
    again.close()

    assert [(p.time, p.fields["ifHCInOctets"]) for p in read_points(path, "sw-1")] == \
        [(NOW, 1), (NOW + timedelta(seconds=10), 2)]
    db = sqlite3.connect(path)
    assert db.execute("SELECT store, version FROM schema_version").fetchall() == [("metrics", 1)]
    assert db.execute("SELECT count(*) FROM series").fetchone() == (1,)
    db.close()


def test_a_store_from_a_newer_lifeline_is_refused(tmp_path: Path):
    path = tmp_path / "metrics.sqlite3"
    EmbeddedStore(path, prune_every=None).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = 2 WHERE store = 'metrics'")
    db.commit()
    db.close()
    with pytest.raises(SchemaError, match="metrics tables are at schema version 2"):
        EmbeddedStore(path, prune_every=None)


@pytest.mark.parametrize("fields", [
    {"ifHCInOctets": 2**64 - 1, "ifOperStatus": 1, "util": 0.25, "zero": -0.0},
    {"uptime": 360000},                                     # one field
    {"duration_seconds": 1e-7, "big": 1.5e300, "huge": 10**400, "neg": -3},
    {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "n": 1},
    {"up": True, "result_code": 0},                         # a bool is not an int here
    {"state": 'say "ok"\\ 100%', "ok": False},
    {"100%": 1, "é名": 2.5, "a\"b": 3, "%r": 4},             # names a template must escape
])
def test_fields_are_written_as_the_json_encoder_writes_them(fields: dict[str, object]):
    encode = FieldsJson()
    for _ in range(2):                  # the first call makes the shape, the second uses it
        assert encode(fields) == _compact(fields)
    assert encode(dict(reversed(fields.items()))) == _compact(fields)


def test_the_same_tags_in_another_order_are_the_same_series(tmp_path: Path):
    path = tmp_path / "m.sqlite3"
    store = EmbeddedStore(path, prune_every=None)
    first = interface("sw-1", 1, NOW, 1)
    turned = Sample("interface", dict(reversed(first.tags.items())),
                    {"ifHCInOctets": 2, "ifOperStatus": 1, "util": 0.25, "up": True},
                    NOW + timedelta(seconds=60))
    store.write([first])
    store.write([turned])
    store.close()
    assert [p.fields["ifHCInOctets"] for p in read_points(path, "sw-1")] == [1, 2]
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM series").fetchone() == (1,)
    db.close()


def test_a_series_first_seen_in_a_failed_write_is_made_again_by_the_next(tmp_path: Path):
    """Its id was made in the rolled-back transaction: the store must not keep using it."""
    path = tmp_path / "m.sqlite3"
    store = EmbeddedStore(path, prune_every=None)
    store.write([interface("sw-1", 1, NOW, 1)])                     # a series that stays
    bad = Sample("odd", {"device_id": "sw-2"}, {"value": object()}, NOW)  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        store.write([interface("sw-2", 1, NOW, 5), bad])
    store.write([interface("sw-3", 1, NOW, 7)])                     # takes sw-2's lost id
    store.write([interface("sw-2", 1, NOW, 6), interface("sw-1", 1, NOW, 2)])
    store.close()
    assert [p.fields["ifHCInOctets"] for p in read_points(path, "sw-2")] == [6]
    assert [p.fields["ifHCInOctets"] for p in read_points(path, "sw-3")] == [7]
    assert [p.fields["ifHCInOctets"] for p in read_points(path, "sw-1")] == [2]

"""The embedded store: the agent's points in SQLite under state_dir, when no InfluxDB is set.

Schema (the same points as InfluxDB: measurement, tags, fields, time):

    series(id, measurement, device_id, tags)      one row per measurement + tag set;
                                                  tags as sorted JSON; index on
                                                  (device_id, measurement)
    points(series_id, time_ns, fields)            fields as JSON (ints, floats, bools
                                                  and strings keep their type);
                                                  primary key (series_id, time_ns),
                                                  a clustered index (WITHOUT ROWID)

A device's points over a time range are found through the two indexes: device_id +
measurement -> series ids -> (series_id, time) ranges. As in InfluxDB, a point with the
same series and timestamp replaces the earlier one.

The file is opened the way every Lifeline database is (config/sqlite.py: WAL mode,
synchronous=NORMAL, a busy timeout; a committed write survives the process being killed,
a power cut may lose the last ones), and its tables are the `metrics` store's `Schema`:
migration 1 creates them if they are missing, so a file written before the store kept a
schema version opens as it is and keeps its points.

Retention: points older than `retention_days` are deleted at open and then every hour by
a daemon thread; `prune(now)` takes the time, so tests inject it.
"""
from __future__ import annotations

import json
import logging
import math
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from operator import itemgetter
from pathlib import Path

from agent.sinks.base import Sink, SinkStats, StatsTracker
from agent.sinks.lineproto import timestamp_ns
from collectors.base import Sample
from config.sqlite import Schema, connect, open_database, transaction

log = logging.getLogger("lifeline.sinks.store")

STORE_FILE = "metrics.sqlite3"
# Version 1 is the layout the store had before it recorded a version: IF NOT EXISTS
# throughout, so such a file passes through it unchanged.
SCHEMA = Schema("metrics", ("""
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
) WITHOUT ROWID
""",))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# One encoder for every point: json.dumps with options builds a new one per call.
_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode
_NUMBERS = frozenset({int, float})
_SHAPES_LIMIT = 1024
# A series' key in the cache: the measurement, then the tag names, then their values, in
# the order the collector put them (see `_series_key`).
SeriesKey = tuple[str, ...]


def _plain(fields: Mapping[str, object]) -> Mapping[str, object]:
    """A dict as it is (the collectors make dicts); any other mapping copied into one."""
    return fields if isinstance(fields, dict) else dict(fields)


def _finite(value: object) -> bool:
    return type(value) is not float or math.isfinite(value)


class FieldsJson:
    """A point's fields as the JSON `_json` writes (sorted keys, compact), in about half
    its time: a series' field names come back in every poll, so the text around the
    values is made once per set of names (a `%` template over the sorted names) and only
    the values are formatted per point. Only plain ints and finite floats go through a
    template: for them `%r` writes what JSON does (for NaN and the infinities it would
    not). Bools, strings and anything else go through `_json` itself."""

    def __init__(self) -> None:
        self._shapes: dict[tuple[str, ...], tuple[Callable[[Mapping[str, object]],
                                                            tuple[object, ...]], str]] = {}

    def __call__(self, fields: Mapping[str, object]) -> str:
        names = tuple(fields)
        shape = self._shapes.get(names) or self._shape(names)
        if shape is not None:
            values = shape[0](fields)
            types = set(map(type, values))
            if types <= _NUMBERS and (float not in types or all(map(_finite, values))):
                return shape[1] % values
        return _json(_plain(fields))

    def _shape(self, names: tuple[str, ...]) -> tuple[Callable[[Mapping[str, object]],
                                                             tuple[object, ...]], str] | None:
        if not names or not all(type(name) is str for name in names):
            return None                 # JSON's own rules for odd keys: leave them to it
        if len(self._shapes) >= _SHAPES_LIMIT:
            self._shapes.clear()        # bounded: a few shapes per measurement in practice
        order = sorted(names)
        template = "{" + ",".join(f"{_json(name).replace('%', '%%')}:%r"
                                  for name in order) + "}"
        get = itemgetter(*order) if len(order) > 1 else _one(order[0])
        self._shapes[names] = shape = (get, template)
        return shape


def _one(name: str) -> Callable[[Mapping[str, object]], tuple[object, ...]]:
    """itemgetter for one name, as a tuple like itemgetter's for several."""
    return lambda fields: (fields[name],)


def _series_key(sample: Sample) -> SeriesKey:
    """Names then values: a tuple made in C (no sort, no pairs) that still tells any two
    tag sets apart, its length giving the number of tags. The same tags in another order
    make another key for the same series: one more cache entry, never a wrong id."""
    tags = sample.tags
    return (sample.measurement, *tags.keys(), *tags.values())


class EmbeddedStore(Sink):
    """SQLite under state_dir; thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path, retention_days: int = 30, *, zone: tzinfo = UTC,
                 clock: Callable[[], datetime] | None = None,
                 prune_every: float | None = 3600.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention = timedelta(days=retention_days)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._db = open_database(self.path, SCHEMA)
        # Series ids by `_series_key`: cheaper to make per point than the tags' JSON,
        # which is only written for a series not seen before.
        self._series: dict[SeriesKey, int] = {}
        self._fields_json = FieldsJson()
        self._tracker = StatsTracker("embedded", zone)
        self._stop = threading.Event()
        self._pruner: threading.Thread | None = None
        if prune_every is not None:
            self._pruner = threading.Thread(target=self._prune_loop, args=(prune_every,),
                                            name="lifeline-store-retention", daemon=True)
            self._pruner.start()

    def write(self, samples: Sequence[Sample]) -> None:
        """Stores every sample in one transaction, or none of them (and raises)."""
        if not samples:
            return
        with self._lock:
            if self._stop.is_set():
                raise RuntimeError("the embedded store is closed")
            made: list[SeriesKey] = []
            try:
                with transaction(self._db):
                    rows = self._rows(samples, made)
                    self._db.executemany("INSERT OR REPLACE INTO points VALUES (?, ?, ?)",
                                         rows)
            except Exception as exc:       # SQLite, or a field JSON cannot hold: nothing kept
                for key in made:           # ids made in the rolled-back transaction are gone
                    del self._series[key]
                self._tracker.error(f"embedded store {self.path}: {exc}")
                raise
        self._tracker.success(len(rows))

    def _rows(self, samples: Sequence[Sample],
              made: list[SeriesKey]) -> list[tuple[int, int, str]]:
        series, fields_json = self._series, self._fields_json
        rows = []
        last_time, time_ns = None, 0
        for sample in samples:
            key = _series_key(sample)
            series_id = series.get(key)
            if series_id is None:
                series_id = self._new_series(sample, key)
                made.append(key)
            if sample.time is not last_time:    # a poll's samples share their time
                last_time, time_ns = sample.time, timestamp_ns(sample.time)
            rows.append((series_id, time_ns, fields_json(sample.fields)))
        return rows

    def _new_series(self, sample: Sample, key: SeriesKey) -> int:
        tags = _json(dict(sample.tags))
        self._db.execute("INSERT OR IGNORE INTO series (measurement, device_id, tags) "
                         "VALUES (?, ?, ?)",
                         (sample.measurement, sample.tags.get("device_id", ""), tags))
        row = self._db.execute("SELECT id FROM series WHERE measurement = ? AND tags = ?",
                               (sample.measurement, tags)).fetchone()
        # Interned: the same interface names and numbers recur on every device, and the
        # key is kept as long as the store is open.
        kept = tuple(sys.intern(part) if type(part) is str else part for part in key)
        found = self._series[kept] = int(row[0])
        return found

    def prune(self, now: datetime | None = None) -> int:
        """Deletes points older than the retention as of `now`; returns how many."""
        cutoff = timestamp_ns((now or self._clock()) - self.retention)
        deleted = 0
        with self._lock:
            series = [row[0] for row in self._db.execute("SELECT id FROM series")]
            # One range delete per series, on the primary key: no index on time alone to
            # slow every insert down. In slices, so writers wait for short moments only.
            for start in range(0, len(series), 500):
                with transaction(self._db):
                    for series_id in series[start:start + 500]:
                        deleted += self._db.execute(
                            "DELETE FROM points WHERE series_id = ? AND time_ns < ?",
                            (series_id, cutoff)).rowcount
        if deleted:
            log.info("embedded store: deleted %d points older than %d days", deleted,
                     self.retention.days)
        return deleted

    def _prune_loop(self, every: float) -> None:
        while not self._stop.is_set():
            try:
                self.prune()
            except sqlite3.Error as exc:
                log.error("embedded store %s: retention failed: %s", self.path, exc)
            self._stop.wait(every)

    def stats(self) -> SinkStats:
        return self._tracker.snapshot()

    def close(self, timeout: float = 10.0) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._pruner is not None:
            self._pruner.join(timeout)
        with self._lock:
            self._db.close()


def read_points(path: Path, device_id: str, *, measurement: str | None = None,
                since: datetime | None = None) -> Iterator[Sample]:
    """A device's points from the store at `path`, series by series (measurement, tags),
    each in time order. Read-only: safe while the agent writes."""
    if not Path(path).exists():
        return
    db = connect(Path(path), read_only=True)
    try:
        query = "SELECT id, measurement, tags FROM series WHERE device_id = ?"
        args: list[object] = [device_id]
        if measurement:
            query += " AND measurement = ?"
            args.append(measurement)
        series = db.execute(query + " ORDER BY measurement, tags", args).fetchall()
        start = timestamp_ns(since) if since else -(2 ** 63)
        for series_id, name, tags in series:
            parsed = json.loads(tags)
            for time_ns, fields in db.execute(
                    "SELECT time_ns, fields FROM points WHERE series_id = ? AND time_ns >= ? "
                    "ORDER BY time_ns", (series_id, start)):
                yield Sample(name, parsed, json.loads(fields),
                             _EPOCH + timedelta(microseconds=time_ns // 1000))
    finally:
        db.close()

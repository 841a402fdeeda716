"""The sink contract, documented once: where the agent's points go.

A `Sink` takes `collectors.base.Sample`s and makes them durable before `write` returns
("acknowledged"): stored in the embedded SQLite store, or appended to the InfluxDB sink's
disk spool. Delivery to a server happens later, on the sink's own thread, and never on
the caller's. Two implementations: `agent.sinks.influx.InfluxSink` and
`agent.sinks.store.EmbeddedStore`; `agent.sinks.open_sink` picks one from the config.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Literal, cast, get_args

from agent._json_fields import Fields
from collectors.base import Sample

SinkKind = Literal["influxdb", "embedded"]
_COUNTERS = ("points_written", "points_pending", "spool_bytes", "points_dropped",
             "points_rejected", "write_errors")


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkStats:
    """A snapshot of a sink's counters since it was opened (for `lifeline status`).

    `points_written`: delivered to InfluxDB (2xx) or stored in SQLite. `points_pending`
    and `spool_bytes`: waiting in the disk spool. `points_dropped`: oldest points thrown
    away because the spool passed its size bound. `points_rejected`: points InfluxDB
    refused as malformed (400), isolated by splitting the batch and then dropped.
    `write_errors`: failed write attempts. `last_error` never contains a secret.
    """

    kind: SinkKind
    points_written: int = 0
    points_pending: int = 0
    spool_bytes: int = 0
    points_dropped: int = 0
    points_rejected: int = 0
    write_errors: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None

    def as_json(self) -> dict[str, object]:
        """Plain JSON values (the status file); times as ISO 8601 with their offset."""
        return {"kind": self.kind, **{name: getattr(self, name) for name in _COUNTERS},
                "last_error": self.last_error, "last_error_at": _iso(self.last_error_at),
                "last_success_at": _iso(self.last_success_at)}

    @classmethod
    def from_json(cls, fields: Fields) -> SinkStats:
        """Read back what `as_json` wrote; raises FieldError naming a bad value."""
        kind = fields.text("kind")
        if kind not in get_args(SinkKind):
            raise fields.wrong("kind", " or ".join(get_args(SinkKind)), kind)
        return cls(kind=cast(SinkKind, kind), points_written=fields.integer("points_written"),
                   points_pending=fields.integer("points_pending"),
                   spool_bytes=fields.integer("spool_bytes"),
                   points_dropped=fields.integer("points_dropped"),
                   points_rejected=fields.integer("points_rejected"),
                   write_errors=fields.integer("write_errors"),
                   last_error=fields.optional_text("last_error"),
                   last_error_at=fields.optional_time("last_error_at"),
                   last_success_at=fields.optional_time("last_success_at"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Sink(ABC):
    """Where samples go. `write` is thread-safe and may block on disk, never on the network."""

    @abstractmethod
    def write(self, samples: Sequence[Sample]) -> None:
        """Make `samples` durable, then return. Raises only if they could not be kept."""

    @abstractmethod
    def stats(self) -> SinkStats:
        """The counters now."""

    @abstractmethod
    def close(self, timeout: float = 10.0) -> None:
        """Deliver what can be delivered within `timeout`, stop background threads.
        Anything undelivered stays on disk for the next sink opened on the same state_dir."""

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StatsTracker:
    """The counters both sinks keep, updated from several threads under one lock."""

    def __init__(self, kind: SinkKind, zone: tzinfo) -> None:
        self._lock = threading.Lock()
        self._stats = SinkStats(kind=kind)
        self._zone = zone

    def now(self) -> datetime:
        return datetime.now(self._zone)

    def success(self, points: int) -> None:
        with self._lock:
            self._stats = replace(self._stats, points_written=self._stats.points_written + points,
                                  last_success_at=self.now())

    def error(self, message: str) -> None:
        with self._lock:
            self._stats = replace(self._stats, write_errors=self._stats.write_errors + 1,
                                  last_error=message, last_error_at=self.now())

    def add(self, **counts: int) -> None:
        """Adds to counters by name, e.g. add(points_dropped=3)."""
        with self._lock:
            self._stats = replace(self._stats, **{k: getattr(self._stats, k) + v
                                                  for k, v in counts.items()})

    def snapshot(self, *, points_pending: int | None = None,
                 spool_bytes: int | None = None) -> SinkStats:
        """The counters, with the gauges the caller measures filled in."""
        with self._lock:
            stats = self._stats
        if points_pending is not None:
            stats = replace(stats, points_pending=points_pending)
        if spool_bytes is not None:
            stats = replace(stats, spool_bytes=spool_bytes)
        return stats

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
from dataclasses import asdict, dataclass, replace
from datetime import datetime, tzinfo
from typing import Any, Literal

from collectors.base import Sample

SinkKind = Literal["influxdb", "embedded"]


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

    def for_status(self) -> dict[str, Any]:
        """Plain JSON-able values; times as ISO 8601 with their offset."""
        out = asdict(self)
        for key in ("last_error_at", "last_success_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


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

    def snapshot(self, **current: int) -> SinkStats:
        """The counters, with gauges (points_pending, spool_bytes) filled in by the caller."""
        with self._lock:
            return replace(self._stats, **current)

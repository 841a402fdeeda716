"""A device's key series from the embedded store, as charts drawn on the server (inline
SVG: no JavaScript library, nothing fetched from elsewhere). Interface traffic in bit/s
is computed here from the raw octet counters (stored raw, as Telegraf does), skipping a
counter that went back (a wrap or a reboot); the rest are plotted as stored: UPS charge
and runtime, CPU and memory use, ping latency, HTTP response time, the poll's duration.
With InfluxDB configured the points are not here: the device page links to Grafana."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.sinks.store import read_points
from collectors.base import Sample

WIDTH, HEIGHT = 600, 160
MAX_INTERFACES = 3          # the busiest ports only: a 48-port chart reads as nothing


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: tuple[tuple[float, float], ...]     # (epoch seconds, value), in time order


@dataclass(frozen=True, slots=True)
class Chart:
    title: str                  # an English key of words.py
    series: tuple[Series, ...]
    start: float
    end: float

    @property
    def top(self) -> float:
        return max((v for s in self.series for _, v in s.points), default=0.0) or 1.0

    def polyline(self, series: Series) -> str:
        """The series' points in the chart's SVG coordinates (numbers only)."""
        span = (self.end - self.start) or 1.0
        top = self.top
        return " ".join(f"{(t - self.start) / span * WIDTH:.1f},"
                        f"{HEIGHT - v / top * HEIGHT:.1f}" for t, v in series.points)

    def last(self, series: Series) -> float | None:
        return series.points[-1][1] if series.points else None


def _field(sample: Sample, name: str) -> float | None:
    value = sample.fields.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _plain(samples: Iterable[Sample], label: str,
           value: Callable[[Sample], float | None]) -> Series:
    points = [(s.time.timestamp(), v) for s in samples if (v := value(s)) is not None]
    return Series(label, tuple(sorted(points)))


def _rate(samples: list[Sample], field: str) -> tuple[tuple[float, float], ...]:
    points = []
    previous: tuple[float, float] | None = None
    for sample in samples:
        value = _field(sample, field)
        if value is None:
            continue
        t = sample.time.timestamp()
        if previous is not None and t > previous[0] and value >= previous[1]:
            points.append((t, (value - previous[1]) * 8 / (t - previous[0])))
        previous = (t, value)
    return tuple(points)


def _interfaces(rows: Mapping[str, list[Sample]]) -> tuple[Series, ...]:
    found = []
    for name, samples in rows.items():
        high = any("ifHCInOctets" in s.fields for s in samples)
        for direction in ("in", "out"):
            field = (f"ifHC{direction.capitalize()}Octets" if high
                     else f"if{direction.capitalize()}Octets")
            points = _rate(samples, field)
            if points:
                found.append(Series(f"{name} {direction}", points))
    busiest = sorted({s.label.rsplit(" ", 1)[0] for s in found},
                     key=lambda n: -max(v for s in found if s.label.startswith(n + " ")
                                        for _, v in s.points))[:MAX_INTERFACES]
    return tuple(s for s in found if s.label.rsplit(" ", 1)[0] in busiest)


def device_charts(store: Path, device_id: str, since: datetime,
                  until: datetime) -> tuple[Chart, ...]:
    """The device's charts over [since, until]; only those with points."""
    by_measurement: dict[str, list[Sample]] = {}
    for sample in read_points(store, device_id, since=since):
        by_measurement.setdefault(sample.measurement, []).append(sample)
    start, end = since.timestamp(), until.timestamp()
    charts: list[Chart] = []

    def add(title: str, *series: Series) -> None:
        kept = tuple(s for s in series if s.points)
        if kept:
            charts.append(Chart(title, kept, start, end))

    rows: dict[str, list[Sample]] = {}
    for sample in by_measurement.get("interface", []):
        name = sample.tags.get("ifName") or sample.tags.get("ifDescr") or "?"
        rows.setdefault(name, []).append(sample)
    add("Interface traffic (bit/s)", *_interfaces(rows))
    ups = by_measurement.get("ups", [])
    add("UPS charge (%)", _plain(ups, "battery_charge", lambda s: _field(s, "battery_charge")))
    add("UPS runtime (min)",
        _plain(ups, "minutes_remaining", lambda s: _field(s, "minutes_remaining")))
    cpu = by_measurement.get("cpu", [])
    total = [s for s in cpu if s.tags.get("cpu") == "cpu-total"] or cpu
    add("CPU (%)", _plain(total, "cpu", _cpu_used))
    add("Memory (%)", _plain(by_measurement.get("mem", []), "used_percent",
                             lambda s: _field(s, "used_percent")))
    add("Ping latency (ms)", _plain(by_measurement.get("ping", []), "average_response_ms",
                                    lambda s: _field(s, "average_response_ms")))
    add("HTTP response (s)", _plain(by_measurement.get("http_response", []), "response_time",
                                    lambda s: _field(s, "response_time")))
    add("Poll duration (s)", _plain(by_measurement.get("lifeline_poll", []),
                                    "duration_seconds",
                                    lambda s: _field(s, "duration_seconds")))
    return tuple(charts)


def _cpu_used(sample: Sample) -> float | None:
    active = _field(sample, "usage_active")
    if active is not None:
        return active
    idle = _field(sample, "usage_idle")
    return None if idle is None else 100.0 - idle


def last_polls(store: Path, device_id: str, since: datetime,
               count: int = 20) -> tuple[Sample, ...]:
    """The device's last `count` `lifeline_poll` points since `since`, newest first."""
    points = list(read_points(store, device_id, measurement="lifeline_poll", since=since))
    return tuple(reversed(points[-count:]))

"""What the agent's endpoint says about the agent itself: `/healthz` and `/metrics`.

Both are served by the console (agent/web/) on `agent.http_listen`, from the `AgentStatus`
the agent takes every few seconds (agent/reporter.py), never the live structures, so a
scrape cannot race the polling loop. `/healthz` answers 503 when that status is stale (the
loop is stuck), the agent is stopping, or a write to the state_dir fails (a full disk: the
metric store, spool, alert state or status file, each with its error;
agent/write_failures.py), so a supervisor can tell a hung or crippled agent from a busy one.

`/metrics` is prometheus_client's exposition of one registry (`AgentMetrics`): the
`lifeline_*` families read from the status (`StatusCollector`), the standard `process_*`
and `python_info` metrics, `lifeline_build_info`, the poll start lag as a histogram
(counted since the agent started, agent/polling.py) and the alert delivery latency as a
histogram (`DeliveryLatency`, from the outbox's delivered rows as they appear).
"""
from __future__ import annotations

import logging
import platform
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from agent.status import LAG_BUCKETS, AgentStatus, DevicePoll, FallingBehind
from config.sqlite import connect

log = logging.getLogger("lifeline.agent")

STALE_AFTER_SECONDS = 30.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# (metric name, type, help, the value in the status) for the plain gauges and counters;
# a value that is None (no sink yet) leaves its metric out.
_SCALARS: tuple[tuple[str, str, str, Callable[[AgentStatus], float | None]], ...] = (
    ("lifeline_agent_start_time_seconds", "gauge", "Unix time the agent started.",
     lambda s: s.agent.started_unix),
    ("lifeline_devices", "gauge", "Devices scheduled for polling.", lambda s: s.agent.devices),
    ("lifeline_polls_in_flight", "gauge", "Polls running now.", lambda s: s.agent.in_flight),
    ("lifeline_config_reloads_total", "counter", "Successful configuration reloads.",
     lambda s: s.agent.reloads),
    ("lifeline_config_reload_failures_total", "counter",
     "Reloads refused because the new configuration was invalid.",
     lambda s: s.agent.reload_failures),
    ("lifeline_process_cpu_seconds_total", "counter", "CPU time used by the agent.",
     lambda s: s.process.cpu_seconds),
    ("lifeline_process_resident_memory_bytes", "gauge", "Resident memory of the agent.",
     lambda s: s.process.rss_bytes),
    ("lifeline_sink_points_written_total", "counter", "Points delivered to the store.",
     lambda s: s.sink.points_written if s.sink else None),
    ("lifeline_sink_points_pending", "gauge", "Points waiting in the disk spool.",
     lambda s: s.sink.points_pending if s.sink else None),
    ("lifeline_sink_spool_bytes", "gauge", "Size of the disk spool.",
     lambda s: s.sink.spool_bytes if s.sink else None),
    ("lifeline_sink_points_dropped_total", "counter",
     "Points dropped because the spool reached its bound.",
     lambda s: s.sink.points_dropped if s.sink else None),
    ("lifeline_sink_write_errors_total", "counter", "Failed writes to the store.",
     lambda s: s.sink.write_errors if s.sink else None),
    ("lifeline_clock_jumps_total", "counter",
     "Times the wall clock jumped under the agent (the schedule was re-planned).",
     lambda s: s.clock.count),
)

# (metric name, type, help, the value of one device) for the per-device series.
_PER_DEVICE: tuple[tuple[str, str, str, Callable[[DevicePoll], float | None]], ...] = (
    ("lifeline_device_up", "gauge", "1 when the last poll got an answer.",
     lambda d: None if d.up is None else int(d.up)),
    ("lifeline_device_polls_total", "counter", "Polls of the device.", lambda d: d.polls),
    ("lifeline_device_poll_failures_total", "counter", "Polls that got no answer.",
     lambda d: d.failures),
    ("lifeline_device_poll_overlaps_total", "counter",
     "Runs skipped: the previous poll still running, or no poll slot free in the budget.",
     lambda d: d.overlaps),
    ("lifeline_device_last_poll_duration_seconds", "gauge", "Duration of the last poll.",
     lambda d: d.last_duration),
)

# Seconds from a notification's queueing to its delivery (group_wait included).
DELIVERY_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)


def _family(name: str, kind: str, help_text: str,
            labels: Iterable[str] = ()) -> GaugeMetricFamily | CounterMetricFamily:
    if kind == "counter":
        return CounterMetricFamily(name, help_text, labels=list(labels))
    return GaugeMetricFamily(name, help_text, labels=list(labels))


class StatusCollector(Collector):
    """The `lifeline_*` families of one status snapshot (`status()`, None: nothing)."""

    def __init__(self, status: Callable[[], AgentStatus | None]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        status = self._status()
        if status is None:
            return
        for name, kind, help_text, value_of in _SCALARS:
            value = value_of(status)
            if value is not None:
                family = _family(name, kind, help_text)
                family.add_metric([], value)
                yield family
        devices = sorted(status.devices.items())
        for name, kind, help_text, device_value in _PER_DEVICE:
            family = _family(name, kind, help_text, ("device_id", "protocol"))
            for device_id, device in devices:
                value = device_value(device)
                if value is not None:
                    family.add_metric([device_id, device.protocol], value)
            yield family
        yield _start_lag(status)
        yield from _alerts(status)


def _start_lag(status: AgentStatus) -> HistogramMetricFamily:
    lag = status.start_lag
    buckets = [(f"{bound:g}", count) for bound, count in zip(LAG_BUCKETS, lag.buckets,
                                                              strict=True)]
    family = HistogramMetricFamily(
        "lifeline_poll_start_lag_seconds",
        "How late polls started against their schedule, since the agent started.")
    family.add_metric([], [*buckets, ("+Inf", lag.total)], lag.sum)
    return family


def _alerts(status: AgentStatus) -> Iterator[Metric]:
    if status.alerts is None:
        return
    counts = GaugeMetricFamily("lifeline_alerts", "Alerts by state (an alert may count in "
                               "several: firing and silenced).", labels=["state"])
    for state in ("pending", "firing", "suppressed", "silenced", "acked", "flapping",
                  "closed"):
        counts.add_metric([state], getattr(status.alerts.counts, state))
    yield counts
    delivered = CounterMetricFamily("lifeline_alert_notifications_delivered",
                                    "Notifications delivered, per channel.",
                                    labels=["channel"])
    failed = CounterMetricFamily("lifeline_alert_notifications_failed",
                                 "Notifications a channel refused for good, per channel.",
                                 labels=["channel"])
    pending = GaugeMetricFamily("lifeline_alert_notifications_pending",
                                "Notifications waiting to be delivered, per channel.",
                                labels=["channel"])
    for channel, stats in sorted(status.alerts.delivery.items()):
        delivered.add_metric([channel], stats.delivered)
        failed.add_metric([channel], stats.failed)
        pending.add_metric([channel], stats.pending)
    yield from (delivered, failed, pending)


class DeliveryLatency(Collector):
    """`lifeline_alert_delivery_seconds`: per channel, how long each notification waited
    from its queueing to its delivery. Read from the outbox's delivered rows
    (alerts/delivery/outbox.py, `delivery_outbox`: enqueued, finished) as they appear,
    each counted once by this process, so the histogram only grows while the agent runs
    (a restart starts it again, as a Prometheus counter may)."""

    def __init__(self, db_path: Path) -> None:
        self._path = db_path
        self._lock = threading.Lock()
        self._after = -1.0                  # rows finished after this are new
        self._seen: set[tuple[str, str]] = set()    # (id, channel) finished at _after
        self._counts: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}
        self._totals: dict[str, int] = {}

    def start_from_now(self) -> None:
        """Count only deliveries from now on (the agent starting: older rows are an
        earlier run's)."""
        with self._lock:
            rows = self._read(-1.0)
            self._after = max((finished for *_, finished in rows), default=-1.0)

    def _read(self, after: float) -> list[tuple[str, str, float, float]]:
        try:
            with closing(connect(self._path, read_only=True)) as conn:
                return [(str(a), str(b), float(c), float(d)) for a, b, c, d in conn.execute(
                    "SELECT notification_id, channel, enqueued, finished FROM delivery_outbox"
                    " WHERE state = 'delivered' AND finished >= ?", (after,))]
        except (sqlite3.Error, OSError):
            return []           # no outbox yet, or not readable now: nothing new to count

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            rows = self._read(self._after)
            newest = self._after
            for notification_id, channel, enqueued, finished in rows:
                if (notification_id, channel) in self._seen and finished == self._after:
                    continue
                counts = self._counts.setdefault(channel, [0] * len(DELIVERY_BUCKETS))
                waited = max(0.0, finished - enqueued)
                for index, bound in enumerate(DELIVERY_BUCKETS):
                    if waited <= bound:
                        counts[index] += 1
                self._sums[channel] = self._sums.get(channel, 0.0) + waited
                self._totals[channel] = self._totals.get(channel, 0) + 1
                newest = max(newest, finished)
            if newest != self._after:
                self._seen = set()
            self._seen |= {(n, c) for n, c, _, f in rows if f == newest}
            self._after = newest
            family = HistogramMetricFamily(
                "lifeline_alert_delivery_seconds",
                "Seconds from a notification's queueing to its delivery, per channel "
                "(since the agent started).", labels=["channel"])
            for channel, counts in sorted(self._counts.items()):
                buckets = [(f"{b:g}", c) for b, c in zip(DELIVERY_BUCKETS, counts, strict=True)]
                family.add_metric([channel], [*buckets, ("+Inf", self._totals[channel])],
                                  self._sums[channel])
        yield family


class BuildInfo(Collector):
    """`lifeline_build_info{version, python}` 1."""

    def __init__(self, version: str) -> None:
        self._version = version

    def collect(self) -> Iterator[Metric]:
        info = InfoMetricFamily("lifeline_build", "The running Lifeline's version.")
        info.add_metric([], {"version": self._version,
                             "python": platform.python_version()})
        yield info


class AgentMetrics:
    """The registry `/metrics` shows: the status's families, process_*, python_info,
    build info and the delivery latency."""

    def __init__(self, status: Callable[[], AgentStatus | None], alerts_db: Path,
                 version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StatusCollector(status))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.registry.register(BuildInfo(version))
        self.delivery = DeliveryLatency(alerts_db)
        self.registry.register(self.delivery)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def render_metrics(status: AgentStatus | None) -> str:
    """The `lifeline_*` families of one status in the exposition format (0.0.4); empty
    before the first status is taken."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(lambda: status))
    return generate_latest(registry).decode()


def behind_text(late: FallingBehind) -> str:
    """The agent falling behind, in a line (/healthz)."""
    return (f"falling behind: {late.late} of {late.polls} polls in the last "
            f"{late.window:.0f} s started more than {late.late_after:g} s late "
            f"(the latest {late.worst or 0:.1f} s)")


def health(status: AgentStatus | None, stopping: bool,
           now: float) -> tuple[bool, dict[str, object]]:
    """Whether the agent is healthy at unix time `now`, and the body /healthz answers."""
    problems = []
    if stopping:
        problems.append("stopping")
    if status is None:
        problems.append("no status taken yet: the agent is starting")
    elif now - status.written_unix > STALE_AFTER_SECONDS:
        problems.append(f"status not refreshed for {now - status.written_unix:.0f} s: "
                        "the loop is stuck")
    elif status.written_unix - now > STALE_AFTER_SECONDS:
        # The wall clock was stepped back and the status not refreshed since: a running
        # agent refreshes it as it notices the jump (agent/jobs.py), a stuck one never.
        problems.append(f"status written {status.written_unix - now:.0f} s ahead of the "
                        "clock and not refreshed since: the loop is stuck")
    failing = status.failing if status else ()
    problems.extend(f"cannot write the {f.kind}: {f.error} ({f.failures} failed writes "
                    f"since {f.since:%Y-%m-%d %H:%M:%S})" for f in failing)
    # Falling behind is said, not made a failure: a restart (what a supervisor does with
    # an unhealthy agent) does not give the agent the CPU it lacks.
    late = status.lateness if status else None
    warnings = [behind_text(late)] if late is not None and late.behind else []
    body: dict[str, object] = {
        "status": "unhealthy" if problems else "behind" if warnings else "ok",
        "problems": problems, "warnings": warnings,
        "lateness": late.as_json() if late is not None else None,
        "failing": [f.as_json() for f in failing],
        "devices": status.agent.devices if status else None,
        "in_flight": status.agent.in_flight if status else None}
    return not problems, body

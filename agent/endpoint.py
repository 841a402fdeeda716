"""The agent's own loopback HTTP endpoint (`agent.http_listen`): `/healthz` and `/metrics`.

It serves the `AgentStatus` the agent takes every few seconds (agent/reporter.py), never
the live structures, so a scrape cannot race the polling loop. `/healthz` answers 503 when
that status is stale (the loop is stuck), the agent is stopping, or a write to the
state_dir fails (a full disk: the metric store, spool, alert state or status file, each
with its error; agent/write_failures.py), so a supervisor can tell a hung or crippled
agent from a busy one.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agent.status import AgentStatus, DevicePoll, StartLagSummary
from config.schema import parse_listen_address

STALE_AFTER_SECONDS = 30.0


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _line(name: str, value: float | int | None, labels: dict[str, object] | None = None) -> str:
    if value is None:
        return ""
    label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in (labels or {}).items())
    return f"{name}{{{label_text}}} {value}\n" if label_text else f"{name} {value}\n"


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
     "Runs skipped because the previous poll was still running.", lambda d: d.overlaps),
    ("lifeline_device_last_poll_duration_seconds", "gauge", "Duration of the last poll.",
     lambda d: d.last_duration),
)


def render_metrics(status: AgentStatus | None) -> str:
    """Prometheus text format (0.0.4) about the agent itself; empty before the first
    status is taken."""
    if status is None:
        return ""
    out: list[str] = []
    for name, kind, help_text, value_of in _SCALARS:
        value = value_of(status)
        if value is not None:
            out.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n{_line(name, value)}")
    out.append(_per_device(status.devices))
    out.append(_lag(status.start_lag))
    return "".join(out)


def _per_device(devices: Mapping[str, DevicePoll]) -> str:
    out: list[str] = []
    ordered = sorted(devices.items())
    for name, kind, help_text, value_of in _PER_DEVICE:
        out.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")
        out.extend(_line(name, value_of(d), {"device_id": device_id, "protocol": d.protocol})
                   for device_id, d in ordered)
    return "".join(out)


def _lag(summary: StartLagSummary) -> str:
    name = "lifeline_poll_start_lag_seconds"
    out = [f"# HELP {name} How late polls start against their schedule (recent polls).\n",
           f"# TYPE {name} summary\n"]
    for quantile, value in (("0.5", summary.p50), ("0.99", summary.p99)):
        out.append(_line(name, value, {"quantile": quantile}))
    out.append(_line(f"{name}_count", summary.count))
    return "".join(out)


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
    body: dict[str, object] = {
        "status": "ok" if not problems else "unhealthy", "problems": problems,
        "failing": [f.as_json() for f in failing],
        "devices": status.agent.devices if status else None,
        "in_flight": status.agent.in_flight if status else None}
    return not problems, body


class AgentEndpoint:
    """A ThreadingHTTPServer on a daemon thread; `status()` is called per request."""

    def __init__(self, listen: str, status: Callable[[], AgentStatus | None],
                 stopping: Callable[[], bool]) -> None:
        address = parse_listen_address(listen)
        if address is None:     # the loader refuses these; this guards direct callers
            raise ValueError(f"http_listen must be a loopback HOST:PORT, got {listen!r}")
        handler = _handler(status, stopping)
        server_class = _server_class(address[0])
        self.server = server_class(address, handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="lifeline-http",
                                       daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _server_class(host: str) -> type[ThreadingHTTPServer]:
    class Server(ThreadingHTTPServer):
        daemon_threads = True
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    return Server


def _handler(status: Callable[[], AgentStatus | None],
             stopping: Callable[[], bool]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                healthy, body = health(status(), stopping(), time.time())
                self._send(200 if healthy else 503, (json.dumps(body) + "\n").encode(),
                           "application/json")
            elif path == "/metrics":
                self._send(200, render_metrics(status()).encode(),
                           "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._send(404, b"not found: try /healthz or /metrics\n", "text/plain")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass        # scrapes every 15 s would drown the agent's own log

    return Handler

"""The agent's own loopback HTTP endpoint (`agent.http_listen`): `/healthz` and `/metrics`.

It serves the snapshot the agent refreshes every few seconds (agent/status.py), never the
live structures, so a scrape cannot race the polling loop. `/healthz` answers 503 when the
snapshot is stale (the loop is stuck) or the agent is stopping, so a supervisor can tell a
hung agent from a busy one.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from config.schema import parse_listen_address

STALE_AFTER_SECONDS = 30.0


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _line(name: str, value: float | int | None, labels: dict[str, object] | None = None) -> str:
    if value is None:
        return ""
    label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in (labels or {}).items())
    return f"{name}{{{label_text}}} {value}\n" if label_text else f"{name} {value}\n"


# (metric name, type, help, snapshot path) for the plain gauges and counters.
_SCALARS = (
    ("lifeline_agent_start_time_seconds", "gauge", "Unix time the agent started.",
     ("agent", "started_unix")),
    ("lifeline_devices", "gauge", "Devices scheduled for polling.", ("agent", "devices")),
    ("lifeline_polls_in_flight", "gauge", "Polls running now.", ("agent", "in_flight")),
    ("lifeline_config_reloads_total", "counter", "Successful configuration reloads.",
     ("agent", "reloads")),
    ("lifeline_config_reload_failures_total", "counter",
     "Reloads refused because the new configuration was invalid.", ("agent", "reload_failures")),
    ("lifeline_process_cpu_seconds_total", "counter", "CPU time used by the agent.",
     ("process", "cpu_seconds")),
    ("lifeline_process_resident_memory_bytes", "gauge", "Resident memory of the agent.",
     ("process", "rss_bytes")),
    ("lifeline_sink_points_written_total", "counter", "Points delivered to the store.",
     ("sink", "points_written")),
    ("lifeline_sink_points_pending", "gauge", "Points waiting in the disk spool.",
     ("sink", "points_pending")),
    ("lifeline_sink_spool_bytes", "gauge", "Size of the disk spool.", ("sink", "spool_bytes")),
    ("lifeline_sink_points_dropped_total", "counter",
     "Points dropped because the spool reached its bound.", ("sink", "points_dropped")),
    ("lifeline_sink_write_errors_total", "counter", "Failed writes to the store.",
     ("sink", "write_errors")),
)


def _get(snapshot: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = snapshot
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def render_metrics(snapshot: dict[str, Any]) -> str:
    """Prometheus text format (0.0.4) about the agent itself."""
    out: list[str] = []
    for name, kind, help_text, path in _SCALARS:
        value = _get(snapshot, path)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n{_line(name, value)}")
    out.append(_per_device(snapshot.get("devices", {})))
    out.append(_lag(snapshot.get("start_lag") or {}))
    return "".join(out)


def _per_device(devices: dict[str, dict[str, Any]]) -> str:
    blocks = {
        "lifeline_device_up": ("gauge", "1 when the last poll got an answer."),
        "lifeline_device_polls_total": ("counter", "Polls of the device."),
        "lifeline_device_poll_failures_total": ("counter", "Polls that got no answer."),
        "lifeline_device_poll_overlaps_total": (
            "counter", "Runs skipped because the previous poll was still running."),
        "lifeline_device_last_poll_duration_seconds": ("gauge", "Duration of the last poll."),
    }
    lines = {name: [f"# HELP {name} {h}\n# TYPE {name} {t}\n"] for name, (t, h) in blocks.items()}
    for device_id, d in sorted(devices.items()):
        labels = {"device_id": device_id, "protocol": d.get("protocol", "")}
        if d.get("last_code") is not None:
            up = int(d.get("consecutive_failures", 0) == 0)
            lines["lifeline_device_up"].append(_line("lifeline_device_up", up, labels))
        lines["lifeline_device_polls_total"].append(
            _line("lifeline_device_polls_total", d.get("polls"), labels))
        lines["lifeline_device_poll_failures_total"].append(
            _line("lifeline_device_poll_failures_total", d.get("failures"), labels))
        lines["lifeline_device_poll_overlaps_total"].append(
            _line("lifeline_device_poll_overlaps_total", d.get("overlaps"), labels))
        lines["lifeline_device_last_poll_duration_seconds"].append(
            _line("lifeline_device_last_poll_duration_seconds", d.get("last_duration"), labels))
    return "".join("".join(block) for block in lines.values())


def _lag(summary: dict[str, Any]) -> str:
    name = "lifeline_poll_start_lag_seconds"
    out = [f"# HELP {name} How late polls start against their schedule (recent polls).\n",
           f"# TYPE {name} summary\n"]
    for quantile, key in (("0.5", "p50"), ("0.99", "p99")):
        out.append(_line(name, summary.get(key), {"quantile": quantile}))
    out.append(_line(f"{name}_count", summary.get("count", 0)))
    return "".join(out)


class AgentEndpoint:
    """A ThreadingHTTPServer on a daemon thread; `snapshot()` is called per request."""

    def __init__(self, listen: str, snapshot: Callable[[], dict[str, Any]],
                 stopping: Callable[[], bool]) -> None:
        address = parse_listen_address(listen)
        if address is None:     # the loader refuses these; this guards direct callers
            raise ValueError(f"http_listen must be a loopback HOST:PORT, got {listen!r}")
        handler = _handler(snapshot, stopping)
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


def _handler(snapshot: Callable[[], dict[str, Any]],
             stopping: Callable[[], bool]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._healthz()
            elif path == "/metrics":
                self._send(200, render_metrics(snapshot()).encode(),
                           "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._send(404, b"not found: try /healthz or /metrics\n", "text/plain")

        def _healthz(self) -> None:
            current = snapshot()
            age = time.time() - float(current.get("written_unix") or 0)
            problems = []
            if stopping():
                problems.append("stopping")
            if age > STALE_AFTER_SECONDS:
                problems.append(f"status not refreshed for {age:.0f} s: the loop is stuck")
            body = {"status": "ok" if not problems else "unhealthy", "problems": problems,
                    "devices": _get(current, ("agent", "devices")),
                    "in_flight": _get(current, ("agent", "in_flight"))}
            self._send(200 if not problems else 503,
                       (json.dumps(body) + "\n").encode(), "application/json")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass        # scrapes every 15 s would drown the agent's own log

    return Handler

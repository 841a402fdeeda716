"""VictoriaMetrics, the real InfluxDB-protocol peer, and helpers to read points back.

`Victoria.start(data_dir)` runs `victoria-metrics` on a free loopback port and waits for
`/health`; `stop()` ends it by PID; `restart()` starts it again on the same port and data
directory (the outage tests). Points are read back through `/api/v1/export` (JSON lines):
a point `ups,device_id=x battery_charge=97` is the series `ups_battery_charge{device_id="x"}`,
with millisecond timestamps. New data takes a moment to show there: `wait_for` polls
with a deadline, after `/internal/force_flush` (present in Debian's 1.79).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from peers.ports import free_tcp_port

BINARY = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


@dataclass(frozen=True, slots=True)
class Series:
    """One exported series: `name` is measurement_field; `labels` the tags."""

    name: str
    labels: dict[str, str]
    values: list[float]
    timestamps: list[int]           # milliseconds


@dataclass
class Victoria:
    data_dir: Path
    port: int
    proc: subprocess.Popen | None = None
    flags: tuple[str, ...] = ()     # more command-line flags, e.g. -search.latencyOffset=0s
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.data_dir.with_name(self.data_dir.name + ".log")

    @classmethod
    def start(cls, data_dir: Path, port: int | None = None,
              flags: tuple[str, ...] = ()) -> Victoria:
        peer = cls(data_dir, port or free_tcp_port(), flags=flags)
        peer.restart()
        return peer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restart(self, limit: float = 20.0) -> None:
        """Starts (again) on the same port and data directory; returns once healthy."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [BINARY, f"-storageDataPath={self.data_dir}",
             f"-httpListenAddr=127.0.0.1:{self.port}", "-retentionPeriod=1d", *self.flags],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited with {self.proc.returncode}: "
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            try:
                if self._get("/health") == b"OK":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"victoria-metrics on port {self.port} did not become healthy")

    def stop(self) -> None:
        """Stops it by PID (TERM, then KILL); the port is free when this returns."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def _get(self, path: str, data: dict[str, str] | None = None) -> bytes:
        body = urllib.parse.urlencode(data).encode() if data else None
        with urllib.request.urlopen(self.url + path, data=body, timeout=5) as response:
            return response.read()

    def export(self, match: str) -> list[Series]:
        """Every series matching a PromQL selector, e.g. '{device_id="x"}'."""
        self._get("/internal/force_flush")
        out = []
        for line in self._get("/api/v1/export", {"match[]": match}).splitlines():
            if line.strip():
                item = json.loads(line)
                labels = dict(item["metric"])
                out.append(Series(labels.pop("__name__"), labels, item["values"],
                                  item["timestamps"]))
        return out

    def query(self, expr: str, *, start: float | None = None, end: float | None = None,
              step: str = "2s") -> list[dict]:
        """A PromQL/MetricsQL query as Grafana sends it: instant at `end` (default now)
        without `start`, a range query from `start` with it (times in epoch seconds). The
        answer's `result` list; RuntimeError with VictoriaMetrics' words on an error."""
        self._get("/internal/force_flush")
        args = {"query": expr, "time" if start is None else "end": str(end or time.time())}
        if start is not None:
            args.update(start=str(start), step=step)
        path = "/api/v1/query" if start is None else "/api/v1/query_range"
        try:
            answer = json.loads(self._get(path, args))
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{expr}: HTTP {exc.code}: {exc.read()[:500]!r}") from None
        return list(answer["data"]["result"])

    def wait_for(self, match: str, done: Callable[[list[Series]], bool],
                 limit: float = 30.0) -> list[Series]:
        """Polls the export until `done(series)`; returns the last export either way."""
        deadline = time.monotonic() + limit
        while True:
            series = self.export(match)
            if done(series) or time.monotonic() > deadline:
                return series
            time.sleep(0.2)


def point_count(series: list[Series], name: str) -> int:
    return sum(len(s.timestamps) for s in series if s.name == name)

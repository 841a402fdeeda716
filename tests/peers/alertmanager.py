"""A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on a free loopback port,
clustering off, stopped by PID; `stop()` and `restart()` take it away and bring it back on
the same port (it forgets its alerts, as a real restart does)."""
from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from peers.ports import free_tcp_port
from peers.snmp import stop

BINARY = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
CONFIG = """\
route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


class AlertmanagerPeer:
    def __init__(self, port: int, proc: subprocess.Popen[bytes],
                 command: list[str] | None = None, workdir: Path | None = None) -> None:
        self.port = port
        self.proc = proc
        self._command, self._workdir = command, workdir

    def stop(self) -> None:
        """Alertmanager goes away: connections are refused until `restart`."""
        stop(self.proc)

    def restart(self) -> None:
        """The same Alertmanager again, on the same port, once it answers."""
        assert self._command is not None and self._workdir is not None
        with open(self._workdir / "alertmanager.log", "ab") as log:
            self.proc = subprocess.Popen(self._command, stdout=log, stderr=subprocess.STDOUT)
        _wait_ready(self, self._workdir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alerts(self) -> list[dict[str, Any]]:
        """GET /api/v2/alerts (active, silenced and inhibited; not resolved ones)."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as response:
            return list(json.load(response))


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def running_alertmanager(workdir: Path) -> Iterator[AlertmanagerPeer]:
    config = workdir / "alertmanager.yml"
    config.write_text(CONFIG, encoding="utf-8")
    port = free_tcp_port()
    command = [BINARY, f"--config.file={config}", f"--storage.path={workdir / 'data'}",
               f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    with open(workdir / "alertmanager.log", "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    peer = AlertmanagerPeer(port, proc, command, workdir)
    try:
        _wait_ready(peer, workdir)
        yield peer
    finally:
        stop(peer.proc)


def _wait_ready(peer: AlertmanagerPeer, workdir: Path) -> None:
    deadline = time.monotonic() + 30
    while not _ready(peer.url):
        if peer.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"alertmanager did not start; see {workdir}/alertmanager.log")
        time.sleep(0.1)

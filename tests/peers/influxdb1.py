"""Debian's InfluxDB 1.x (`influxd` 1.6), the real peer that speaks InfluxQL and `/write?db=`.

`InfluxDB1.start(directory)` writes a config whose meta, data and WAL directories are under
`directory`, with its HTTP API (and the RPC port it always opens) on free loopback ports,
runs `influxd -config FILE` in the foreground and waits for `/ping`; `stop()` ends it by
PID. With `auth=True` the first user is created as an admin (`admin_user`, `admin_password`)
and every request must authenticate. `query(q, db=)` runs InfluxQL over `/query` and
returns the JSON answer's `results`; `create_database` and `create_user` are statements.

It rejects a point whose field type differs from the one stored in the same shard
(`field type conflict`): a good check that every field keeps one type.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peers.ports import free_tcp_port

BINARY = shutil.which("influxd") or "/usr/bin/influxd"

CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
  wal-fsync-delay = "0s"

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  auth-enabled = {auth}
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  enabled = false
"""


class InfluxQLError(Exception):
    """A statement InfluxDB answered with an error (HTTP or in the result)."""


@dataclass
class InfluxDB1:
    directory: Path
    port: int
    auth: bool = False
    admin_user: str = "ll-admin"
    admin_password: str = "ll-admin-pass-1"
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.directory / "influxd.log"

    @classmethod
    def start(cls, directory: Path, *, auth: bool = False) -> InfluxDB1:
        peer = cls(directory, free_tcp_port(), auth=auth)
        peer.restart()
        if auth:           # the first user may be created without credentials: an admin
            peer.query(f"CREATE USER \"{peer.admin_user}\" WITH PASSWORD "
                       f"'{peer.admin_password}' WITH ALL PRIVILEGES", anonymous=True)
        return peer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restart(self, limit: float = 30.0) -> None:
        """Starts (again) on the same port and directory; returns once `/ping` answers."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "influxdb.conf"
        conf.write_text(CONFIG.format(root=self.directory, port=self.port,
                                      rpc_port=free_tcp_port(),
                                      auth="true" if self.auth else "false"),
                        encoding="utf-8")
        self.proc = subprocess.Popen([BINARY, "-config", str(conf)],
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"influxd exited with {self.proc.returncode}: "
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=2) as answer:
                    if answer.status == 204:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"influxd on port {self.port} did not answer /ping")

    def stop(self) -> None:
        """Stops it by PID (TERM, then KILL); the port is free when this returns."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def query(self, statement: str, db: str | None = None, *,
              anonymous: bool = False) -> list[dict[str, Any]]:
        """The `results` of one or more InfluxQL statements; raises InfluxQLError on an
        error answer. Epoch in milliseconds."""
        params = {"q": statement, "epoch": "ms"}
        if db:
            params["db"] = db
        request = urllib.request.Request(
            f"{self.url}/query", data=urllib.parse.urlencode(params).encode(), method="POST")
        if self.auth and not anonymous:
            pair = f"{self.admin_user}:{self.admin_password}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                body = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raise InfluxQLError(f"HTTP {exc.code}: {exc.read()[:500]!r}") from None
        results: list[dict[str, Any]] = body.get("results", [])
        for result in results:
            if "error" in result:
                raise InfluxQLError(result["error"])
        return results

    def create_database(self, name: str, *, retention: str | None = None) -> None:
        self.query(f'CREATE DATABASE "{name}"')
        if retention:
            self.query(f'CREATE RETENTION POLICY "{retention}" ON "{name}" '
                       "DURATION 1d REPLICATION 1")

    def create_user(self, name: str, password: str, *, write_on: str) -> None:
        self.query(f"CREATE USER \"{name}\" WITH PASSWORD '{password}'")
        self.query(f'GRANT WRITE ON "{write_on}" TO "{name}"')

    def rows(self, statement: str, db: str) -> list[dict[str, Any]]:
        """Every row of one statement's series, as dicts with the series' tags added."""
        out = []
        for result in self.query(statement, db):
            for series in result.get("series", []):
                for values in series["values"]:
                    row = dict(zip(series["columns"], values, strict=True))
                    row.update(series.get("tags") or {})
                    out.append(row)
        return out

"""A real PostgreSQL 15 (Debian's) for the cluster tests: one server per test session in
a temp directory on a free loopback port, and a fresh database per test.

PostgreSQL refuses to run as root, so as root its tools run as the `postgres` user
(`runuser`) in a directory that user owns. The package's own cluster is never used and
never copied (`pg_ctl stop` on a copy would signal the original through the copied
`postmaster.pid`). fsync is off: the tests kill agents, not the database's host.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from peers.ports import free_tcp_port

BIN = Path("/usr/lib/postgresql/15/bin")
_names = itertools.count(1)


@dataclass(frozen=True)
class PostgresServer:
    """A running server: `dsn(db)` to reach a database of it (trust auth, loopback)."""

    directory: Path
    port: int

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def new_database(self) -> str:
        """A fresh, empty database; its DSN."""
        name = f"t{os.getpid()}_{next(_names)}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        """Immediate stop (as a crash would), the data kept: `start` brings it back."""
        _pg(self.directory, "pg_ctl", "-D", str(self.directory / "data"), "-m",
            "immediate", "-w", "stop")

    def start(self) -> None:
        _pg(self.directory, "pg_ctl", "-D", str(self.directory / "data"),
            "-l", str(self.directory / "log"), "-w", "-t", "60", "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory}"
            " -c fsync=off -c max_connections=200", "start")


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _pg(directory: Path, tool: str, *args: str) -> None:
    result = subprocess.run([*_as_postgres(), str(BIN / tool), *args], capture_output=True,
                            text=True, cwd=directory, timeout=120)
    if result.returncode != 0:
        log = directory / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr}\n{tail}")


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """initdb, start on a free port, yield; stop and remove at the end. The directory is
    a fresh one of its own under /tmp, not under pytest's: pytest keeps its own base
    directory private (0700, reset by every xdist worker), which `postgres` cannot enter."""
    if not (BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL 15 is not installed ({BIN}): run tests/setup.sh")
    directory = Path(tempfile.mkdtemp(prefix="lifeline-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
        _pg(directory, "initdb", "-D", str(directory / "data"), "-U", "postgres", "-A",
            "trust", "--no-sync", "-E", "UTF8")
        server = PostgresServer(directory, free_tcp_port())
        server.start()
        try:
            yield server
        finally:
            with contextlib.suppress(RuntimeError):
                server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def query(dsn: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """The rows of one statement on a connection of its own; none while no node has
    made the cluster's tables yet."""
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        try:
            return conn.execute(sql, args or None).fetchall()
        except psycopg.errors.UndefinedTable:
            return []


def lease_holders(dsn: str, *, with_devices: bool = False) -> dict[str, str | None]:
    """bucket -> its holder while the lease runs (None: nobody), by the database clock;
    `with_devices`: only the buckets that have devices (not the zones' bucket)."""
    where = " WHERE devices > 0" if with_devices else ""
    return dict(query(dsn, "SELECT bucket, CASE WHEN lease_until > clock_timestamp()"
                           f" THEN owner END FROM cluster_buckets{where}"))

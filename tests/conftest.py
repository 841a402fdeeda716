"""Shared fixtures: writing config files, running the real `lifeline` command."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from peers.postgres import PostgresServer, running_postgres
from peers.snmp import SECRETS, Peer, running_snmpsim, start_snmpd, stop
from peers.webhook import WebhookPeer, running_webhook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "example.yaml"


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """write("main.yaml", text) -> path; text is dedented, parent folders made."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


def run_lifeline(*args: str | Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console entry point, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "agent.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=120,
                          env={**os.environ, **(env or {})})


# --- real SNMP peers, started once per session and only when a test asks -------------

@pytest.fixture(scope="session", autouse=True)
def _snmp_test_secrets() -> Iterator[None]:
    """The test communities and v3 keys, named by environment variable as in production."""
    saved = {k: os.environ.get(k) for k in SECRETS}
    os.environ.update(SECRETS)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    peer = start_snmpd(tmp_path_factory.mktemp("snmpd"))
    yield peer
    stop(peer.proc)


@pytest.fixture(scope="session")
def snmpsim() -> Iterator[int]:
    """One snmpsim process answering every recording on 127.0.0.2..7; yields the port."""
    try:
        with running_snmpsim() as port:
            yield port
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def hook() -> Iterator[WebhookPeer]:
    """A real webhook receiver of the test's own on loopback, stopped after it."""
    with running_webhook() as peer:
        yield peer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL 15 per session (per xdist worker), started when a test asks."""
    try:
        with running_postgres() as server:
            yield server
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def pg_dsn(postgres: PostgresServer) -> str:
    """A fresh, empty database of the session's PostgreSQL, for this test alone."""
    return postgres.new_database()

"""Session fixtures for the SNMP tests: snmpd and snmpsim started once, stopped by PID."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from snmppeers import (DATA, RECORDINGS, SECRETS, SIM_AUTH, SIM_ENGINE_ID, SIM_USER, SNMPSIM,
                       Peer, _wait_until_answering, free_udp_port, start_snmpd, stop)


@pytest.fixture(scope="session", autouse=True)
def _secrets() -> Iterator[None]:
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
    if not SNMPSIM.exists():
        pytest.fail("snmpsim is not installed: run tests/setup.sh")
    # Readable by nobody (snmpsim drops to it): not under pytest's 0700 tmp root.
    data = Path(tempfile.mkdtemp(prefix="lifeline-snmprec-"))
    cache = Path(tempfile.mkdtemp(prefix="lifeline-snmpsim-cache-"))
    for rec in DATA.glob("*.snmprec"):
        shutil.copy(rec, data / rec.name)
    os.chmod(data, 0o755)
    for f in data.iterdir():
        os.chmod(f, 0o644)
    os.chmod(cache, 0o777)
    hosts = sorted({addr for addr, _ in RECORDINGS.values()})
    port = free_udp_port(hosts)
    # Order matters: endpoints after --v3-engine-id and --data-dir, or they never answer.
    cmd = [str(SNMPSIM), "--v3-engine-id", SIM_ENGINE_ID, "--v3-user", SIM_USER,
           "--v3-auth-key", SIM_AUTH, "--v3-auth-proto", "SHA",
           "--data-dir", str(data), "--cache-dir", str(cache), "--logging-method", "null"]
    cmd += [f"--agent-udpv4-endpoint={h}:{port}" for h in hosts]
    if os.geteuid() == 0:
        cmd += ["--process-user", "nobody", "--process-group", "nogroup"]
    log = cache.parent / f"{cache.name}.log"
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        for name, (host, _) in RECORDINGS.items():
            _wait_until_answering(proc, f"{host}:{port}", name, log)
        yield port
    finally:
        stop(proc)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
        log.unlink(missing_ok=True)



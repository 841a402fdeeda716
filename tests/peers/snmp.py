"""Real SNMP peers and helpers for the collector tests: net-snmp snmpd and one snmpsim process.

Both listen on loopback only, on ports picked free at start, and are stopped by PID at
the end of the session. snmpsim serves every recording of tests/data/snmp on 127.0.0.2..7
(the v2c community, or the v3 context, names the recording). See ../shared TESTING.md for
why snmpsim runs from its own venv as nobody.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from collectors.base import PollResult
from collectors.snmp import SnmpCollector
from config.model import Credentials, SecretRef, SnmpCredentials
from inventory.model import Device, PollSpec

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "snmp"
SNMPSIM = ROOT / ".venv-snmpsim" / "bin" / "snmpsim-command-responder"
SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
SNMPGET = shutil.which("snmpget") or "/usr/bin/snmpget"

# Secrets reach the collector the way production does: through environment variables.
SECRETS = {"LL_TEST_COMMUNITY": "public", "LL_TEST_AUTH": "authpass123",
           "LL_TEST_PRIV": "privpass123", "LL_TEST_WRONG": "wrongpass999"}
SIM_USER, SIM_AUTH = "lifeline", "simauth1234"
SECRETS["LL_TEST_SIM_AUTH"] = SIM_AUTH
SIM_ENGINE_ID = "8000000001020304"

# recording -> (simulator address, profile)
RECORDINGS = {
    "switch24": ("127.0.0.2", "switch"),
    "switch32": ("127.0.0.3", "switch"),
    "firewall": ("127.0.0.4", "firewall"),
    "ups-normal": ("127.0.0.5", "ups"),
    "ups-battery": ("127.0.0.6", "ups"),
    "router-entity": ("127.0.0.7", "router"),
    # vendor UPS profiles (tests/data/snmp/generate.py)
    "apc-ups-normal": ("127.0.0.8", "apc_ups"),
    "apc-ups-battery": ("127.0.0.8", "apc_ups"),
    "socomec-ups-normal": ("127.0.0.9", "socomec_ups"),
    "socomec-ups-battery": ("127.0.0.9", "socomec_ups"),
    # vendor profiles (tests/data/snmp/generate_vendors.py)
    "fortigate": ("127.0.0.10", "fortigate"),
    "cisco-asa": ("127.0.0.11", "cisco_asa"),
    "cisco-ios": ("127.0.0.12", "cisco_ios"),
    "paloalto": ("127.0.0.13", "paloalto"),
    "checkpoint": ("127.0.0.14", "checkpoint"),
    "juniper": ("127.0.0.15", "juniper"),
    "synology": ("127.0.0.16", "synology"),
    "qnap": ("127.0.0.17", "qnap"),
}


def free_udp_port(hosts: Sequence[str] = ("127.0.0.1",)) -> int:
    """A UDP port free on every host given (checked by binding each)."""
    for _ in range(50):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind((hosts[0], 0))
        port = probe.getsockname()[1]
        held = [probe]
        try:
            for host in hosts[1:]:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(s)
                s.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no free UDP port")


def _answers(address: str, community: str) -> bool:
    rc = subprocess.run([SNMPGET, "-v2c", "-c", community, "-On", "-t", "0.3", "-r", "0",
                         address, "1.3.6.1.2.1.1.5.0"], capture_output=True).returncode
    return rc == 0


def _wait_until_answering(proc: subprocess.Popen, address: str, community: str,
                          log: Path, limit: float = 20.0) -> None:
    stop = time.monotonic() + limit
    while time.monotonic() < stop:
        if proc.poll() is not None:
            raise RuntimeError(f"peer exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if _answers(address, community):
            return
        time.sleep(0.1)
    raise RuntimeError(f"peer on {address} did not answer: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stops one peer by its PID: TERM, then KILL if it lingers."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@dataclass
class Peer:
    address: str
    proc: subprocess.Popen


@dataclass(frozen=True)
class SnmpdUser:
    """One `createUser` line of an snmpd: SHA auth, AES privacy unless `priv` is None;
    the protocols as Lifeline's config names them (SHA256, AES192, ...)."""

    name: str
    auth: str = "authpass123"
    priv: str | None = "privpass123"
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"

    def create_user(self) -> str:
        """The snmpd.conf lines that make this user and give it read access."""
        auth = _NET_SNMP.get(self.auth_protocol, self.auth_protocol)
        line = f'createUser {self.name} {auth} "{self.auth}"'
        if self.priv:
            line += f' {_NET_SNMP.get(self.priv_protocol, self.priv_protocol)} "{self.priv}"'
        return line + "\n"


# Lifeline's protocol names -> net-snmp's
_NET_SNMP = {"SHA224": "SHA-224", "SHA256": "SHA-256", "SHA384": "SHA-384",
             "SHA512": "SHA-512", "AES192": "AES-192", "AES256": "AES-256"}
V3_AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
V3_PRIV_PROTOCOLS = (None, "DES", "AES", "AES192", "AES256")
# One user per authentication x privacy combination net-snmp supports (none: authNoPriv).
EVERY_V3_USER = tuple(
    SnmpdUser(f"u-{auth}-{priv or 'nopriv'}".lower(), priv="privpass123" if priv else None,
              auth_protocol=auth, priv_protocol=priv or "AES")
    for auth in V3_AUTH_PROTOCOLS for priv in V3_PRIV_PROTOCOLS)


DEFAULT_USERS = ()        # start_snmpd's default: noc (authPriv), nocauth, nocmd5


def start_snmpd(workdir: Path, *, users: Sequence[SnmpdUser] = DEFAULT_USERS,
                engine_id: str | None = None, port: int | None = None) -> Peer:
    """A net-snmp snmpd on 127.0.0.1 (`port`, or a free one). `users`, if given, replace the
    default v3 users; `engine_id` (text, `engineID` in snmpd.conf) makes its snmpEngineID
    80001f8804 followed by that text's bytes.
    Restart one on the same port with another engine id and a fresh `workdir` to get a
    device whose engine id changed (a factory reset or a replaced chassis); with the same
    `workdir` (its persistent state in workdir/persist) it is a reboot: same engine id,
    snmpEngineBoots one higher, snmpEngineTime from zero."""
    port = port or free_udp_port()
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "snmpd.conf"
    if users:
        v3 = "".join(u.create_user() for u in users)
        v3 += "".join(f"rouser {u.name} {'priv' if u.priv else 'auth'}\n" for u in users)
    else:
        v3 = ('createUser noc SHA "authpass123" AES "privpass123"\n'
              'createUser nocauth SHA "authpass123"\n'
              'createUser nocmd5 MD5 "authpass123" DES "privpass123"\n'
              "rouser noc priv\nrouser nocauth auth\nrouser nocmd5 priv\n")
    conf.write_text(
        f"agentAddress udp:127.0.0.1:{port}\n"
        + (f"engineID {engine_id}\n" if engine_id else "")
        + "rocommunity public 127.0.0.1\n" + v3
        + "sysName test-snmpd\nsysLocation loopback\n")
    log = workdir / "snmpd.log"
    configs = [conf]
    if (persisted := workdir / "persist" / "snmpd.conf").exists():
        configs.append(persisted)   # -C skips it otherwise: engine boots would not rise
    proc = subprocess.Popen(
        [SNMPD, "-f", "-Lo", "-C", "-c", ",".join(map(str, configs)), "-I",
         "-smux,mteTrigger,mteTriggerConf"],
        # Not workdir itself: snmpd writes its persistent state (engine boots, users) to
        # PERSISTENT_DIR/snmpd.conf, which would overwrite the configuration.
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(workdir / "persist")},
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        _wait_until_answering(proc, address, "public", log)
    except Exception:
        stop(proc)
        raise
    return Peer(address, proc)


def engine_id_of(address: str) -> str:
    """The snmpEngineID (hex) an snmpd at `address` answers with, asked over v2c."""
    out = subprocess.run([SNMPGET, "-v2c", "-c", "public", "-On", "-Ox", "-t", "1",
                          address, "1.3.6.1.6.3.10.2.1.1.0"],
                         capture_output=True, text=True, check=True).stdout
    return "".join(out.rpartition(":")[2].split()).lower()


# --- records and polling helpers --------------------------------------------------------

def community(name: str, value_env: str | None = None, version: str = "2c") -> SnmpCredentials:
    """v1/v2c credentials whose community is read from an environment variable."""
    env = value_env or f"LL_TEST_COMMUNITY_{name.upper().replace('-', '_')}"
    if value_env is None:
        os.environ[env] = name
    return SnmpCredentials(name=name, version=version, community=SecretRef(env=env))  # type: ignore[arg-type]


def usm(name: str, user: str, *, auth: str | None = "SHA", auth_env: str = "LL_TEST_AUTH",
        priv: str | None = None, priv_env: str = "LL_TEST_PRIV",
        context: str = "") -> SnmpCredentials:
    return SnmpCredentials(
        name=name, version="3", user=user, auth_protocol=auth,  # type: ignore[arg-type]
        auth_key=SecretRef(env=auth_env) if auth else None,
        priv_protocol=priv, priv_key=SecretRef(env=priv_env) if priv else None,  # type: ignore[arg-type]
        context=context)


def device(device_id: str, address: str, credentials: str, profile: str, *,
           timeout: float = 1.0, retries: int = 1, category: str = "backbone_switch") -> Device:
    return Device(id=device_id, name=device_id, category=category, site="district-hall",
                  poll=PollSpec(protocol="snmp", address=address, credentials=credentials,
                                profile=profile, timeout=timeout, retries=retries))


def sim_devices(port: int) -> tuple[list[Device], dict[str, Credentials]]:
    creds: dict[str, Credentials] = {}
    devices = []
    for name, (host, profile) in RECORDINGS.items():
        creds[name] = community(name)
        # 3 s: one snmpsim process answers every recording at once, and under a loaded
        # machine (the suite runs in parallel workers) it can be slow; no test here is
        # about the timeout itself.
        devices.append(device(name, f"{host}:{port}", name, profile, timeout=3.0))
    return devices, creds


def poll(devices: Sequence[Device], credentials: Mapping[str, Credentials],
         rounds: int = 1, pause: float = 0.0, max_in_flight: int = 16
         ) -> list[dict[str, PollResult]]:
    """Polls every device concurrently, `rounds` times with one collector (so counter
    state carries over), and returns each round's results by device id."""
    async def run() -> list[dict[str, PollResult]]:
        collector = SnmpCollector(credentials, max_in_flight=max_in_flight)
        out = []
        try:
            for i in range(rounds):
                if i and pause:
                    await asyncio.sleep(pause)
                results = await asyncio.gather(*(collector.collect(d) for d in devices))
                out.append({r.device_id: r for r in results})
        finally:
            await collector.aclose()
        return out
    return asyncio.run(run())


def only(result: PollResult, measurement: str) -> list:
    return [s for s in result.samples if s.measurement == measurement]


@contextlib.contextmanager
def running_snmpsim() -> Iterator[int]:
    """One snmpsim process answering every recording on 127.0.0.2..7; yields the port."""
    files = {rec.name: rec.read_bytes() for rec in DATA.glob("*.snmprec")}
    hosts = sorted({addr for addr, _ in RECORDINGS.values()})
    probes = [(host, name) for name, (host, _) in RECORDINGS.items()]
    with serving_snmprec(files, hosts, probes) as port:
        yield port


@contextlib.contextmanager
def serving_snmprec(files: Mapping[str, bytes], hosts: Sequence[str],
                    probes: Sequence[tuple[str, str]]) -> Iterator[int]:
    """snmpsim serving `files` (name -> .snmprec bytes; the community is the name without
    .snmprec) on every host, one free port; waits until each (host, community) of
    `probes` answers; yields the port."""
    if not SNMPSIM.exists():
        raise RuntimeError("snmpsim is not installed: run tests/setup.sh")
    # Readable by nobody (snmpsim drops to it): not under pytest's 0700 tmp root.
    data = Path(tempfile.mkdtemp(prefix="lifeline-snmprec-"))
    cache = Path(tempfile.mkdtemp(prefix="lifeline-snmpsim-cache-"))
    for name, content in files.items():
        (data / name).write_bytes(content)
    os.chmod(data, 0o755)
    for f in data.iterdir():
        os.chmod(f, 0o644)
    os.chmod(cache, 0o777)
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
        for host, name in probes:
            # snmpsim indexes a big recording on first use: give it time.
            _wait_until_answering(proc, f"{host}:{port}", name, log, limit=60.0)
        yield port
    finally:
        stop(proc)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
        log.unlink(missing_ok=True)


@contextlib.contextmanager
def running_pysnmp_agent(users: Sequence[SnmpdUser], engine_id: bytes) -> Iterator[str]:
    """pysnmp's own command responder (the reference USM implementation) on a free port of
    127.0.0.1, in a thread with its own event loop; `users` with read access to mib-2,
    AES-192/256 with the key extension net-snmp uses (Blumenthal). Yields 'ip:port'."""
    import threading

    from pysnmp.carrier.asyncio.dgram import udp
    from pysnmp.entity import config, engine
    from pysnmp.entity.rfc3413 import cmdrsp, context
    from pysnmp.proto.rfc1902 import OctetString

    from collectors.snmp._pysnmp import AUTH_PROTOCOLS, PRIV_PROTOCOLS

    port = free_udp_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    snmp_engine = engine.SnmpEngine(snmpEngineID=OctetString(engine_id))

    def serve() -> None:
        asyncio.set_event_loop(loop)
        config.add_transport(snmp_engine, udp.DOMAIN_NAME,
                             udp.UdpTransport().open_server_mode(("127.0.0.1", port)))
        for user in users:
            config.add_v3_user(snmp_engine, user.name, AUTH_PROTOCOLS[user.auth_protocol],
                               user.auth,
                               PRIV_PROTOCOLS[user.priv_protocol if user.priv else None],
                               user.priv)
            config.add_vacm_user(snmp_engine, 3, user.name,
                                 "authPriv" if user.priv else "authNoPriv",
                                 (1, 3, 6, 1, 2, 1), (1, 3, 6, 1, 2, 1))
        responders = context.SnmpContext(snmp_engine)
        cmdrsp.GetCommandResponder(snmp_engine, responders)
        cmdrsp.NextCommandResponder(snmp_engine, responders)
        cmdrsp.BulkCommandResponder(snmp_engine, responders)
        loop.call_soon(ready.set)
        loop.run_forever()
        snmp_engine.close_dispatcher()
        loop.close()

    thread = threading.Thread(target=serve, name="pysnmp-agent", daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("pysnmp's agent did not start")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

"""`lifeline run` pinging cameras, end to end with real packets.

- A camera in a network namespace of the test's own (tests/peers/netns.py) goes away:
  `device_down` fires once, and resolves when it comes back; a real webhook server
  receives the notices.
- As a non-root user (setpriv): with only CAP_NET_RAW it pings; without it, it refuses to
  start and says what to grant; with net.ipv4.ping_group_range allowing its group (set in
  a namespace of the test's own, so the host's setting is never touched) it pings over
  an unprivileged datagram socket.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peers.agent import ROOT, AgentProcess, agent_config
from peers.netns import NetnsHost, empty_netns, netns_available, netns_host
from peers.webhook import WebhookPeer

pytestmark = pytest.mark.peer
NOBODY = 65534


def camera_yaml(device_id: str, address: str, *, interval: str = "1s") -> str:
    return (f"  - id: {device_id}\n    name: camera {device_id}\n    category: cctv_camera\n"
            f"    site: cctv-center\n    parent: null\n"
            f"    poll: {{protocol: icmp, address: \"{address}\", count: 2, "
            f"ping_interval: 200ms, timeout: 500ms, interval: {interval}}}\n")


@pytest.fixture
def far_host() -> Iterator[NetnsHost]:
    why = netns_available()
    if why:
        pytest.skip(why)
    with netns_host() as host:
        yield host


def _events(hook: WebhookPeer, device_id: str) -> list[str]:
    return [alert["event"] for request in hook.accepted for alert in request.body["alerts"]
            if alert["labels"].get("device_id") == device_id
            and alert["labels"].get("rule") == "device_down"]


def test_a_camera_that_goes_away_fires_device_down_once_and_resolves(
        tmp_path: Path, far_host: NetnsHost, hook: WebhookPeer) -> None:
    alerts = ("alerts:\n  thresholds: {outage_polls: 2}\n  channels:\n"
              f"    - {{name: hook, type: webhook, url: \"{hook.url()}\", group_wait: 0s, "
              "group_interval: 0s, retry_initial: 1s}\n"
              "  routes:\n    - {match: {}, channels: [hook]}\n")
    devices = camera_yaml("cam-far", far_host.address) + camera_yaml("cam-lo", "127.0.0.7")
    agent = AgentProcess(agent_config(tmp_path, devices, top_extra=alerts)).start()
    try:
        agent.wait_polls("cam-far", 2)
        far_host.remove()                                   # the camera is gone
        agent.wait_for("the outage notice", lambda: "firing" in _events(hook, "cam-far"))
        agent.wait_polls("cam-far", (agent.status() or {})["devices"]["cam-far"]["polls"] + 3)
        with netns_host() as back:                          # and back, at the same address
            _readdress(back, far_host.address)
            agent.wait_for("the recovery notice",
                           lambda: "resolved" in _events(hook, "cam-far"))
    finally:
        assert agent.stop() == 0, agent.log()
    assert _events(hook, "cam-far") == ["firing", "resolved"], _events(hook, "cam-far")
    assert _events(hook, "cam-lo") == []
    status = agent.status() or {}
    assert status["devices"]["cam-lo"]["polls"] >= 3


def _readdress(host: NetnsHost, address: str) -> None:
    """Give a new namespace host the address the old one had (a camera back on its IP)."""
    near = address.rsplit(".", 1)[0] + ".1"
    subprocess.run(["ip", "addr", "flush", "dev", host.outside], check=True, timeout=20)
    subprocess.run(["ip", "addr", "add", f"{near}/30", "dev", host.outside], check=True,
                   timeout=20)
    host.run(["ip", "addr", "flush", "dev", host.inside], check=True)
    host.run(["ip", "addr", "add", f"{address}/30", "dev", host.inside], check=True)
    host.address, host.near = address, near


# ---- as a non-root user --------------------------------------------------------------------

@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A directory the unprivileged user can write (pytest's tmp_path is root's only)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv (util-linux) to run the agent as another user")
    path = Path(tempfile.mkdtemp(prefix="lifeline-nobody-"))
    path.chmod(0o755)
    os.chown(path, NOBODY, NOBODY)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _as_nobody(*caps: str) -> list[str]:
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    if caps:
        joined = ",".join(f"+{c}" for c in caps)
        argv += [f"--inh-caps={joined}", f"--ambient-caps={joined}"]
    return argv


def _config(directory: Path) -> Path:
    path = directory / "lifeline.yaml"
    path.write_text(f"agent:\n  name: nobody-agent\n  state_dir: {directory / 'var'}\n"
                    "devices:\n" + camera_yaml("cam-1", "127.0.0.9"), encoding="utf-8")
    os.chown(path, NOBODY, NOBODY)
    return path


def _run_until_polled(argv: list[str], directory: Path) -> dict[str, Any]:
    log = (directory / "agent.log").open("wb")
    proc = subprocess.Popen([*argv, sys.executable, "-m", "agent.cli", "run",
                             str(_config(directory))], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=log)
    agent = AgentProcess(directory / "lifeline.yaml", proc=proc,
                         log_path=directory / "agent.log")
    try:
        return agent.wait_polls("cam-1", 2)
    finally:
        assert agent.stop() == 0, agent.log()


def test_a_non_root_agent_with_only_cap_net_raw_pings(nobody_dir: Path) -> None:
    device = _run_until_polled(_as_nobody("net_raw"), nobody_dir)
    assert device["failures"] == 0, device
    assert (nobody_dir / "var").stat().st_uid == NOBODY


def test_a_non_root_agent_without_it_refuses_to_start_saying_what_to_grant(
        nobody_dir: Path) -> None:
    done = subprocess.run([*_as_nobody(), sys.executable, "-m", "agent.cli", "run",
                           str(_config(nobody_dir))], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "cannot start: devices poll with protocol icmp" in done.stderr
    assert "AmbientCapabilities=CAP_NET_RAW" in done.stderr
    assert "net.ipv4.ping_group_range" in done.stderr
    assert "Traceback" not in done.stderr


def test_unprivileged_datagram_sockets_where_ping_group_range_allows(nobody_dir: Path) -> None:
    why = netns_available()
    if why:
        pytest.skip(why)
    with empty_netns() as namespace:
        namespace.run(["sysctl", "-qw", f"net.ipv4.ping_group_range={NOBODY} {NOBODY}"],
                      check=True)
        argv = ["ip", "netns", "exec", namespace.namespace, *_as_nobody()]
        probe = subprocess.run(
            [*argv, sys.executable, "-c", "import socket; from collectors._echo import "
             "EchoSocket; print(EchoSocket.open(socket.AF_INET).kind)"],
            cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert probe.stdout.strip() == "datagram", probe.stderr
        device = _run_until_polled(argv, nobody_dir)
        assert device["failures"] == 0, device


def test_the_systemd_unit_grants_cap_net_raw_and_nothing_more() -> None:
    unit = (ROOT / "config" / "systemd" / "lifeline.service").read_text(encoding="utf-8")
    granted = [line for line in unit.splitlines()
               if line.startswith(("AmbientCapabilities", "CapabilityBoundingSet"))]
    assert granted == ["AmbientCapabilities=CAP_NET_RAW",
                       "CapabilityBoundingSet=CAP_NET_RAW"], granted

"""The HTTP and host rules fire and resolve on results from real peers: a real HTTP/HTTPS
server (a 10-day self-signed certificate) polled by the HTTP collector, and this machine
polled by the psutil host collector. Thresholds are moved by a config reload (as SIGHUP
does) to cross the real measured values both ways."""
from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.evaluation.engine import Engine
from alerts.evaluation.store import Store
from collectors.host import HostCollector
from collectors.http.collector import HttpCollector

from kits.alerts_engine import FakeClock, ListOutbox, write_config
from peers.http import HttpPeer, default_health, start_http_peer
from peers.snmp import stop

pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def http_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpPeer]:
    peer = start_http_peer(tmp_path_factory.mktemp("http-peer"))
    yield peer
    stop(peer.proc)


def _set_health(peer: HttpPeer, **changes: Any) -> None:
    body = json.dumps({**default_health(), **changes}).encode()
    request = urllib.request.Request(f"{peer.http}/health", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).read()


def _devices(peer: HttpPeer) -> str:
    return f"""\
        - id: web-1
          name: civil web service
          category: server
          poll: {{protocol: http, url: "{peer.http}/health", interval: 60s, timeout: 5s,
                  retries: 0, expect_json: ["uptime_s > 60"]}}
        - id: vms-1
          name: CCTV VMS web
          category: cctv_server
          poll: {{protocol: http, url: "{peer.https}/ok", verify_tls: false, interval: 60s,
                  timeout: 5s, retries: 0}}
        - id: ctl-1
          name: CCTV control server
          category: cctv_server
          poll: {{protocol: host, interval: 60s, timeout: 10s, retries: 0}}
        """


def _thresholds(**values: object) -> str:
    return "thresholds: {" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}\n"


class Rig:
    def __init__(self, tmp: Path, peer: HttpPeer, **thresholds: object) -> None:
        self.tmp, self.peer, self.clock, self.sink = tmp, peer, FakeClock(), ListOutbox()
        self.config = write_config(tmp, _devices(peer), _thresholds(**thresholds))
        self.engine = Engine(self.config, Store.in_dir(self.config.agent.state_dir),
                             self.sink, self.clock)

    def reload(self, **thresholds: object) -> None:
        self.config = write_config(self.tmp, _devices(self.peer), _thresholds(**thresholds))
        self.engine.reload(self.config)

    def poll(self, *device_ids: str) -> None:
        async def run() -> None:
            http, host = HttpCollector.from_config(self.config), HostCollector.from_config(
                self.config)
            try:
                for device_id in device_ids:
                    device = self.config.device(device_id)
                    collector = host if device.poll.protocol == "host" else http
                    self.engine.observe(await collector.collect(device))
                    self.engine.tick()
            finally:
                await http.aclose()
                await host.aclose()
        asyncio.run(run())
        self.clock.advance(60)

    def events(self, rule: str) -> list[str]:
        return [n.event for n in self.sink.notifications if n.alert.rule == rule]


def test_http_check_failed_fires_and_resolves(tmp_path: Path, http_peer: HttpPeer) -> None:
    rig = Rig(tmp_path, http_peer, http_for="0s")
    _set_health(http_peer, uptime_s=5)                   # just rebooted: expectation fails
    rig.poll("web-1")
    assert rig.events("http_check_failed") == ["firing"]
    _set_health(http_peer)
    rig.poll("web-1")
    assert rig.events("http_check_failed") == ["firing", "resolved"]


def test_http_slow_and_certificate_expiring_fire_and_resolve(
        tmp_path: Path, http_peer: HttpPeer) -> None:
    # Any real response takes more than a microsecond; the certificate has 10 days left.
    rig = Rig(tmp_path, http_peer, http_for="0s", http_slow_seconds=0.000001, cert_days=30)
    rig.poll("vms-1")
    assert rig.events("http_slow") == ["firing"]
    assert rig.events("http_cert_expiring") == ["firing"]
    alert = next(n.alert for n in rig.sink.notifications if n.alert.rule == "http_cert_expiring")
    assert alert.value is not None and 9 < alert.value <= 10
    rig.reload(http_for="0s", http_slow_seconds=30, cert_days=5)
    rig.poll("vms-1")
    assert rig.events("http_slow") == ["firing", "resolved"]
    assert rig.events("http_cert_expiring") == ["firing", "resolved"]


@contextlib.contextmanager
def _busy_cpu() -> Iterator[None]:
    """A thread spinning while the host is polled, so its CPU use is above zero."""
    done = threading.Event()

    def spin() -> None:
        while not done.is_set():
            sum(range(1000))
    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def test_host_disk_memory_cpu_fire_and_resolve(tmp_path: Path, http_peer: HttpPeer) -> None:
    rig = Rig(tmp_path, http_peer, host_for="0s", cpu_for="0s", disk_percent=0,
              mem_percent=0, cpu_percent=0)
    with _busy_cpu():                   # an idle machine can measure 0 % for a moment
        rig.poll("ctl-1")
    assert rig.events("host_memory_high") == ["firing"]
    assert rig.events("host_cpu_high") == ["firing"]
    disk = [n.alert for n in rig.sink.notifications if n.alert.rule == "host_disk_full"]
    assert "/" in {a.instance for a in disk}
    rig.reload(host_for="0s", cpu_for="0s", disk_percent=100, mem_percent=100,
               cpu_percent=100)
    rig.poll("ctl-1")
    assert rig.events("host_memory_high") == ["firing", "resolved"]
    assert rig.events("host_cpu_high") == ["firing", "resolved"]
    resolved = {n.alert.instance for n in rig.sink.notifications
                if n.alert.rule == "host_disk_full" and n.event == "resolved"}
    assert resolved == {a.instance for a in disk}

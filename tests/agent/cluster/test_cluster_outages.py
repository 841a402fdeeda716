"""A zoned cluster of real `lifeline run` nodes on a PostgreSQL 15 of this module's own
(it is stopped and started again), polling a real snmpd and TCP ports the test opens and
closes, telling a real webhook receiver. One scenario, checked step by step:

    test 6  PostgreSQL down longer than the lease: no notice while it is down; after it
            returns, the resolve decided meanwhile arrives, once, and nothing else
    test 7  zone pinning holds (a zone's buckets only on its nodes, also while it has
            none); a zone with every node down raises its alert (from a node of the
            other zone) and it resolves when one of its nodes is back

Leases are 6 s, renewed every second; every wait is a deadline, generous on a busy
machine, and each says which bound it stands for."""
from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest

from kits.cluster import Nodes, start_node
from kits.waiting import eventually
from peers.agent import AgentProcess
from peers.postgres import PostgresServer, lease_holders, running_postgres
from peers.snmp import Peer
from peers.webhook import running_webhook

pytestmark = pytest.mark.peer

LEASE, RENEW = 6.0, 1.0
OUTAGE_POLLS = 2
ZONES = {"e1": "east", "w1": "west", "w2": "west"}
UP_PER_ZONE = 3


class Port:
    """A TCP port of the test's: bound but not listening (a poll is refused: the device
    is down) until `open()` (it answers: the device is back)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        self.sock.listen(64)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        self.sock.close()


def _devices(snmp: str, flips: dict[str, Port]) -> str:
    text = ""
    for zone in ("east", "west"):
        for i in range(UP_PER_ZONE):
            text += (f"  - id: {zone}-sw-{i}\n    name: {zone} switch {i}\n"
                     f"    category: switch\n    site: {zone}-office\n"
                     f"    poll: {{protocol: snmp, address: \"{snmp}\", credentials: v2, "
                     "profile: switch, interval: 1s, timeout: 800ms, retries: 0}\n")
        text += (f"  - id: {zone}-flip\n    name: {zone} door controller\n"
                 f"    category: switch\n    site: {zone}-office\n"
                 f"    poll: {{protocol: tcp, address: \"127.0.0.1:{flips[zone].port}\", "
                 "interval: 1s, timeout: 500ms, retries: 0}\n")
    return text


@dataclass
class Zoned(Nodes):
    server: PostgresServer | None = None
    flips: dict[str, Port] = field(default_factory=dict)

    def start(self, name: str) -> AgentProcess:
        node = start_node(self.root / name, self.devices, dsn=self.dsn,
                          hook_url=self.hook.url(), outage_polls=OUTAGE_POLLS,
                          cluster_yaml=f"node: {name}, zone: {ZONES[name]}, zones: "
                          "{east: [east-office], west: [west-office]}, "
                          f"lease: {LEASE:g}s, renew: {RENEW:g}s")
        self.nodes[name] = node
        return node

    def owners(self) -> dict[str, str | None]:
        """bucket -> its holder while the lease runs (every bucket, the zones' too)."""
        return lease_holders(self.dsn)

    def outbox_settled(self) -> bool:
        """No notice pending or in flight: every delivery's outcome stored."""
        return not self.query("SELECT 1 FROM delivery_outbox"
                              " WHERE state IN ('pending', 'sending')")


@pytest.fixture(scope="module")
def zoned(snmpd: Peer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zoned]:
    flips = {"east": Port(), "west": Port()}
    with ExitStack() as stack:
        for port in flips.values():
            stack.callback(port.close)
        try:
            server = stack.enter_context(running_postgres())
        except RuntimeError as exc:
            pytest.fail(str(exc))
        hook = stack.enter_context(running_webhook())
        found = Zoned(server.new_database(), tmp_path_factory.mktemp("zoned"),
                      _devices(snmpd.address, flips), hook, server=server, flips=flips)
        try:
            for name in ZONES:
                found.start(name)
            yield found
        finally:
            for node in found.nodes.values():
                if node.proc is not None and node.proc.poll() is None:
                    node.stop(signal.SIGKILL)


def _pinned(zoned: Zoned) -> dict[str, str] | None:
    """The owners once settled, each zone's buckets on that zone's nodes only."""
    owners = zoned.settled()
    if not owners:
        return None
    zone_of = dict(zoned.query("SELECT bucket, zone FROM cluster_buckets"))
    wrong = {b: o for b, o in owners.items() if zone_of[b] and ZONES[o] != zone_of[b]}
    assert not wrong, wrong             # never, not even for a moment
    return owners


def _shown(node: AgentProcess, wanted: set[str]) -> set[str] | None:
    """The devices in `node`'s status once it shows all of `wanted` (perhaps more)."""
    devices = set((node.status() or {}).get("devices", {}))
    return devices if devices >= wanted else None


def test_6_postgres_down_past_the_lease_sends_nothing_then_loses_and_doubles_nothing(
        zoned: Zoned) -> None:
    eventually(lambda: _pinned(zoned), "every bucket held", timeout=15 + 15)
    firing = {("east-flip", "firing"), ("west-flip", "firing")}

    def told() -> bool:
        return {(d, e) for _, d, e in zoned.notices()} >= firing
    eventually(told, "both outages told", timeout=OUTAGE_POLLS + LEASE + 20)
    # nothing in flight: a row still `sending` when the database stops (the hook has it,
    # its outcome not yet stored) is rightly sent again after it returns
    eventually(zoned.outbox_settled, "every notice's delivery stored")
    before = len(zoned.hook.received)

    assert zoned.server is not None
    zoned.server.stop()             # immediate, as a crash
    try:
        for port in zoned.flips.values():
            port.open()             # both devices answer again while the database is down
        for name, node in zoned.nodes.items():
            # longer than the lease: every node gave its buckets up
            node.wait_for(f"{name} letting its buckets go", lambda n=node: "letting every "
                          "bucket go" in n.log(), timeout=LEASE + 15)
        time.sleep(RENEW * 2)       # polls answering meanwhile, decided and rolled back
        assert len(zoned.hook.received) == before, zoned.notices()[-4:]   # nothing sent
    finally:
        zoned.server.start()        # same port, same data directory

    expected = firing | {("east-flip", "resolved"), ("west-flip", "resolved")}

    def resolved() -> bool:
        return {(d, e) for _, d, e in zoned.notices()} >= expected
    eventually(resolved, "both recoveries told after the database returned",
               timeout=LEASE + 30)
    time.sleep(2 * RENEW + 3)       # past a round of polls: a notice decided twice is made
    # every outcome stored and nothing left to send: a duplicate would be here now
    eventually(zoned.outbox_settled, "every notice's delivery stored")
    notices = zoned.notices()
    assert {(d, e) for _, d, e in notices} == expected, notices   # none lost, no other
    assert len(notices) == len(expected) == len({i for i, _, _ in notices}), notices
    eventually(lambda: _pinned(zoned), "every bucket held again", timeout=LEASE + 15)


def test_7_zone_pinning_holds_and_a_zone_with_no_live_node_raises_its_alert(
        zoned: Zoned) -> None:
    owners = eventually(lambda: _pinned(zoned), "every bucket held", timeout=LEASE + 15)
    east = [b for b, z in zoned.query("SELECT bucket, zone FROM cluster_buckets")
            if z == "east"]
    assert east and all(owners[b] == "e1" for b in east)
    east_devices = {*(f"east-sw-{i}" for i in range(UP_PER_ZONE)), "east-flip"}
    # e1's status lists exactly the east devices once it shows all of them (a snapshot
    # taken while it adopted its buckets again after test 6 may show fewer)
    by_node = eventually(lambda: _shown(zoned.nodes["e1"], east_devices), "e1's status")
    assert by_node == east_devices
    before = len(zoned.notices())

    zoned.nodes["e1"].stop(signal.SIGKILL)      # every node of zone east down
    zone_device = "cluster-zone-east"

    def raised() -> list[tuple[str, str, str]]:
        return [n for n in zoned.notices()[before:] if n[1] == zone_device]
    # e1 not live after a lease; the zones' bucket taken over meanwhile if e1 held it;
    # then the alert's grace (a lease); and a busy machine's margin
    (fired,) = eventually(raised, "zone east's alert", timeout=3 * LEASE + 20)
    assert fired[2] == "firing"
    holder = zoned.owners().get("*:zones")
    assert holder in ("w1", "w2"), holder        # raised by a live node of the other zone
    owners = zoned.owners()
    assert all(owners.get(b) is None for b in east), owners     # pinned: nobody took them

    zoned.start("e1")

    def back() -> list[tuple[str, str, str]] | None:
        found = raised()
        return found if len(found) >= 2 else None
    notices = eventually(back, "zone east's alert resolved", timeout=LEASE + 20)
    assert [e for _, _, e in notices] == ["firing", "resolved"], notices
    assert notices[0][0] != notices[1][0]
    owners = eventually(lambda: _pinned(zoned), "zone east's buckets on e1 again",
                        timeout=LEASE + 15)
    assert all(owners[b] == "e1" for b in east)
    time.sleep(2 * RENEW + 2)       # a second raise or resolve would have arrived by now
    assert len(raised()) == 2, raised()

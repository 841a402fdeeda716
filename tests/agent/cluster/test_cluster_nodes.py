"""A cluster of real `lifeline run` nodes on a real PostgreSQL 15, polling a real snmpd
(devices that answer) and a port where nothing answers (devices that are down), telling a
real webhook receiver. One scenario for the module, checked step by step (the tests run
in order and share it): three nodes share the buckets, a fourth joins, one is SIGKILLed
in the middle of an outage episode, one is stopped with SIGTERM, one is frozen with
SIGSTOP past its lease and woken again.

Leases are short (6 s, renewed every second); every wait is a deadline, generous on a
busy machine, and each says which of the issue's bounds it stands for."""
from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import psycopg
import pytest

from config.postgres import STATEMENT_TIMEOUT_MS

from kits.cluster import Nodes, start_node
from kits.waiting import eventually
from peers.agent import AgentProcess, snmp_devices_yaml
from peers.postgres import PostgresServer
from peers.snmp import Peer, free_udp_port
from peers.webhook import running_webhook

pytestmark = pytest.mark.peer

LEASE, RENEW = 6.0, 1.0
OUTAGE_POLLS = 40          # pending long enough for the steps before the kill
UP, DOWN = 10, 2


@dataclass
class Cluster(Nodes):

    def start(self, name: str) -> AgentProcess:
        node = start_node(self.root / name, self.devices, dsn=self.dsn,
                          hook_url=self.hook.url(), outage_polls=OUTAGE_POLLS,
                          cluster_yaml=f"node: {name}, lease: {LEASE:g}s, renew: {RENEW:g}s")
        self.nodes[name] = node
        return node

    def balanced(self, names: tuple[str, ...]) -> dict[str, str] | None:
        """The owners once every bucket is held and each of `names` holds at most a
        fair share (their count, rounded up), else None."""
        owners = self.settled()
        if not owners:
            return None
        share = _share(len(owners), len(names))
        counts = [list(owners.values()).count(n) for n in names]
        return owners if all(c <= share for c in counts) else None

@pytest.fixture(scope="module")
def cluster(postgres: PostgresServer, snmpd: Peer, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:
    dead = f"127.0.0.1:{free_udp_port()}"       # nothing answers there: down devices
    devices = (snmp_devices_yaml(snmpd.address, UP, interval="1s")
               + snmp_devices_yaml(dead, DOWN, interval="1s", prefix="dead", timeout="300ms"))
    with ExitStack() as stack:
        hook = stack.enter_context(running_webhook())
        found = Cluster(postgres.new_database(), tmp_path_factory.mktemp("cluster"),
                        devices, hook)
        try:
            for name in ("a", "b", "c"):
                found.start(name)
            yield found
        finally:
            for node in found.nodes.values():
                if node.proc is not None and node.proc.poll() is None:
                    node.proc.send_signal(signal.SIGCONT)
                    node.stop(signal.SIGKILL)


def _share(buckets: int, nodes: int) -> int:
    return -(-buckets // nodes)


def test_1_three_nodes_hold_every_bucket_none_beyond_a_fair_share(cluster: Cluster) -> None:
    owners = eventually(lambda: cluster.balanced(("a", "b", "c")),
                        "every bucket held, none beyond a fair share",
                        timeout=15 + 15)          # the 15 s, and a busy machine's
    settled_at = time.time()
    counts = {n: list(owners.values()).count(n) for n in ("a", "b", "c")}
    assert all(0 < c <= _share(len(owners), 3) for c in counts.values()), counts

    def polled() -> dict[str, set[str]] | None:
        """Each node's devices, from status snapshots taken once the buckets settled
        (an older one may still list a device its node let go since: a node lets a
        bucket's devices go before it releases the bucket)."""
        statuses = [p.status() or {} for p in cluster.nodes.values()]
        if not all(s.get("written_unix", 0) > settled_at for s in statuses):
            return None
        found = {n: set(s.get("devices", {})) for n, s in zip(cluster.nodes, statuses, strict=True)}
        return found if sum(map(len, found.values())) == UP + DOWN else None
    by_node = eventually(polled, "each node's status showing its devices")
    everyone = [d for ids in by_node.values() for d in ids]
    assert len(everyone) == len(set(everyone)) == UP + DOWN    # no device on two nodes


def test_1b_a_fourth_node_moves_about_a_quarter(cluster: Cluster) -> None:
    before = eventually(lambda: cluster.balanced(("a", "b", "c")), "settled before the join")
    cluster.start("d")

    after = eventually(lambda: cluster.balanced(("a", "b", "c", "d")),
                       "the fourth node holding its share", timeout=30)
    moved = [b for b in before if after.get(b) != before[b]]
    # about a quarter: the new node's share, and a bucket or two the fair-share cap
    # shifts between the others (rendezvous alone would move the new node's only)
    assert len(moved) <= _share(len(after), 4) + 2, (before, after)
    assert sum(1 for b in moved if after[b] == "d") >= len(moved) - 2, (before, after)


def test_2_a_sigkilled_node_is_taken_over_and_the_pending_outage_counts_on(
        cluster: Cluster) -> None:
    def pending() -> tuple[str, float, int] | None:
        rows = cluster.query("SELECT device_id, (data::json->>'active_since')::float,"
                             " (data::json->>'polls')::int FROM alert_state WHERE rule ="
                             " 'device_down' AND status = 'pending' ORDER BY device_id")
        return next(((d, s, p) for d, s, p in rows if 2 <= p <= OUTAGE_POLLS - 4), None)
    device, active_since, polls = eventually(pending, "a down device pending")
    bucket, owner = cluster.query("SELECT b.bucket, b.owner FROM cluster_buckets b JOIN"
                                  " alert_state s ON s.bucket = b.bucket WHERE"
                                  " s.device_id = %s", device)[0]
    killed_at = time.time()
    cluster.nodes[owner].stop(signal.SIGKILL)

    def taken() -> str | None:
        holder = cluster.owners().get(bucket)
        return holder if holder is not None and holder != owner else None
    # lease + one renewal, and a busy machine's margin
    heir = eventually(taken, f"bucket {bucket} re-owned", timeout=LEASE + RENEW + 10)

    def fired() -> tuple[float, int, float] | None:
        rows = cluster.query("SELECT (data::json->>'active_since')::float,"
                             " (data::json->>'polls')::int, (data::json->>'fired_at')::float"
                             " FROM alert_state WHERE device_id = %s AND status = 'firing'",
                             device)
        return rows[0] if rows else None
    since, fired_polls, fired_at = eventually(fired, f"{device} firing on {heir}",
                                              timeout=OUTAGE_POLLS * 2 + 20)
    assert since == active_since < killed_at < fired_at      # the episode carried over
    assert fired_polls == OUTAGE_POLLS                        # failures in total, not anew
    assert polls < OUTAGE_POLLS


def test_3_no_notification_lost_none_duplicated_under_another_id(cluster: Cluster) -> None:
    expected = {(f"dead-{i}", "firing") for i in range(DOWN)}

    def arrived() -> list[tuple[str, str, str]] | None:
        notices = cluster.notices()
        return notices if {(d, e) for _, d, e in notices} >= expected else None
    notices = eventually(arrived, "both outages told", timeout=OUTAGE_POLLS * 2 + 20)
    assert {(d, e) for _, d, e in notices} == expected, notices
    ids = {(d, e): {i for i, d2, e2 in notices if (d2, e2) == (d, e)} for d, e in expected}
    assert all(len(one) == 1 for one in ids.values()), notices    # a resend: the same id


def test_4_sigterm_hands_over_within_a_renewal(cluster: Cluster) -> None:
    name = next(n for n in cluster.live() if n != "d")
    held = [b for b, o in cluster.owners().items() if o == name]
    assert held
    assert cluster.nodes[name].stop(signal.SIGTERM) == 0
    # released as it stopped: by its exit none is its any more (left to expire, each
    # would still be, its lease running for up to LEASE seconds after the last renewal),
    # so the others claim them in their next round
    left = dict(cluster.query("SELECT bucket, owner FROM cluster_buckets"
                              " WHERE bucket = ANY(%s)", held))
    assert name not in left.values(), left
    owners = eventually(cluster.settled, "the buckets held again")
    assert all(owners[b] != name for b in held)


def test_5_a_frozen_node_past_its_lease_commits_nothing_and_drops_its_jobs(
        cluster: Cluster) -> None:
    owners = eventually(cluster.settled, "the buckets held before the freeze")
    # the node watching a down device: every poll of it changes its alert state, so the
    # woken node does try to commit, and the fence must refuse it
    (bucket,) = cluster.query("SELECT bucket FROM alert_state WHERE device_id = 'dead-0'"
                              " AND rule = 'device_down'")[0]
    name = owners[bucket]
    node = cluster.nodes[name]
    held = [b for b, o in owners.items() if o == name]
    assert "commit fenced off" not in node.log()
    # Freeze the node at a known point of its lease round: its lease thread waiting on
    # the round's first statement (its heartbeat, whose row a transaction of the test's
    # own locks until a woken commit was fenced off). Frozen anywhere later in a round,
    # the woken thread would run the rest of that round at once (renew, see its buckets
    # gone, drop their jobs) in a race with the poll loop's next commit, which must meet
    # the fence. The heartbeat waits no longer than the statement timeout: it bounds
    # the freeze and the wake together (`hold_ends`).
    blocker = psycopg.connect(cluster.dsn)
    try:
        blocker.execute("SELECT 1 FROM cluster_nodes WHERE node = %s FOR UPDATE", (name,))
        node.wait_for(f"{name}'s lease round waiting at its heartbeat",
                      lambda: cluster.blocked_by(blocker.info.backend_pid),
                      timeout=RENEW + 15)
        hold_ends = time.monotonic() + STATEMENT_TIMEOUT_MS / 1000 - 1
        node.send(signal.SIGSTOP)

        def gone() -> bool:
            owners = cluster.owners()
            return all(owners.get(b) not in (None, name) for b in held)
        eventually(gone, f"{name}'s buckets taken over while it is frozen",
                   timeout=LEASE + RENEW + 10)
        woken = len(node.log())
        node.send(signal.SIGCONT)
        node.wait_for("a commit of the woken node fenced off",
                      lambda: "commit fenced off" in node.log()[woken:],
                      timeout=hold_ends - time.monotonic())
    finally:
        node.send(signal.SIGCONT)
        blocker.rollback()
        blocker.close()
    node.wait_for("the woken node noticing", lambda: "taken over by another node"
                  in node.log(), timeout=LEASE + 10)

    def dropped() -> bool:
        since = node.log().split("taken over by another node", 1)[1]
        return f"node {name} holds " in since
    node.wait_for("its jobs dropped through the reload path", dropped, timeout=LEASE + 10)
    # the zombie's own transitions were fenced off: no notice of its own reached the hook
    assert {(d, e) for _, d, e in cluster.notices()} == {
        (f"dead-{i}", "firing") for i in range(DOWN)}
    assert len({i for i, _, _ in cluster.notices()}) == DOWN

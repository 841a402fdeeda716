"""What `lifeline cluster CONFIG status` shows: nodes, buckets per node, lease ages,
zones, read from the cluster's PostgreSQL (typed rows: agent/cluster/leases.py)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from agent.cluster.leases import SCHEMA, BucketRow, NodeRow, read_buckets, read_nodes
from config.model import ClusterSettings
from config.postgres import open_database


@dataclass(frozen=True, slots=True)
class NodeSummary:
    node: str
    zone: str
    live: bool
    seen_ago: float
    buckets: int
    devices: int
    oldest_lease_left: float | None     # the soonest a held lease runs out, seconds


@dataclass(frozen=True, slots=True)
class ClusterReport:
    nodes: tuple[NodeSummary, ...]
    buckets: int
    unowned: int                        # buckets with devices and no live holder
    zones_without_node: tuple[str, ...]


def read_report(settings: ClusterSettings) -> ClusterReport:
    """Raises config.postgres.DatabaseUnavailableError (no DSN in it), SchemaError."""
    conn = open_database(settings.dsn.reveal(), SCHEMA, node=f"{settings.node}-status")
    try:
        return summarise(read_nodes(conn), read_buckets(conn), settings.lease)
    finally:
        conn.close()


def summarise(nodes: list[NodeRow], buckets: list[BucketRow], lease: float) -> ClusterReport:
    live = {n.node for n in nodes if n.seen_ago < lease}
    held = [b for b in buckets if b.owner in live]
    counts = Counter(b.owner for b in held)
    devices = Counter[str]()
    soonest: dict[str, float] = {}
    for b in held:
        assert b.owner is not None
        devices[b.owner] += b.devices
        if b.lease_left is not None:
            soonest[b.owner] = min(soonest.get(b.owner, b.lease_left), b.lease_left)
    summaries = tuple(NodeSummary(n.node, n.zone, n.node in live, n.seen_ago,
                                  counts.get(n.node, 0), devices.get(n.node, 0),
                                  soonest.get(n.node)) for n in nodes)
    live_zones = {n.zone for n in nodes if n.node in live}
    zones = sorted({b.zone for b in buckets if b.zone and b.devices} - live_zones)
    unowned = sum(1 for b in buckets if b.devices and b.owner not in live)
    return ClusterReport(summaries, len(buckets), unowned, tuple(zones))

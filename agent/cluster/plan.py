"""Which buckets a node should hold, from what every node sees in the lease table (pure).

Every node computes the same target from the same view: a bucket stays with its live
holder while that holder has no more than its fair share (the bucket count over the
eligible nodes, rounded up); the others go to the live node (of their zone, for a
zone's bucket) that ranks them highest by rendezvous hashing and still has room. So a
node that joins takes about 1/N of the buckets, a little from every other node, and
nobody holds more than a fair share once settled.

A node claims the buckets of its target that are free (no owner, or a lease run out),
and releases what it holds beyond its target a few per round, only to a target owner
that is alive (it takes them the next round): no rebalancing storm, no bucket left
without a holder. A bucket another live node holds is never taken from it.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from agent.cluster.buckets import ZONES_BUCKET, zone_of_bucket

RELEASE_PER_ROUND = 8


@dataclass(frozen=True, slots=True)
class View:
    """The lease table as one round read it."""

    live: Mapping[str, str]             # live node -> its zone ("" for none)
    owners: Mapping[str, str | None]    # bucket -> live holder (None: free)


@dataclass(frozen=True, slots=True)
class Moves:
    claim: tuple[str, ...]
    release: tuple[str, ...]


def weight(node: str, bucket: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{node}\0{bucket}".encode()).digest()[:8], "big")


def eligible(bucket: str, live: Mapping[str, str]) -> list[str]:
    zone = zone_of_bucket(bucket)
    return sorted(n for n, z in live.items() if not zone or z == zone)


def target(view: View) -> dict[str, str]:
    """bucket -> the node that should hold it (buckets no live node may hold: absent).
    ZONES_BUCKET (no devices) stays with its live holder, else goes to the live node
    ranking it highest; it counts in nobody's share."""
    by_group: dict[tuple[str, ...], list[str]] = {}
    result: dict[str, str] = {}
    if ZONES_BUCKET in view.owners and view.live:
        holder = view.owners[ZONES_BUCKET]
        result[ZONES_BUCKET] = (holder if holder is not None and holder in view.live
                                else _ranked(tuple(sorted(view.live)), ZONES_BUCKET)[0])
    for bucket in sorted(view.owners):
        if bucket == ZONES_BUCKET:
            continue
        nodes = tuple(eligible(bucket, view.live))
        if nodes:
            by_group.setdefault(nodes, []).append(bucket)
    for nodes, buckets in by_group.items():
        share = math.ceil(len(buckets) / len(nodes))
        load = dict.fromkeys(nodes, 0)
        # Holders keep what they hold up to a fair share (a join moves only the new
        # node's share); the rest go by rendezvous rank to whoever has room, the
        # buckets with the strongest preference first.
        held = [b for b in buckets if view.owners.get(b) in load]
        for bucket in sorted(held, key=lambda b: -weight(str(view.owners[b]), b)):
            owner = str(view.owners[bucket])
            if load[owner] < share:
                result[bucket] = owner
                load[owner] += 1
        ranked = {b: _ranked(nodes, b) for b in buckets if b not in result}
        for bucket in sorted(ranked, key=lambda b: -weight(ranked[b][0], b)):
            for node in ranked[bucket]:
                if load[node] < share:
                    result[bucket] = node
                    load[node] += 1
                    break
    return result


def _ranked(nodes: tuple[str, ...], bucket: str) -> list[str]:
    return sorted(nodes, key=lambda node: weight(node, bucket), reverse=True)


def moves(me: str, view: View, held: Collection[str]) -> Moves:
    goal = target(view)
    claim = tuple(b for b, node in sorted(goal.items())
                  if node == me and b not in held and view.owners.get(b) is None)
    surplus = [b for b in sorted(held) if goal.get(b) != me and goal.get(b) in view.live]
    return Moves(claim, tuple(surplus[:RELEASE_PER_ROUND]))


def fair_share(view: View, node: str) -> int:
    """The most buckets `node` holds once settled (for status and tests)."""
    return sum(1 for owner in target(view).values() if owner == node)

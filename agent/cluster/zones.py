"""A zone with no live node: its devices are polled by nobody, so the cluster says so
through the ordinary alert engine and channels (rule `cluster_zone_down`,
alerts/evaluation/rules.py; its texts in alerts/delivery/rule_texts.py).

Each zone of the configuration is an alert subject of its own, a `Device` that exists
only for the alerts (`zone_device`: never scheduled, never polled). Its alert states
belong to one designated bucket, ZONES_BUCKET, of no zone: exactly one live node holds it,
from any zone, and only that node tells the engine how many live nodes each zone has
(`zone_results`, every lease round). So the alert is raised once, by a live node of
another zone; its states are fenced like every other (a holder paused past its lease
commits nothing), and a takeover of the bucket carries a pending zone alert on.

The zone counts as unattended once none of its nodes heartbeat for a lease (the view's
`live`), and the alert fires after a further lease (`for`): a rolling restart of a
one-node zone does not page anyone. It resolves when a node of the zone is live again.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from agent.cluster.buckets import ZONES_BUCKET
from collectors.base import PollResult, ResultCode, Sample
from inventory.model import Criticality, Device, PollSpec

__all__ = ["ZONES_BUCKET", "is_zone_device", "zone_device", "zone_devices", "zone_results"]
ZONE_DEVICE_PREFIX = "cluster-zone-"
ZONE_CATEGORY = "cluster_zone"
ZONE_MEASUREMENT = "cluster_zone"   # rules.poll reads it; never written to a sink


def zone_device_id(zone: str) -> str:
    return f"{ZONE_DEVICE_PREFIX}{zone}"


def is_zone_device(device_id: str) -> bool:
    return device_id.startswith(ZONE_DEVICE_PREFIX)


def zone_device(zone: str, every: float) -> Device:
    """The zone as the alerts' subject: named by the zone, critical (a whole zone is
    unwatched). Its poll spec only makes the engine count its observations (`every`: the
    lease round); no job is ever made for it (the scheduler sees the buckets' devices)."""
    return Device(id=zone_device_id(zone), name=zone, category=ZONE_CATEGORY,
                  criticality=Criticality.CRITICAL, tags=(("zone", zone),),
                  poll=PollSpec(protocol="host", interval=every))


def zone_devices(zones: Iterable[str], every: float) -> tuple[Device, ...]:
    return tuple(zone_device(z, every) for z in sorted(set(zones)) if z)


def zone_results(zones: Iterable[str], live: Mapping[str, str], grace: float,
                 now: datetime | None = None) -> list[PollResult]:
    """One observation per zone: how many live nodes it has (`live`: node -> zone), and
    how long none must be live before the alert fires (`grace`, seconds)."""
    at = now or datetime.now(UTC)
    results = []
    for zone in sorted(set(zones)):
        if not zone:
            continue
        count = sum(1 for z in live.values() if z == zone)
        sample = Sample(ZONE_MEASUREMENT, {"zone": zone},
                        {"live_nodes": count, "grace_seconds": grace}, at)
        results.append(PollResult(device_id=zone_device_id(zone), code=ResultCode.SUCCESS,
                                  started=at, duration=0.0, samples=(sample,)))
    return results

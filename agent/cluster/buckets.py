"""Devices into buckets: a device's whole dependency tree falls in one bucket (a parent
and its children are watched by one node, since suppression reads the parent's state),
and the trees are spread over BUCKETS buckets by a hash of their root's id. A zone's
trees (`cluster.zones`: the zone of the root's site) have buckets of their own, which
only that zone's nodes hold.

A bucket is named `ZONE:NNN` (`*:NNN` for trees in no zone). One more, ZONES_BUCKET,
holds no device: the alerts about zones with no live node (agent/cluster/zones.py).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from config.model import ClusterSettings
from inventory.model import Device

BUCKETS = 256
ANY_ZONE = "*"
ZONES_BUCKET = f"{ANY_ZONE}:zones"   # no devices: the zone alerts' states (any node)
MAX_DEPTH = 64          # parent chains longer than this (or cycles) stop there


def bucket_name(zone: str, number: int) -> str:
    return f"{zone or ANY_ZONE}:{number:03d}"


def zone_of_bucket(bucket: str) -> str:
    """"" for a bucket of no zone."""
    zone = bucket.rsplit(":", 1)[0]
    return "" if zone == ANY_ZONE else zone


def bucket_number(root_id: str) -> int:
    return int.from_bytes(hashlib.sha256(root_id.encode("utf-8")).digest()[:4], "big") % BUCKETS


def root_of(device_id: str, parents: Mapping[str, str | None]) -> str:
    """The top of `device_id`'s parent chain (a parent not in the inventory ends it)."""
    current, seen = device_id, {device_id}
    for _ in range(MAX_DEPTH):
        parent = parents.get(current)
        if parent is None or parent not in parents or parent in seen:
            break
        seen.add(parent)
        current = parent
    return current


@dataclass(frozen=True, slots=True)
class BucketMap:
    """Each device's bucket, and each bucket's devices, for one configuration."""

    of_device: Mapping[str, str]
    devices: Mapping[str, frozenset[str]]

    @classmethod
    def build(cls, devices: Iterable[Device], cluster: ClusterSettings) -> BucketMap:
        devices = list(devices)
        parents = {d.id: d.parent for d in devices}
        sites = {d.id: d.site for d in devices}
        of_device: dict[str, str] = {}
        members: dict[str, set[str]] = {}
        for device in devices:
            root = root_of(device.id, parents)
            bucket = bucket_name(cluster.zone_of_site(sites[root] or ""), bucket_number(root))
            of_device[device.id] = bucket
            members.setdefault(bucket, set()).add(device.id)
        return cls(of_device, {b: frozenset(ids) for b, ids in members.items()})

    def bucket_of(self, device_id: str) -> str:
        """A device no longer in the inventory (its old alert states) by its own id."""
        found = self.of_device.get(device_id)
        return found if found is not None else bucket_name("", bucket_number(device_id))

    def devices_in(self, buckets: Iterable[str]) -> frozenset[str]:
        found: set[str] = set()
        for bucket in buckets:
            found |= self.devices.get(bucket, frozenset())
        return frozenset(found)

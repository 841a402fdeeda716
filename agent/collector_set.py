"""The collectors a configuration needs: one per protocol its devices use.

`lifeline run` builds a set per configuration (and a new one on reload); `lifeline poll`
builds one for a single round. The registry below is the whole list of protocols: nothing
registers itself on import.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from collectors.base import Collector
from collectors.host import HostCollector
from collectors.http.collector import HttpCollector
from collectors.icmp import IcmpCollector
from collectors.snmp import SnmpCollector
from collectors.tcp import TcpCollector
from inventory.model import Config, Device

# protocol -> collector factory: one collector per protocol per run, closed at the end.
FACTORIES: dict[str, Callable[[Config], Collector]] = {
    "snmp": SnmpCollector.from_config,
    "http": HttpCollector.from_config,
    "host": HostCollector.from_config,
    "icmp": IcmpCollector.from_config,
    "tcp": TcpCollector.from_config,
}


@dataclass(frozen=True, slots=True)
class Collectors:
    """One collector per protocol the devices use, built from one config; the agent
    replaces the whole set on reload."""

    by_protocol: dict[str, Collector]

    @classmethod
    def build(cls, config: Config, devices: Iterable[Device]) -> Collectors:
        protocols = {d.poll.protocol for d in devices if d.poll is not None}
        return cls({p: FACTORIES[p](config) for p in sorted(protocols) if p in FACTORIES})

    def for_device(self, device: Device) -> Collector | None:
        return self.by_protocol.get(device.poll.protocol) if device.poll else None

    async def aclose(self) -> None:
        for collector in self.by_protocol.values():
            await collector.aclose()

"""Process-wide SNMP machinery owned by one `SnmpCollector`: the shared UDP socket (v1,
v2c and v3 on the BER path, `v3_session`), the SNMPv3 engine-id registry, and pysnmp's
`SnmpEngine` for the reference v3 path only (`SnmpCollector(reference_v3=True)`, used by
tests and the bench to compare; built on first use).

Why track engine ids: SNMPv3 keys a remote agent's boots/time (and localized keys) by its
authoritative engine id. Two devices that answer with the same id (cloned configs, some
appliances, one simulator on many addresses) make a manager's timeliness checks fail
intermittently, which other tools report as timeouts. We record which address answered
with which id and report a clash on the poll of every address involved.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from collectors.snmp.udp import UdpDispatcher

log = logging.getLogger(__name__)


class Closable(Protocol):
    def close(self) -> None: ...


class EngineIds:
    """address -> engine id seen last, and the reverse index to find clashes."""

    def __init__(self) -> None:
        self.by_address: dict[str, bytes] = {}
        self._addresses: dict[bytes, set[str]] = {}

    def record(self, address: str, engine_id: bytes) -> None:
        if not engine_id:
            return
        previous = self.by_address.get(address)
        if previous == engine_id:
            return
        if previous is not None:
            self._addresses.get(previous, set()).discard(address)
        self.by_address[address] = engine_id
        others = self._addresses.setdefault(engine_id, set())
        if others and address not in others:
            log.warning("SNMPv3 engine id %s answered from %s and %s", engine_id.hex(),
                        address, ", ".join(sorted(others)))
        others.add(address)

    def sharing(self, address: str) -> list[str]:
        """Other addresses that answered with this address's engine id."""
        engine_id = self.by_address.get(address)
        if engine_id is None:
            return []
        return sorted(self._addresses.get(engine_id, set()) - {address})


class EngineHolder:
    """Lazily built transports for one event loop. Close it before the loop ends."""

    def __init__(self) -> None:
        self.engine_ids = EngineIds()
        self._dispatcher: UdpDispatcher | None = None
        self._opening: asyncio.Future[UdpDispatcher] | None = None
        # pysnmp's engine for the reference v3 path, made by `_pysnmp` on its first request
        # (tests and the bench only; named by a protocol so that this module never imports
        # pysnmp, which costs ~150 ms and that the agent's own polls never need).
        self.reference_v3: Closable | None = None

    async def dispatcher(self) -> UdpDispatcher:
        """The socket, opened by the first caller; the callers that come while it opens
        all await that one opening. Not a lock: a lock hands over to one waiter per loop
        round, and at start thousands of first polls queue at once (30,000 devices: polls
        waited over 50 s in that convoy and were cut off as timeouts)."""
        if self._dispatcher is not None:
            return self._dispatcher
        if self._opening is None:
            self._opening = asyncio.ensure_future(
                UdpDispatcher.open(asyncio.get_running_loop()))
        opening = self._opening
        try:
            # Shielded: one caller's poll cut short must not cancel the opening for all.
            dispatcher = await asyncio.shield(opening)
        except Exception:
            if self._opening is opening:    # it failed: the next caller tries again
                self._opening = None
            raise
        self._dispatcher = dispatcher
        return dispatcher

    async def close(self) -> None:
        opening, self._opening = self._opening, None
        if opening is not None and not opening.done():
            opening.cancel()
        elif (opening is not None and self._dispatcher is None and not opening.cancelled()
              and opening.exception() is None):
            opening.result().close()    # opened, its callers not yet woken: closed here
        if self._dispatcher is not None:
            self._dispatcher.close()
            self._dispatcher = None
        if self.reference_v3 is not None:
            self.reference_v3.close()
            self.reference_v3 = None

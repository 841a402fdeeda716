"""One set of SNMPv3 keys at a time per (user name, engine id).

USM keeps one user entry per (engine id, user name) (RFC 3414's usmUserTable, and
pysnmp's local store): the keys, localized to that engine. Two credential sets with the same
user name reach different engines through different entries and never meet. Two with the
same user name *and* the same engine id (devices that share an engine id, or a key changed
while a request is out) would overwrite each other's entry under a request in flight: the
request would be signed with one set and its answer checked with the other. `KeySlots`
lets requests whose keys match the entry in use run together, and makes a request with
other keys wait until those are done.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Slot:
    keys: Hashable
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)     # set when forgotten


class KeySlots:
    """Per (user, engine id): the keys in use and how many requests use them."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, bytes], _Slot] = {}

    @contextlib.asynccontextmanager
    async def holding(self, user: str, engine_id: bytes, keys: Hashable) -> AsyncIterator[None]:
        """Hold (user, engine id) for `keys` while the body runs; waits while requests
        with other keys hold it. A slot nobody holds is forgotten."""
        slot_key = (user, engine_id)
        while True:
            slot = self._slots.get(slot_key)
            if slot is None:
                slot = self._slots[slot_key] = _Slot(keys)
            if slot.keys == keys:
                break
            if slot.in_flight == 0:
                slot.keys = keys
                break
            await slot.idle.wait()
        slot.in_flight += 1
        try:
            yield
        finally:
            slot.in_flight -= 1
            if slot.in_flight == 0:
                if self._slots.get(slot_key) is slot:
                    del self._slots[slot_key]
                slot.idle.set()

    def held(self) -> int:
        """How many (user, engine id) pairs have a request in flight."""
        return len(self._slots)


__all__ = ["KeySlots"]

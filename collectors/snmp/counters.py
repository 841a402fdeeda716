"""Counter rates for alert rules: previous values per device, 32/64-bit wrap, resets.

Counters are stored raw in samples (Telegraf's way); rates exist only so that rules such
as "uplink above 80 % of its speed" or "input errors rising" can be evaluated by the agent
without a database round trip. They are handed over in `SnmpFacts.rates`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from collectors.base import CounterRate

_WRAP = {32: 1 << 32, 64: 1 << 64}

_Key = tuple[str, str, str]       # measurement, row index ("" for a scalar), field
# The keys of every device's counters, shared: the same (interface, "1", ifHCInOctets)
# is in thousands of trackers. Bounded, so that indexes that keep changing (a table whose
# rows come and go) cannot grow it without end; past the bound a key is just not shared.
_SHARED_KEYS: dict[_Key, _Key] = {}
SHARED_KEYS_MAX = 1 << 16


@dataclass(slots=True)
class CounterValue:
    """One counter as a poll read it (`samples.build` lists them for the tracker).
    Not frozen: two dozen are built per switch poll, and a frozen dataclass costs five
    times as much to build."""

    measurement: str
    index: str
    field: str
    name: str
    bits: int
    value: int


@dataclass(slots=True)
class _Last:
    value: int
    at: float


class CounterTracker:
    """Previous counter values of one device. Not shared between devices."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str], _Last] = {}
        self._uptime: int | None = None

    def observe_uptime(self, uptime: int | None) -> bool:
        """Records sysUpTime; True (and every previous value forgotten) when it went back,
        i.e. the agent restarted and its counters started again from zero."""
        rebooted = uptime is not None and self._uptime is not None and uptime < self._uptime
        if rebooted:
            self._last.clear()
        if uptime is not None:
            self._uptime = uptime
        return rebooted

    def update(self, measurement: str, index: str, field: str, name: str, bits: int,
               value: int, at: float) -> CounterRate | None:
        """Stores the value; returns the rate when there is a usable previous value."""
        key = (measurement, index, field)
        last = self._last.get(key)
        if last is None:
            if len(_SHARED_KEYS) < SHARED_KEYS_MAX:
                key = _SHARED_KEYS.setdefault(key, key)
            self._last[key] = _Last(value, at)
            return None
        previous, since = last.value, last.at
        last.value, last.at = value, at         # in place: no allocation per counter
        if at <= since:
            return None
        delta = value - previous
        wrapped = False
        if delta < 0:
            if bits != 32:
                return None     # a 64-bit counter does not wrap in practice: a reset
            delta += _WRAP[32]
            wrapped = True
        return CounterRate(measurement, index, field, name, delta / (at - since), wrapped)

    def rates(self, counters: Iterable[CounterValue], at: float) -> tuple[CounterRate, ...]:
        """`update` for each counter a poll read at `at`: the rates there were."""
        update = self.update
        found = [update(c.measurement, c.index, c.field, c.name, c.bits, c.value, at)
                 for c in counters]
        return tuple(r for r in found if r is not None)

"""Counter rates for alert rules: previous values per device, 32/64-bit wrap, resets.

Counters are stored raw in samples (Telegraf's way); rates exist only so that rules such
as "uplink above 80 % of its speed" or "input errors rising" can be evaluated by the agent
without a database round trip. They are handed over in `SnmpFacts.rates`.
"""
from __future__ import annotations

from dataclasses import dataclass

from collectors.base import CounterRate

_WRAP = {32: 1 << 32, 64: 1 << 64}


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
        previous = self._last.get(key)
        self._last[key] = _Last(value, at)
        if previous is None or at <= previous.at:
            return None
        delta = value - previous.value
        wrapped = False
        if delta < 0:
            if bits != 32:
                return None     # a 64-bit counter does not wrap in practice: a reset
            delta += _WRAP[32]
            wrapped = True
        return CounterRate(measurement, index, field, name, delta / (at - previous.at), wrapped)

"""Counter rates for alert rules: previous values per device, 32/64-bit wrap, resets.

Counters are stored raw in samples (Telegraf's way); rates exist only so that rules such
as "uplink above 80 % of its speed" or "input errors rising" can be evaluated by the agent
without a database round trip. They are handed over in `SnmpFacts.rates`.
"""
from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from collectors.base import CounterRate

_WRAP_32, _WRAP_64 = 1 << 32, 1 << 64

_Key = tuple[str, str, str]       # measurement, row index ("" for a scalar), field
_Layout = tuple[_Key, ...]        # the counters one poll read, in the order it read them
# Layouts, shared: every switch of a model reads the same counters in the same order, so
# thousands of trackers hold one tuple. Bounded by the keys in them (a table whose rows
# come and go makes a new layout at each change): past the bound the table starts again,
# and the layouts in use stay with the trackers that hold them.
_SHARED_LAYOUTS: dict[_Layout, _Layout] = {}
SHARED_KEYS_MAX = 1 << 16
_shared_keys = 0


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


class CounterTracker:
    """The counters of one device's last poll: their layout, their values and when they
    were read. Not shared between devices.

    Kept packed, the values in an array of unsigned 64-bit integers beside a shared
    layout: about 0.3 KB for a 24-port switch, where a dict of boxed values per counter
    took 2.3 KB (70 MB at 30,000 devices). A counter the last poll did not read has no
    previous value: a row that went away and came back is not compared across the gap,
    in which it may have been reset."""

    __slots__ = ("_at", "_layout", "_uptime", "_values")

    def __init__(self) -> None:
        self._layout: _Layout = ()
        self._values = array("Q")
        self._at = 0.0
        self._uptime: int | None = None

    def observe_uptime(self, uptime: int | None) -> bool:
        """Records sysUpTime; True (and every previous value forgotten) when it went back,
        i.e. the agent restarted and its counters started again from zero."""
        rebooted = uptime is not None and self._uptime is not None and uptime < self._uptime
        if rebooted:
            self._layout, self._values = (), array("Q")
        if uptime is not None:
            self._uptime = uptime
        return rebooted

    def rates(self, counters: Iterable[CounterValue], at: float) -> tuple[CounterRate, ...]:
        """Keeps the values a poll read at `at`; returns the rates there are: for each
        counter the last poll read too, when time went forward. A value that cannot be a
        counter (below zero, or past its 32 or 64 bits) is neither kept nor given a rate,
        nor a counter read twice in one poll (a walk that repeated a row) a second one."""
        read = [c for c in counters if 0 <= c.value < (_WRAP_32 if c.bits == 32 else _WRAP_64)]
        layout = tuple([(c.measurement, c.index, c.field) for c in read])
        if layout == self._layout:
            layout = self._layout
        else:
            layout, read = _first_of_each(layout, read)
            layout = _shared(layout)
        values = array("Q", [c.value for c in read])
        found: list[CounterRate] = []
        elapsed = at - self._at
        if elapsed > 0 and self._layout:
            if layout is self._layout:
                previous: Iterable[int | None] = self._values
            else:
                by_key = dict(zip(self._layout, self._values, strict=True))
                previous = [by_key.get(key) for key in layout]
            for counter, before in zip(read, previous, strict=True):
                if before is not None:
                    rate = _rate(counter, before, elapsed)
                    if rate is not None:
                        found.append(rate)
        self._layout, self._values, self._at = layout, values, at
        return tuple(found)


def _rate(counter: CounterValue, before: int, elapsed: float) -> CounterRate | None:
    delta = counter.value - before
    wrapped = False
    if delta < 0:
        if counter.bits != 32:
            return None     # a 64-bit counter does not wrap in practice: a reset
        delta += _WRAP_32
        wrapped = True
    return CounterRate(counter.measurement, counter.index, counter.field, counter.name,
                       delta / elapsed, wrapped)


def _first_of_each(layout: _Layout,
                   read: list[CounterValue]) -> tuple[_Layout, list[CounterValue]]:
    """The layout and the counters without a key's second reading. Run only when the
    layout changed: an unchanged one was checked when it was new."""
    if len(set(layout)) == len(layout):
        return layout, read
    first: dict[_Key, CounterValue] = {}
    for key, counter in zip(layout, read, strict=True):
        first.setdefault(key, counter)
    return tuple(first), list(first.values())


def _shared(layout: _Layout) -> _Layout:
    global _shared_keys
    found = _SHARED_LAYOUTS.get(layout)
    if found is not None:
        return found
    if _shared_keys + len(layout) > SHARED_KEYS_MAX:
        _SHARED_LAYOUTS.clear()
        _shared_keys = 0
    if len(layout) <= SHARED_KEYS_MAX:
        _SHARED_LAYOUTS[layout] = layout
        _shared_keys += len(layout)
    return layout

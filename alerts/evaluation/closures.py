"""Closed sites: whether a device's site is closed now (its `operating_hours`, parsed by
inventory/hours.py), the failed polls seen while it was, and when it opens again.

A device with `operating_hours` (a kiosk in a hall that closes at night) is expected to
be off while closed: failed polls then do not count (the rules do not check its outage)
and a pending outage-kind alert is reset at closing. Failed polls while closed are
remembered, so a device still down when the site opens fires at opening (from the
engine's tick, without waiting for N more polls); while closed, firing alerts are not
repeated (`Gates.quiet`). The failures seen while closed are kept in memory only: after
a restart counting starts again at opening.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.evaluation.rules import OUTAGE, Evaluation
from alerts.evaluation.unmonitored import polled
from collectors.base import PollResult
from inventory.hours import OperatingHours
from inventory.model import Device


@dataclass(frozen=True, slots=True)
class Opening:
    """A site just opened while its device's last polls failed."""

    device: Device
    failure: PollResult         # the last failed poll while closed
    carried: int                # failed polls while closed before it


@dataclass(slots=True)
class _WhileClosed:
    failures: int = 0
    last_failure: PollResult | None = None
    open: bool | None = None    # as of the last tick; None before the first


class ClosedSites:
    """Per device with opening hours: whether its site is closed, its failed polls while
    closed, and the openings that owe an outage."""

    def __init__(self) -> None:
        self._zone = ZoneInfo("UTC")
        self._hours: dict[str, tuple[Device, OperatingHours]] = {}
        self._closed: dict[str, _WhileClosed] = {}

    def reload(self, devices: Iterable[Device], zone: ZoneInfo) -> None:
        self._zone = zone
        self._hours = {d.id: (d, OperatingHours.parse(d.operating_hours))
                       for d in devices if d.operating_hours}

    def closed(self, device: Device, now: float) -> bool:
        found = self._hours.get(device.id)
        return found is not None and not found[1].is_open(self._time(now), self._zone)

    def observed(self, device_id: str, result: PollResult, evaluation: Evaluation) -> int:
        """Notes a poll; returns the failures while closed that an outage starting now
        carries (counted from them, so it can fire at opening), else 0."""
        closed = self._closed.setdefault(device_id, _WhileClosed())
        if result.reachable:
            closed.failures, closed.last_failure = 0, None
        elif OUTAGE not in evaluation.checked:      # closed: remembered, not counted
            closed.failures += 1
            closed.last_failure = result
        else:
            carried, closed.failures = closed.failures, 0
            return carried
        return 0

    def openings(self, now: float) -> list[Opening]:
        """The polled devices whose site opened since the last call while their last
        polls failed (their outage counts from the failures seen while closed)."""
        found = []
        today = self._time(now).date()
        for device, _ in self._hours.values():
            if not polled(device, today):
                continue
            closed = self._closed.setdefault(device.id, _WhileClosed())
            is_open = not self.closed(device, now)
            opened = closed.open is False and is_open
            closed.open = is_open
            if opened and closed.failures and closed.last_failure is not None:
                found.append(Opening(device, closed.last_failure, closed.failures - 1))
                closed.failures, closed.last_failure = 0, None
        return found

    def _time(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, self._zone)

"""Devices no longer watched, and why their alerts end.

When a device is retired, removed from the inventory, or (for every rule but lifecycle)
no longer polled, its alerts can never clear by themselves. On start, on reload and with
the daily lifecycle evaluation the engine ends them: a `resolved` notice for those that
were told, described with the reason below ("retired / no longer monitored"), open
outages closed, their rows deleted. Lifecycle alerts of a device merely not polled stay.
Pure functions of the states, the inventory and a date.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from alerts.evaluation.state import AlertState
from inventory.model import Device

log = logging.getLogger("lifeline.alerts")

Reason = Literal["retired", "removed", "unpolled"]

# Why an alert ended without its condition clearing: the description of its `resolved`.
UNMONITORED: Mapping[Reason, tuple[str, str]] = {
    "retired": ("device retired: no longer monitored",
                "장비 불용(폐기) 처리: 더 이상 감시하지 않음"),
    "removed": ("device removed from the inventory: no longer monitored",
                "자산 목록에서 삭제됨: 더 이상 감시하지 않음"),
    "unpolled": ("device no longer polled: no longer monitored",
                 "장비 수집(폴링) 중지: 더 이상 감시하지 않음"),
}


@dataclass(frozen=True, slots=True)
class Unwatched:
    """A state whose device is no longer watched, and why."""

    state: AlertState
    why: Reason


def polled(device: Device, today: date) -> bool:
    """Whether `device`'s polls count: it is polled and not retired."""
    return device.poll is not None and not device.is_retired(today)


def why_unmonitored(state: AlertState, device: Device | None, today: date) -> Reason | None:
    """Why `state` can no longer clear by itself, or None."""
    if device is None:
        return "removed"
    if device.is_retired(today):
        return "retired"
    if device.poll is None and state.kind != "lifecycle":    # lifecycle needs no poll
        return "unpolled"
    return None


def unwatched(states: Iterable[AlertState], devices: Mapping[str, Device],
              today: date) -> list[Unwatched]:
    return [Unwatched(state, why) for state in states
            if (why := why_unmonitored(state, devices.get(state.device_id), today)) is not None]


def log_ended(ended: Sequence[Unwatched]) -> None:
    """One line per reason, naming the devices."""
    for why, (text, _) in UNMONITORED.items():
        ids = sorted({u.state.device_id for u in ended if u.why == why})
        if ids:
            log.info("alerts ended, %s: %s", text, ", ".join(ids))

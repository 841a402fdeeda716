"""Dependency inhibition: an outage behind a device that is itself down.

A device may name a `parent` (the switch it hangs off); its ancestors are the parents,
transitively. An outage of a device whose ancestor's outage is pending or firing is
*suppressed*: it fires and counts in the outage history, but the ancestor's alert speaks
for it ("83 devices behind it unreachable", `Alert.suppressed`, from `behind`). It stays
suppressed after the ancestor is back until the device has failed its own `outage_polls`
polls made since then: devices behind a rebooted switch answer some seconds after it, and
those that do raise nothing. A child outage is *held* pending until every polled
ancestor has been heard from since the child went pending, or for at most that ancestor's
own `for` (interval x outage_polls), so a child polled just before its parent cannot slip
out first.

When each device was last heard from, its failed polls and when each ancestor came back
are kept in memory only. After a restart a child outage is held until its parent has
been polled again, and a device behind others counts its failed polls afresh: its outage
is told once it has failed `outage_polls` polls seen by the new process.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from alerts.evaluation.rules import OUTAGE
from alerts.evaluation.state import FIRING, INACTIVE, PENDING, AlertState, fingerprint
from alerts.evaluation.thresholds import Thresholds
from inventory.model import Device


class Dependencies:
    """The dependency tree of the watched devices, and what it inhibits. Reads the live
    states; `reload` takes a new inventory, `heard` each poll."""

    def __init__(self, states: Mapping[str, AlertState],
                 thresholds: Callable[[Device], Thresholds]) -> None:
        self._states, self._thresholds = states, thresholds
        self._devices: Mapping[str, Device] = {}
        self._children: dict[str, list[str]] = {}
        self._heard: dict[str, float] = {}
        self._failed: dict[str, list[float]] = {}   # the last consecutive failed polls
        self._back: dict[str, float] = {}           # when each device's outage ended

    def reload(self, devices: Mapping[str, Device]) -> None:
        self._devices = devices
        self._children = {}
        for device in devices.values():
            if device.parent:
                self._children.setdefault(device.parent, []).append(device.id)

    def heard(self, device_id: str, at: float, *, down: bool = False,
              started: float | None = None) -> None:
        """`device_id` was polled (the result seen at `at`; the poll `started` then):
        `down` when that poll says its outage holds."""
        self._heard[device_id] = at
        if not down:
            self._failed.pop(device_id, None)
            return
        device = self._devices.get(device_id)
        keep = self._thresholds(device).outage_polls if device is not None else 1
        failed = self._failed.setdefault(device_id, [])
        failed.append(at if started is None else started)
        del failed[:-keep]

    def shift_times(self, delta: float) -> None:
        """The wall clock was stepped by `delta` seconds: the times kept move with it."""
        self._heard = {d: t + delta for d, t in self._heard.items()}
        self._failed = {d: [t + delta for t in ts] for d, ts in self._failed.items()}
        self._back = {d: t + delta for d, t in self._back.items()}

    def recovered(self, device_id: str, at: float) -> None:
        """`device_id`'s outage (pending or firing) ended at `at`."""
        self._back[device_id] = at

    def suppressed(self, state: AlertState, device: Device, now: float) -> bool:
        """An outage an ancestor's alert speaks for (see the module docstring)."""
        return state.rule == OUTAGE and (self._ancestor_down(device)
                                         or self._behind_one_back(device))

    def held(self, state: AlertState, device: Device, now: float) -> bool:
        """A child's outage waits until each polled ancestor has been heard from since
        the child went pending (or that ancestor's own `for` has passed)."""
        if state.rule != OUTAGE or self._ancestor_down(device):
            return False
        since = state.active_since or now
        for ancestor in self._ancestors(device):
            if ancestor.poll is None:
                continue
            heard = self._heard.get(ancestor.id)
            if heard is not None and heard >= since:
                continue
            patience = ancestor.poll.interval * self._thresholds(ancestor).outage_polls
            if now - since < patience:
                return True
        return False

    def behind(self, device_id: str) -> tuple[str, ...]:
        """Descendants whose outage is pending or firing: suppressed under the device."""
        found: list[str] = []
        stack = list(self._children.get(device_id, ()))
        seen: set[str] = set()
        while stack:
            child = stack.pop()
            if child in seen:
                continue
            seen.add(child)
            if self._down(child):
                found.append(child)
            stack.extend(self._children.get(child, ()))
        return tuple(sorted(found))

    def _down(self, device_id: str) -> bool:
        state = self._states.get(fingerprint(OUTAGE, device_id))
        return state is not None and state.status in (PENDING, FIRING)

    def _ancestors(self, device: Device) -> Iterator[Device]:
        seen = {device.id}
        parent = device.parent
        while parent and parent not in seen and parent in self._devices:
            seen.add(parent)
            yield self._devices[parent]
            parent = self._devices[parent].parent

    def _ancestor_down(self, device: Device) -> bool:
        return any(self._down(ancestor.id) for ancestor in self._ancestors(device))

    def _behind_one_back(self, device: Device) -> bool:
        """A device behind others has not yet failed its own `outage_polls` polls made
        since its ancestors last came back (and since this process started, which
        forgot when that was): its outage is probably ending too, so it is not told
        until its own polls say otherwise."""
        ancestors = list(self._ancestors(device))
        if not ancestors:
            return False
        backs = [back for a in ancestors if (back := self._back_at(a.id)) is not None]
        since = max(backs, default=float("-inf"))
        failed = self._failed.get(device.id, [])
        return sum(1 for t in failed if t >= since) < self._thresholds(device).outage_polls

    def _back_at(self, device_id: str) -> float | None:
        """When `device_id`'s last outage ended: noted as it happened, else (after a
        restart) its remembered state's recovery."""
        state = self._states.get(fingerprint(OUTAGE, device_id))
        stored = (state.resolved_at if state is not None and state.status == INACTIVE
                  else None)
        noted = self._back.get(device_id)
        if noted is None or stored is None:
            return noted if stored is None else stored
        return max(noted, stored)

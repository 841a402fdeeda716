"""Dependency inhibition: an outage behind a device that is itself down.

A device may name a `parent` (the switch it hangs off); its ancestors are the parents,
transitively. An outage of a device whose ancestor's outage is pending or firing is
*suppressed*: it fires and counts in the outage history, but the ancestor's alert speaks
for it ("83 devices behind it unreachable", `Alert.suppressed`, from `behind`). So is the
outage of a device whose ancestor has just recovered and that has not been polled since
(its own outage is probably over too). A child outage is *held* pending until every polled
ancestor has been heard from since the child went pending, or for at most that ancestor's
own `for` (interval x outage_polls), so a child polled just before its parent cannot slip
out first.

When each device was last heard from is kept in memory only: after a restart a child
outage is held until its parent has been polled again.
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

    def reload(self, devices: Mapping[str, Device]) -> None:
        self._devices = devices
        self._children = {}
        for device in devices.values():
            if device.parent:
                self._children.setdefault(device.parent, []).append(device.id)

    def heard(self, device_id: str, at: float) -> None:
        """`device_id` answered a poll (or failed to) at `at`."""
        self._heard[device_id] = at

    def suppressed(self, state: AlertState, device: Device, now: float) -> bool:
        """An outage an ancestor's alert speaks for (see the module docstring)."""
        return state.rule == OUTAGE and (self._ancestor_down(device)
                                         or self._just_freed(device, now))

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

    def _just_freed(self, device: Device, now: float) -> bool:
        """An ancestor recovered and this device has not been polled since: its own
        outage is probably over too, so it is not told until its next poll says."""
        heard = self._heard.get(device.id)
        patience = 2 * device.poll.interval if device.poll else 0.0
        for ancestor in self._ancestors(device):
            state = self._states.get(fingerprint(OUTAGE, ancestor.id))
            if (state is not None and state.status == INACTIVE and state.resolved_at
                    and (heard is None or heard < state.resolved_at)
                    and now - state.resolved_at < patience):
                return True
        return False

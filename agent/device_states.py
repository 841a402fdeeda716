"""The agent's running record of each device it polls.

One `DeviceState` per scheduled device (mutable: every poll updates it, and so do the
scheduler's skipped runs and next run times), kept across reloads for the devices that
stay, and read out as frozen `agent.status.DevicePoll` records for the status. A device
going down and coming back is logged here, once each, not at every poll, and so is a
reboot: told by the device's coldStart/warmStart trap (`rebooted`), or seen by a poll as
its sysUpTime going back (`SnmpFacts.rebooted`); one reboot counts once, however it was
heard of. Used from the loop thread only.

For the trap receiver (agent/traps.py) it also keeps what a poll learnt that a trap
needs: the SNMPv3 engine id each device's polls answered with (`with_engine`: a v3 trap
is matched to its device by it), and the ifIndex of each port in the device's
`monitored_interfaces` (`ports`: a linkDown names its port by ifIndex only). Only the
monitored ports: every port of 2,000 switches was about 100,000 names.
"""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.schedule import PollJob
from agent.status import DevicePoll
from collectors.base import PollResult, ResultCode, SnmpFacts

NO_ROOM_LOG_SECONDS = 60.0
# A next run moves by a whole interval when the device runs, or by the clock's step when
# the wall clock is stepped; less than this is the scheduler's own conversion jitter.
NEXT_RUN_MOVED = timedelta(milliseconds=100)

log = logging.getLogger("lifeline.agent")

UPTIME = "uptime"       # a reboot a poll saw: sysUpTime went back

# One text per result code, shared by every device's state (`code.label` makes a new one
# at each call: 56 bytes a device at 30,000 devices).
_LABELS = {code: sys.intern(code.label) for code in ResultCode}
# What a device says of itself that many devices say alike (switches of one model have
# one sys_descr): kept once, interned, not once a device. Names and serials are each
# device's own and are not.
SHARED_IDENTITY = frozenset({"sys_descr", "sys_object_id", "model"})


@dataclass(slots=True)
class DeviceState:
    """One device's polls so far (the fields are DevicePoll's)."""

    device_id: str
    protocol: str
    interval: float
    polls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    overlaps: int = 0
    last_started: datetime | None = None
    last_result: str | None = None
    last_code: int | None = None
    last_duration: float | None = None
    last_error: str | None = None
    last_success: datetime | None = None
    next_run: datetime | None = None
    reboots: int = 0
    last_reboot: datetime | None = None
    last_reboot_by: str | None = None
    # ifIndex -> the port's names (ifName, ifDescr) among `watched` (its
    # monitored_interfaces), as the last poll with interfaces saw them: a linkDown trap
    # names its port by ifIndex only (agent/traps.py).
    ports: dict[int, tuple[str, ...]] | None = None
    watched: frozenset[str] = frozenset()
    engine_id: bytes | None = None      # SNMPv3: the engine id the last answer came from
    trap_reboot_unpolled: bool = False  # a trap told a reboot no answer has shown since
    identity: dict[str, str] = field(default_factory=dict)  # as the last answer said

    def rebooted(self, at: datetime, by: str) -> bool:
        """A reboot heard of at `at` (`by`: the trap's name, or "uptime"). False when it is
        the one a trap already told (the poll after it sees the uptime gone back)."""
        from_poll = by == UPTIME
        if from_poll and self.trap_reboot_unpolled:
            return False
        self.reboots += 1
        self.last_reboot, self.last_reboot_by = at, by
        self.trap_reboot_unpolled = not from_poll
        return True

    def record(self, result: PollResult) -> bool:
        """Take one poll's outcome; True when the device went up or down with it."""
        was_up = self.consecutive_failures == 0      # never polled counts as up
        self.polls += 1
        self.last_started = result.started
        self.last_result = _LABELS[result.code]
        self.last_code = int(result.code)
        self.last_duration = result.duration
        self.last_error = result.error
        # A device that answers badly (an error-status, malformed data, none of its
        # profile's objects) is a failure too, never a success.
        healthy = result.code.answered_well
        if healthy:
            self.consecutive_failures = 0
            self.last_success = result.started
            if result.identity is not None:
                said = result.identity.as_dict()
                if said != self.identity:   # nearly always the same: keep the one held
                    self.identity = {name: sys.intern(text) if name in SHARED_IDENTITY
                                     else text for name, text in said.items()}
            if isinstance(result.facts, SnmpFacts):
                if result.facts.rebooted:
                    self.rebooted(result.started, UPTIME)
                if result.facts.engine_id:
                    self.engine_id = bytes.fromhex(result.facts.engine_id)
            if self.watched:
                self.ports = port_names(result, self.watched) or self.ports
            if self.last_reboot is None or result.started >= self.last_reboot:
                self.trap_reboot_unpolled = False   # this answer came after the trap
        else:
            self.failures += 1
            self.consecutive_failures += 1
        return was_up != healthy

    def snapshot(self) -> DevicePoll:
        # Field by field, not dataclasses.asdict: asdict deep-copies every value, which
        # made the 5-second snapshot of 2,000 devices cost 10 % of a core.
        return DevicePoll(
            device_id=self.device_id, protocol=self.protocol, interval=self.interval,
            polls=self.polls, failures=self.failures,
            consecutive_failures=self.consecutive_failures, overlaps=self.overlaps,
            last_started=self.last_started, last_result=self.last_result,
            last_code=self.last_code, last_duration=self.last_duration,
            last_error=self.last_error, last_success=self.last_success,
            next_run=self.next_run, reboots=self.reboots, last_reboot=self.last_reboot,
            last_reboot_by=self.last_reboot_by, identity=self.identity)


class DeviceStates:
    """The state of every scheduled device, by id.

    `snapshot()` runs every few seconds over every device, while only the devices polled
    since the last one changed (at 10,000 devices a minute, one in twelve): each device's
    `DevicePoll` is kept and rebuilt only when the device changed (`_changed`), so the
    status costs the loop thread the changed devices, not all of them. Every method that
    changes a state adds its id to `_changed`. `_snapshots` holds every state's record,
    in the order of `_states` (`adopt` builds it so), so a snapshot is a copy of it."""

    def __init__(self) -> None:
        self._states: dict[str, DeviceState] = {}
        self._snapshots: dict[str, DevicePoll] = {}
        self._changed: set[str] = set()
        # engine id -> device ids (`with_engine`); tuples: nearly always one, rarely changed
        self._engines: dict[bytes, tuple[str, ...]] = {}
        self._no_room_said = -NO_ROOM_LOG_SECONDS       # monotonic time it was last logged
        self._no_room_since_said = 0

    def adopt(self, jobs: Mapping[str, PollJob], protocols: Mapping[str, str]) -> None:
        """The devices of a new configuration: states kept for those that stay (with
        their new interval and protocol), new ones for those added, the rest dropped."""
        states: dict[str, DeviceState] = {}
        for device_id, job in jobs.items():
            state = self._states.get(device_id) or DeviceState(
                device_id, protocols[device_id], job.interval)
            state.interval = job.interval
            state.protocol = protocols[device_id]
            states[device_id] = state
        self._states = states
        # A reload is rare: every device's record is taken again, in the new order.
        self._snapshots = {device_id: state.snapshot() for device_id, state in states.items()}
        self._changed = set()
        self._engines = {}
        for device_id, state in states.items():
            self._index_engine(device_id, None, state.engine_id)

    def watch_ports(self, monitored: Mapping[str, Collection[str]]) -> None:
        """The ports whose ifIndex to keep from each device's polls (its
        `monitored_interfaces`, by ifName or ifDescr); the other devices keep none."""
        for device_id, state in self._states.items():
            watched = frozenset(monitored.get(device_id, ()))
            if watched != state.watched:
                state.watched = watched
                state.ports = {i: kept for i, names in (state.ports or {}).items()
                               if (kept := tuple(n for n in names if n in watched))} or None

    def record(self, result: PollResult) -> None:
        """One poll's outcome; a device that went down or came back is logged."""
        state = self._states.get(result.device_id)
        if state is None:
            return
        self._changed.add(result.device_id)
        engine_id = state.engine_id
        went = state.record(result)
        if state.engine_id != engine_id:
            self._index_engine(result.device_id, engine_id, state.engine_id)
        if not went:
            return
        if result.code.answered_well:
            log.info("answering again (%s)", result.code.label,
                     extra={"device_id": result.device_id})
        elif result.reachable:
            log.warning("answering badly: %s", result.error or result.code.label,
                        extra={"device_id": result.device_id})
        else:
            log.warning("not answering: %s", result.error or result.code.label,
                        extra={"device_id": result.device_id})

    def rebooted(self, device_id: str, at: datetime, by: str) -> None:
        """The device said it rebooted (a coldStart or warmStart trap, named by `by`)."""
        state = self._states.get(device_id)
        if state is not None:
            self._changed.add(device_id)
        if state is not None and state.rebooted(at, by):
            log.info("rebooted (%s)", by, extra={"device_id": device_id})

    def with_engine(self, engine_id: bytes) -> tuple[str, ...]:
        """The devices whose last SNMPv3 answer came from this engine id."""
        return self._engines.get(engine_id, ())

    def _index_engine(self, device_id: str, old: bytes | None, new: bytes | None) -> None:
        if old is not None and (left := tuple(d for d in self._engines.get(old, ())
                                              if d != device_id)):
            self._engines[old] = left
        elif old is not None:
            self._engines.pop(old, None)
        if new is not None:
            self._engines[new] = (*self._engines.get(new, ()), device_id)

    def ports(self, device_id: str, if_index: int) -> tuple[str, ...]:
        """The names of the device's port `if_index` as its last poll saw them, if it is
        one of its `monitored_interfaces` (`watch_ports`)."""
        state = self._states.get(device_id)
        return (state.ports or {}).get(if_index, ()) if state is not None else ()

    def overlapped(self, device_id: str) -> None:
        """A run was skipped because the device's previous poll was still running."""
        state = self._states.get(device_id)
        if state is not None:
            state.overlaps += 1
            self._changed.add(device_id)
        log.warning("previous poll still running; this run skipped",
                    extra={"device_id": device_id})

    def no_room(self, device_id: str, why: str) -> None:
        """A run skipped because the agent had no room to start it in its budget
        (collectors.base.NoRoomToPollError): counted with the overlaps, as a skipped run with
        no verdict on the device. Said in the log at most once a NO_ROOM_LOG_SECONDS with
        how many were skipped, since when it happens it happens to thousands at once."""
        state = self._states.get(device_id)
        if state is not None:
            state.overlaps += 1
            self._changed.add(device_id)
        self._no_room_since_said += 1
        now = time.monotonic()
        if now - self._no_room_said >= NO_ROOM_LOG_SECONDS:
            log.warning("the agent is saturated: %d poll runs skipped, not started in their "
                        "budget (%s); no verdict on those devices", self._no_room_since_said,
                        why, extra={"device_id": device_id})
            self._no_room_said, self._no_room_since_said = now, 0

    def set_next_runs(self, runs: Mapping[str, datetime]) -> None:
        """Each device's next run as the scheduler has it. Runs over every device at every
        snapshot, so kept to a lookup and a comparison; a run that moved by less than
        NEXT_RUN_MOVED is left as it was: the scheduler's times may be made anew at each
        call from its monotonic clock, a few microseconds apart, and taking those as
        changes would rebuild (and re-encode) nearly every device at every snapshot."""
        states, changed = self._states, self._changed
        for device_id, when in runs.items():
            state = states.get(device_id)
            if state is None or state.next_run is when:
                continue
            if state.next_run is None or abs(when - state.next_run) >= NEXT_RUN_MOVED:
                state.next_run = when
                changed.add(device_id)

    def snapshot(self) -> dict[str, DevicePoll]:
        """Every device's `DevicePoll` now: a new dict, unchanged devices' records shared
        with the previous snapshot (they are frozen)."""
        snapshots = self._snapshots
        for device_id in self._changed:
            state = self._states.get(device_id)
            if state is not None:
                snapshots[device_id] = state.snapshot()
        self._changed.clear()
        return dict(snapshots)


def port_names(result: PollResult, watched: frozenset[str]) -> dict[int, tuple[str, ...]]:
    """ifIndex -> its names among `watched` (ifName, ifDescr), for the `interface` rows of
    one poll whose port is watched."""
    ports: dict[int, tuple[str, ...]] = {}
    for sample in result.samples:
        if sample.measurement != "interface":
            continue
        index = sample.tags.get("ifIndex", "")
        names = tuple(n for n in (sample.tags.get("ifName"), sample.tags.get("ifDescr"))
                      if n in watched)
        if index.isdigit() and names:
            ports[int(index)] = names
    return ports

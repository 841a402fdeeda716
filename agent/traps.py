"""What a trap leads to in the running agent: a point in the store, its meaning handed to
the alert engine, and an immediate poll.

A trap is evidence, not a verdict. `TrapHandling` binds the receiver
(collectors/snmp/traps.py) on `traps.listen`, and for each accepted trap:

- writes one `snmp_trap` point (tags: the device's, `trap_oid`, `source`, `version`, and
  `trap_name` and `meaning` when a profile knows the OID; field `received` = 1), through
  the same sink writer as the polls;
- hands what it says to the alert engine at once (`AlertCalls.observe_trap`, read by
  alerts/evaluation/rules.py `trap`): an on-battery trap fires `ups_on_battery` without
  waiting for the poll or `ups_for`, a low-battery, replace-battery, overload or self-test
  trap or a UPS alarm its rule, a linkDown on a monitored port `interface_down`, since
  the device reported the transition itself (after the device's poll in flight, if any:
  an answer read before the trap must not end what it says). A linkDown names its port
  by ifIndex: the names the device's last poll saw for that ifIndex
  (agent/device_states.py `ports`) are added to those the trap carries, so the rule can
  match `monitored_interfaces`;
- a coldStart or warmStart records a reboot in the device's state (agent/device_states.py:
  `reboots`, `last_reboot`, `last_reboot_by` in the status; the poll after it, which
  sees the uptime gone back, does not count it twice);
- a v3 trap matched to its device by its sender's engine id (the one the device's polls
  answered with: agent/device_states.py `with_engine`) goes on as one matched by its
  address; one outside its sender's time window (`Trap.timely` false: a replay, or a
  sender that lost its boots) only asks for a poll;
- asks for a poll of the device now (`TrapPolls`): the poll, through the usual rules,
  confirms what the trap said or ends it (a UPS back on mains resolves `ups_on_battery`,
  a port up again `interface_down`). Polls are debounced:
  traps that arrive while one is waiting share it, and a device is polled for traps at
  most once every DEBOUNCE_SECONDS (a UPS repeats its on-battery trap every minute; a
  flapping port sends pairs).

SNMPv3 informs are sent to our own engine: its id is made once and kept in the state
directory (ENGINE_FILE), its boots counted up at each start (`local_engine`, RFC 3414
2.2), so senders that keep our engine's clock are not told a start is a replay.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from agent.alerting import AlertCalls
from agent.device_states import DeviceStates
from agent.polling import PollRunner
from agent.writer import SinkWriter
from collectors.base import Sample, device_tags
from collectors.snmp import usm
from collectors.snmp.profiles import load_profiles
from collectors.snmp.traps import (
    MEASUREMENT,
    Trap,
    TrapCatalogue,
    TrapCounts,
    TrapReceiver,
    TrapSays,
)
from config.model import TrapSettings
from config.private import write_private
from inventory.model import Config, Device

log = logging.getLogger("lifeline.traps")

DEBOUNCE_SECONDS = 2.0
ENGINE_FILE = "snmp-engine.json"           # our engine for v3 informs, in the state dir
REBOOTS = ("cold_start", "warm_start")      # the meanings (profiles' traps:) of a reboot


class TrapPolls:
    """Immediate polls asked for by traps: one waiting per device at most, and at most one
    started per device every DEBOUNCE_SECONDS; after the device's poll in flight, if any."""

    def __init__(self, runner: PollRunner, debounce: float = DEBOUNCE_SECONDS) -> None:
        self._runner = runner
        self._debounce = debounce
        self._waiting: dict[str, asyncio.Task[None]] = {}
        self._last: dict[str, float] = {}
        self.requested = 0
        self.started = 0

    def request(self, device_id: str) -> None:
        self.requested += 1
        if device_id not in self._waiting:
            self._waiting[device_id] = asyncio.ensure_future(self._poll(device_id))

    async def _poll(self, device_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            last = self._last.get(device_id)
            if last is not None and (wait := last + self._debounce - loop.time()) > 0:
                await asyncio.sleep(wait)
            await self._runner.idle(device_id)
        finally:
            # From here a new trap asks for another poll: this one may have read too early.
            self._waiting.pop(device_id, None)
        self._last[device_id] = loop.time()
        self.started += 1
        await self._runner.poll(device_id, scheduled=False)

    def cancel(self) -> None:
        """At stop: the polls still waiting are not started."""
        for task in self._waiting.values():
            task.cancel()
        self._waiting.clear()


class TrapHandling:
    """The agent's trap receiver and what follows each trap (see the module)."""

    def __init__(self, *, writer: SinkWriter, runner: PollRunner, alerts: AlertCalls,
                 states: DeviceStates, clock: Callable[[], datetime]) -> None:
        self._writer = writer
        self._alerts = alerts
        self._states = states
        self._clock = clock
        self._runner = runner
        self._polls = TrapPolls(runner)
        self._waiting: set[asyncio.Task[None]] = set()     # traps told after a poll
        self._devices: dict[str, Device] = {}
        self._receiver: TrapReceiver | None = None
        self._engine_set = False
        self._untimely: set[str] = set()        # devices whose stale trap was logged
        self._writes: set[asyncio.Task[None]] = set()

    @property
    def listening(self) -> bool:
        return self._receiver is not None

    async def open(self, settings: TrapSettings) -> None:
        """Bind `traps.listen`. Raises OSError (a port in use, 162 without the right)."""
        receiver = TrapReceiver(on_trap=self._on_trap,
                                catalogue=TrapCatalogue.from_profiles(load_profiles()),
                                rate=settings.rate_per_source, burst=settings.burst,
                                clock=self._clock, engine_devices=self._states.with_engine)
        await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: receiver, local_addr=(settings.host, settings.port))
        self._receiver = receiver
        log.info("receiving SNMP traps on udp %s", settings.listen)

    def adopt(self, config: Config) -> None:
        """Match traps to this configuration's devices from now on (after the device
        states adopted it: they keep the monitored ports' ifIndex for linkDown). The
        first time, the receiver gets our engine for v3 from the state directory."""
        self._devices = {d.id: d for d in config.devices}
        self._states.watch_ports({d.id: d.poll.monitored_interfaces for d in config.devices
                                  if self._receiver is not None and d.poll is not None
                                  and d.poll.monitored_interfaces})
        if self._receiver is not None:
            if not self._engine_set:
                self._receiver.use_engine(local_engine(config.agent.state_dir))
                self._engine_set = True
            self._receiver.adopt(config.devices, config.credentials)

    def counts(self) -> TrapCounts | None:
        return self._receiver.counts if self._receiver is not None else None

    async def close(self) -> None:
        """Stop receiving; the points already handed over reach the writer first."""
        self._polls.cancel()
        for task in self._waiting:
            task.cancel()
        if self._receiver is not None and self._receiver.transport is not None:
            self._receiver.transport.close()
        if self._writes:
            await asyncio.wait(set(self._writes))

    def _on_trap(self, trap: Trap) -> None:
        device = self._devices.get(trap.device_id)
        if device is None:
            return
        if not trap.timely:
            # Authentic but out of its sender's time window: a replay must not fire or
            # store anything; a poll (debounced) says what is so.
            if device.id not in self._untimely:
                self._untimely.add(device.id)
                log.warning("SNMPv3 trap %s from %s outside its sender's time window: "
                            "nothing it says is taken, the device is polled (said once)",
                            trap.name or trap.oid, trap.source, extra={"device_id": device.id})
            self._polls.request(device.id)
            return
        log.info("trap %s (%s) from %s", trap.name or trap.oid, trap.meaning or "unknown "
                 "meaning", trap.source, extra={"device_id": device.id})
        task = asyncio.ensure_future(self._writer.write(device.id, (trap_sample(device, trap),)))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        says = trap.says
        if says is not None and says.meaning in REBOOTS:
            self._states.rebooted(device.id, trap.received, trap.name or says.meaning)
        if says is not None and self._runner.polls(device.id):
            # The poll in flight read the device before the trap: its answer goes to the
            # rules first, so that it cannot end what the trap says.
            after = asyncio.ensure_future(self._after_poll(device.id, says))
            self._waiting.add(after)
            after.add_done_callback(self._waiting.discard)
        else:
            self._tell(device.id, says)

    async def _after_poll(self, device_id: str, says: TrapSays) -> None:
        await self._runner.idle(device_id)
        self._tell(device_id, says)

    def _tell(self, device_id: str, says: TrapSays | None) -> None:
        """What the trap says to the rules (a port named by the last poll's names for
        its ifIndex), then a poll of the device to confirm or end it."""
        if says is not None:
            if says.if_index is not None:
                says = replace(says, ports=says.ports + self._states.ports(device_id,
                                                                           says.if_index))
            self._alerts.observe_trap(device_id, says)
        self._polls.request(device_id)


def local_engine(state_dir: Path) -> usm.LocalEngine:
    """Our SNMP engine for v3 informs: the id in `state_dir/ENGINE_FILE` (made the first
    time: RFC 3411 format 5, random octets), its boots one more than last time. A file
    that cannot be read or written is said in the log: a new id, or boots not kept, only
    make senders discover the engine again."""
    path = state_dir / ENGINE_FILE
    engine_id, boots = b"", 0
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        engine_id, boots = bytes.fromhex(saved["engine_id"]), int(saved["boots"])
        if not 5 <= len(engine_id) <= usm.MAX_ENGINE_ID or not 0 < boots < usm.MAX_INT:
            raise ValueError("out of range")
    except FileNotFoundError:
        engine_id = b""
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s cannot be read (%s): a new SNMP engine id for informs", path,
                    type(exc).__name__)
        engine_id = b""
    if not engine_id:
        # net-snmp's enterprise number, as usm.text_engine_id uses; format 5: octets.
        engine_id = (0x80000000 | 8072).to_bytes(4, "big") + b"\x05" + secrets.token_bytes(8)
        boots = 0
    boots = min(boots + 1, usm.MAX_INT)
    try:
        write_private(path, json.dumps({"engine_id": engine_id.hex(), "boots": boots})
                      .encode())
    except OSError as exc:
        log.warning("%s cannot be written (%s): SNMP engine boots not kept", path,
                    exc.strerror or type(exc).__name__)
    return usm.LocalEngine(engine_id, boots, time.monotonic())


def trap_sample(device: Device, trap: Trap) -> Sample:
    """The `snmp_trap` point of one trap."""
    tags = device_tags(device, agent_host=trap.source, hostname=None)
    tags.update(trap_oid=trap.oid, source=trap.source, version=trap.version)
    if trap.name:
        tags["trap_name"] = trap.name
    if trap.meaning:
        tags["meaning"] = trap.meaning
    return Sample(MEASUREMENT, tags, {"received": 1}, trap.received)

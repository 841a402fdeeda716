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
  the device reported the transition itself. A linkDown names its port by ifIndex: the
  names the device's last poll saw for that ifIndex (agent/device_states.py `ports`) are
  added to those the trap carries, so the rule can match `monitored_interfaces`;
- a coldStart or warmStart records a reboot in the device's state (agent/device_states.py:
  `reboots`, `last_reboot`, `last_reboot_by` in the status; the poll after it, which
  sees the uptime gone back, does not count it twice);
- asks for a poll of the device now (`TrapPolls`): the poll, through the usual rules,
  confirms what the trap said or ends it (a UPS back on mains resolves `ups_on_battery`,
  a port up again `interface_down`). Polls are debounced:
  traps that arrive while one is waiting share it, and a device is polled for traps at
  most once every DEBOUNCE_SECONDS (a UPS repeats its on-battery trap every minute; a
  flapping port sends pairs).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from agent.alerting import AlertCalls
from agent.device_states import DeviceStates
from agent.polling import PollRunner
from agent.writer import SinkWriter
from collectors.base import Sample, device_tags
from collectors.snmp.profiles import load_profiles
from collectors.snmp.traps import MEASUREMENT, Trap, TrapCatalogue, TrapCounts, TrapReceiver
from config.model import TrapSettings
from inventory.model import Config, Device

log = logging.getLogger("lifeline.traps")

DEBOUNCE_SECONDS = 2.0
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
        self._polls = TrapPolls(runner)
        self._devices: dict[str, Device] = {}
        self._receiver: TrapReceiver | None = None
        self._writes: set[asyncio.Task[None]] = set()

    @property
    def listening(self) -> bool:
        return self._receiver is not None

    async def open(self, settings: TrapSettings) -> None:
        """Bind `traps.listen`. Raises OSError (a port in use, 162 without the right)."""
        receiver = TrapReceiver(on_trap=self._on_trap,
                                catalogue=TrapCatalogue.from_profiles(load_profiles()),
                                rate=settings.rate_per_source, burst=settings.burst,
                                clock=self._clock)
        await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: receiver, local_addr=(settings.host, settings.port))
        self._receiver = receiver
        log.info("receiving SNMP traps on udp %s", settings.listen)

    def adopt(self, config: Config) -> None:
        """Match traps to this configuration's devices from now on."""
        self._devices = {d.id: d for d in config.devices}
        if self._receiver is not None:
            self._receiver.adopt(config.devices, config.credentials)

    def counts(self) -> TrapCounts | None:
        return self._receiver.counts if self._receiver is not None else None

    async def close(self) -> None:
        """Stop receiving; the points already handed over reach the writer first."""
        self._polls.cancel()
        if self._receiver is not None and self._receiver.transport is not None:
            self._receiver.transport.close()
        if self._writes:
            await asyncio.wait(set(self._writes))

    def _on_trap(self, trap: Trap) -> None:
        device = self._devices.get(trap.device_id)
        if device is None:
            return
        log.info("trap %s (%s) from %s", trap.name or trap.oid, trap.meaning or "unknown "
                 "meaning", trap.source, extra={"device_id": device.id})
        task = asyncio.ensure_future(self._writer.write(device.id, (trap_sample(device, trap),)))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        says = trap.says
        if says is not None and says.meaning in REBOOTS:
            self._states.rebooted(device.id, trap.received, trap.name or says.meaning)
        if says is not None and says.if_index is not None:
            polled = self._states.ports(device.id, says.if_index)
            says = replace(says, ports=says.ports + polled)
        if says is not None:
            self._alerts.observe_trap(device.id, says)
        self._polls.request(device.id)


def trap_sample(device: Device, trap: Trap) -> Sample:
    """The `snmp_trap` point of one trap."""
    tags = device_tags(device, agent_host=trap.source, hostname=None)
    tags.update(trap_oid=trap.oid, source=trap.source, version=trap.version)
    if trap.name:
        tags["trap_name"] = trap.name
    if trap.meaning:
        tags["meaning"] = trap.meaning
    return Sample(MEASUREMENT, tags, {"received": 1}, trap.received)

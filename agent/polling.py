"""One poll of one device, start to finish: what each device's scheduled job runs.

`PollRunner.poll(device_id)` awaits the device's collector with a limit: a collector
that overruns its poll budget (`PollSpec.poll_budget`, by which collectors end their own
polls) by OVERRUN_GRACE_SECONDS is cut off and the poll counts as a timeout, one that
raises fails its own device only. The result then goes on: to the device's state, its
samples to the sink writer (awaited, so a stop finds them written), the result itself to
the alert engine. The runner keeps the polls in flight, so that a
stop or a reload can wait for them, and how late each poll started against its schedule
(`StartLag`).
"""
from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import statistics
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from agent.alerting import AlertCalls
from agent.collector_set import Collectors
from agent.device_states import DeviceStates
from agent.lateness import Lateness
from agent.status import LAG_BUCKETS, StartLagSummary
from agent.writer import SinkWriter
from collectors.base import (
    Collector,
    NoRoomToPollError,
    PollResult,
    ResultCode,
    device_tags,
    poll_sample,
)
from inventory.model import Device

log = logging.getLogger("lifeline.agent")

# A collector that overruns its poll budget by this much is cut off: a stuck poll must
# not hold its device's only job slot forever.
OVERRUN_GRACE_SECONDS = 5.0
LAG_WINDOW = 4096          # start-lag samples kept for the p50/p99 figures


class StartLag:
    """How late polls start against their schedule: the measure of the spread. The
    recent ones for the quantiles, every one since start in the histogram's buckets."""

    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=LAG_WINDOW)
        self._buckets = [0] * len(LAG_BUCKETS)      # per bucket, not yet cumulative
        self._total = 0
        self._sum = 0.0

    def add(self, seconds: float) -> None:
        lag = max(0.0, seconds)
        self._samples.append(lag)
        self._total += 1
        self._sum += lag
        index = bisect.bisect_left(LAG_BUCKETS, lag)
        if index < len(self._buckets):
            self._buckets[index] += 1

    def summary(self) -> StartLagSummary:
        values = sorted(self._samples)
        histogram = StartLagSummary(buckets=tuple(itertools.accumulate(self._buckets)),
                                    total=self._total, sum=round(self._sum, 6))
        if not values:
            return histogram
        return replace(
            histogram, count=len(values), p50=round(statistics.median(values), 6),
            p99=round(values[min(len(values) - 1, int(len(values) * 0.99))], 6),
            max=round(values[-1], 6))


class PollRunner:
    """Runs the polls of the devices it was last given (`adopt`), on the loop thread."""

    def __init__(self, *, writer: SinkWriter, states: DeviceStates, alerts: AlertCalls,
                 clock: Callable[[], datetime], stopping: Callable[[], bool]) -> None:
        self._writer = writer
        self._states = states
        self._alerts = alerts
        self._clock = clock
        self._stopping = stopping
        self._devices: dict[str, Device] = {}
        self._collectors = Collectors({})
        self._intended: dict[str, datetime] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._polling: dict[str, asyncio.Task[None]] = {}     # device id -> its poll
        self._retiring: set[asyncio.Task[None]] = set()
        self.start_lag = StartLag()
        self.lateness = Lateness()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def adopt(self, devices: Mapping[str, Device], collectors: Collectors) -> None:
        """Poll these devices with these collectors from now on. Polls already running
        keep the collectors they started with, closed once those polls are done."""
        retired, self._collectors = self._collectors, collectors
        self._devices = dict(devices)
        if retired.by_protocol:
            task = asyncio.ensure_future(self._close_after_in_flight(retired))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    def scheduled(self, device_id: str, when: datetime) -> None:
        """The scheduler starts the device's run that was due at `when`."""
        self._intended[device_id] = when

    def polls(self, device_id: str) -> bool:
        """Whether the device has a poll in flight (scheduled or asked for by a trap)."""
        return device_id in self._polling

    async def idle(self, device_id: str) -> None:
        """Once the device's poll in flight, if any, is done."""
        task = self._polling.get(device_id)
        if task is not None:
            await asyncio.wait({task})

    async def poll(self, device_id: str, *, scheduled: bool = True) -> None:
        """One poll of the device: its scheduled run, or (`scheduled=False`) one a trap
        asked for. Never two of one device at once: the second is skipped."""
        device = self._devices.get(device_id)
        collector = self._collectors.for_device(device) if device else None
        if device is None or collector is None or self._stopping():
            return
        if device_id in self._polling:
            self._states.overlapped(device_id)
            return
        started = self._clock()
        intended = self._intended.pop(device_id, None) if scheduled else None
        if intended is not None:
            lag = (started - intended).total_seconds()
            self.start_lag.add(lag)
            self.lateness.add(lag)
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        self._polling[device_id] = task
        try:
            try:
                result = await self._collect(collector, device, started)
            except NoRoomToPollError as exc:         # the agent's saturation, not the device's
                self._states.no_room(device_id, str(exc))
                return
            self._states.record(result)
            if result.samples:
                await self._writer.write(device.id, result.samples)
            self._alerts.observe(result)
        finally:
            self._in_flight.discard(task)
            self._polling.pop(device_id, None)

    async def wait_in_flight(self) -> None:
        """At stop: the polls in flight, each bounded by its budget and the grace."""
        if self._in_flight:
            longest = max((d.poll.poll_budget for d in self._devices.values() if d.poll),
                          default=0.0)
            await asyncio.wait(set(self._in_flight), timeout=longest + OVERRUN_GRACE_SECONDS)

    async def aclose(self) -> None:
        await self._collectors.aclose()

    async def _collect(self, collector: Collector, device: Device,
                       started: datetime) -> PollResult:
        assert device.poll is not None
        # The collectors end their polls by the budget themselves: this only catches one
        # that hangs, so it must never come first.
        limit = device.poll.poll_budget + OVERRUN_GRACE_SECONDS
        try:
            # asyncio.timeout, not wait_for: wait_for runs the collector in a task of its
            # own, one more task per poll for nothing.
            async with asyncio.timeout(limit):
                return await collector.collect(device)
        except TimeoutError:
            return _failed(device, started, ResultCode.TIMEOUT,
                           f"collector overran the poll deadline ({limit:.0f} s) and was cut off")
        except NoRoomToPollError:
            raise
        except Exception as exc:    # a collector bug: this device fails, the others go on
            log.exception("collector raised", extra={"device_id": device.id})
            return _failed(device, started, ResultCode.BAD_RESPONSE,
                           f"collector error: {type(exc).__name__}")

    async def _close_after_in_flight(self, collectors: Collectors) -> None:
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))
        await collectors.aclose()


def _failed(device: Device, started: datetime, code: ResultCode, error: str) -> PollResult:
    """A result for a poll the collector could not finish itself."""
    duration = max(0.0, (datetime.now(started.tzinfo) - started).total_seconds())
    tags = device_tags(device, agent_host=device.poll.address if device.poll else None,
                       hostname=None)
    return PollResult(device_id=device.id, code=code, started=started, duration=duration,
                      error=error, samples=(poll_sample(code, duration, tags, started),))

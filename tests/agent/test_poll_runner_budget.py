"""The poll runner agrees with the collectors on how long a poll may take: it cuts one off
only after the poll's budget (plus its grace), never at one request's timeout x attempts,
so a long walk that ends by its budget is kept, and one that hangs is still cut off."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from agent import polling
from agent.alerting import AlertCalls
from agent.collector_set import Collectors
from agent.device_states import DeviceStates
from agent.polling import PollRunner
from agent.writer import SinkWriter
from collectors.base import NoRoomToPollError, PollResult, ResultCode
from inventory.model import Device, PollSpec


@dataclass
class TakesItsTime:
    """Test double of a collector: answers after `seconds`, as a long walk would."""

    seconds: float

    async def collect(self, device: Device) -> PollResult:
        started = datetime.now(UTC)
        await asyncio.sleep(self.seconds)
        return PollResult(device_id=device.id, code=ResultCode.SUCCESS, started=started,
                          duration=self.seconds)

    async def aclose(self) -> None:
        pass


class Recorded(DeviceStates):
    """The device states, keeping every result they are given."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[PollResult] = []

    def record(self, result: PollResult) -> None:
        self.results.append(result)
        super().record(result)


def run_one_poll(device: Device, collector: TakesItsTime) -> PollResult:
    async def run() -> PollResult:
        states = Recorded()
        runner = PollRunner(writer=SinkWriter(), states=states,
                            alerts=AlertCalls(enabled=False),
                            clock=lambda: datetime.now(UTC), stopping=lambda: False)
        runner.adopt({device.id: device}, Collectors({"snmp": collector}))
        await runner.poll(device.id)
        [result] = states.results
        return result
    return asyncio.run(run())


def device(interval: float) -> Device:
    return Device(id="sw", name="sw", category="backbone_switch",
                  poll=PollSpec(protocol="snmp", address="127.0.0.1", interval=interval,
                                timeout=0.1, retries=1))


def test_a_poll_longer_than_one_request_but_within_its_budget_is_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polling, "OVERRUN_GRACE_SECONDS", 0.1)
    sw = device(interval=2.0)           # a request: 0.2 s at most; the poll: 1.6 s
    assert sw.poll is not None and sw.poll.deadline + 0.1 < 0.5 < sw.poll.poll_budget
    result = run_one_poll(sw, TakesItsTime(0.5))
    assert result.code is ResultCode.SUCCESS, result.error


def test_a_poll_that_outlives_its_budget_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polling, "OVERRUN_GRACE_SECONDS", 0.1)
    result = run_one_poll(device(interval=0.5), TakesItsTime(3600))
    assert result.code is ResultCode.TIMEOUT
    assert "overran the poll deadline" in (result.error or "")


class NoRoom:
    """Test double of a collector whose agent had no poll slot free in the budget."""

    async def collect(self, device: Device) -> PollResult:
        raise NoRoomToPollError("no poll slot free within 0.3 s of the poll budget")

    async def aclose(self) -> None:
        pass


def test_a_poll_the_agent_had_no_room_for_is_a_skipped_run_not_a_failure() -> None:
    """No result (so no sample, no alert, no failure counted against the device): the
    run is skipped and said, as an overlap is."""
    skipped: list[str] = []

    class Said(Recorded):
        def no_room(self, device_id: str, why: str) -> None:
            skipped.append(device_id)
            super().no_room(device_id, why)

    async def run() -> list[PollResult]:
        states = Said()
        runner = PollRunner(writer=SinkWriter(), states=states,
                            alerts=AlertCalls(enabled=False),
                            clock=lambda: datetime.now(UTC), stopping=lambda: False)
        sw = device(interval=1.0)
        runner.adopt({sw.id: sw}, Collectors({"snmp": NoRoom()}))
        await runner.poll(sw.id)
        return states.results

    assert asyncio.run(run()) == []
    assert skipped == ["sw"]

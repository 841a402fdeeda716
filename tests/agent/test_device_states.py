"""The agent's record of each device: an answer it cannot use is a failure, not health."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.device_states import UPTIME, DeviceState
from collectors.base import PollResult, ResultCode, SnmpFacts

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _result(code: ResultCode) -> PollResult:
    return PollResult(device_id="d1", code=code, started=NOW, duration=0.1, error="x")


@pytest.mark.parametrize("code", [ResultCode.BAD_RESPONSE, ResultCode.NO_SUCH_OBJECT,
                                  ResultCode.AUTH_FAILURE, ResultCode.TIMEOUT])
def test_a_bad_answer_counts_as_a_failure(code: ResultCode) -> None:
    state = DeviceState("d1", "snmp", 60.0)
    assert state.record(_result(code)) is True            # went from "never polled" to down
    assert (state.failures, state.consecutive_failures, state.last_success) == (1, 1, None)


@pytest.mark.parametrize("code", [ResultCode.SUCCESS, ResultCode.PARTIAL])
def test_a_usable_answer_ends_a_run_of_failures(code: ResultCode) -> None:
    state = DeviceState("d1", "snmp", 60.0)
    state.record(_result(ResultCode.BAD_RESPONSE))
    assert state.record(_result(code)) is True
    assert (state.failures, state.consecutive_failures, state.last_success) == (1, 0, NOW)


def _rebooted(started: datetime) -> PollResult:
    return PollResult(device_id="d1", code=ResultCode.SUCCESS, started=started, duration=0.1,
                      facts=SnmpFacts(rebooted=True))


def test_a_reboot_told_by_a_trap_and_seen_by_the_next_poll_counts_once() -> None:
    state = DeviceState("d1", "snmp", 60.0)
    assert state.rebooted(NOW, "coldStart") is True
    state.record(_rebooted(NOW + timedelta(seconds=2)))         # the uptime went back
    assert (state.reboots, state.last_reboot, state.last_reboot_by) == (1, NOW, "coldStart")
    state.record(_rebooted(NOW + timedelta(minutes=5)))         # another reboot, no trap
    assert (state.reboots, state.last_reboot_by) == (2, UPTIME)
    snapshot = state.snapshot()
    assert (snapshot.reboots, snapshot.last_reboot_by) == (2, UPTIME)


def test_a_poll_started_before_the_trap_does_not_consume_it() -> None:
    state = DeviceState("d1", "snmp", 60.0)
    state.rebooted(NOW, "warmStart")
    state.record(PollResult(
        device_id="d1", code=ResultCode.SUCCESS, started=NOW - timedelta(seconds=1),
        duration=2.0))                                          # in flight when it came
    state.record(_rebooted(NOW + timedelta(seconds=2)))
    assert state.reboots == 1

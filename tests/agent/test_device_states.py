"""The agent's record of each device: an answer it cannot use is a failure, not health."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.device_states import DeviceState
from collectors.base import PollResult, ResultCode

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

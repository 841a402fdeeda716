"""The agent's record of each device: an answer it cannot use is a failure, not health;
records shared between snapshots while a device does not change."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.device_states import UPTIME, DeviceState, DeviceStates
from agent.schedule import PollJob
from collectors.base import Identity, PollResult, ResultCode, SnmpFacts

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


def _poll(device_id: str, code: ResultCode = ResultCode.SUCCESS) -> PollResult:
    return PollResult(device_id=device_id, code=code, started=NOW, duration=0.1,
                      identity=Identity(sys_descr="".join(["Cisco ", "IOS"]),
                                        sys_name=device_id))


def test_device_states_share_unchanged_records_in_the_configured_order() -> None:
    states = DeviceStates()
    ids = ["sw-1", "sw-2", "sw-3"]
    states.adopt({d: PollJob(d, 60.0) for d in ids}, dict.fromkeys(ids, "snmp"))
    for device_id in ids:
        states.record(_poll(device_id))
    first = states.snapshot()
    states.record(_poll("sw-2", ResultCode.TIMEOUT))
    second = states.snapshot()
    assert list(second) == ids
    assert second["sw-1"] is first["sw-1"] and second["sw-3"] is first["sw-3"]
    assert (second["sw-2"].polls, second["sw-2"].last_result) == (2, "timeout")
    # What many devices say alike is held once; an unchanged identity is not replaced.
    assert second["sw-1"].identity["sys_descr"] is second["sw-3"].identity["sys_descr"]
    states.record(_poll("sw-1"))
    assert states.snapshot()["sw-1"].identity is first["sw-1"].identity
    # A reload: the new order, the new device, the one removed gone; counts kept.
    states.adopt({d: PollJob(d, 60.0) for d in ("sw-3", "sw-4", "sw-1")},
                 dict.fromkeys(("sw-3", "sw-4", "sw-1"), "snmp"))
    after = states.snapshot()
    assert list(after) == ["sw-3", "sw-4", "sw-1"]
    assert (after["sw-1"].polls, after["sw-4"].polls) == (2, 0)


def test_a_next_run_made_anew_a_few_microseconds_off_is_not_a_change() -> None:
    """The scheduler may convert its monotonic times to wall times at each call: the same
    run a few microseconds apart. Taken as a change, every device would be rebuilt and
    encoded again at every snapshot."""
    states = DeviceStates()
    ids = ["sw-1", "sw-2"]
    states.adopt({d: PollJob(d, 60.0) for d in ids}, dict.fromkeys(ids, "snmp"))
    states.set_next_runs({"sw-1": NOW, "sw-2": NOW})
    first = states.snapshot()
    assert first["sw-1"].next_run == NOW
    states.set_next_runs({"sw-1": NOW + timedelta(microseconds=3),
                          "sw-2": NOW + timedelta(seconds=60)})      # sw-2 ran
    second = states.snapshot()
    assert second["sw-1"] is first["sw-1"]
    assert second["sw-2"].next_run == NOW + timedelta(seconds=60)

"""Falling behind (agent/lateness.py): polls started late over the last minute, with an
injected clock; and the status file's text kept device by device (agent/status.py
`StatusEncoder`), which must read back as the same status."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agent.lateness import Lateness
from agent.status import (
    AgentInfo,
    AgentStatus,
    DevicePoll,
    FallingBehind,
    ProcessUsage,
    StartLagSummary,
    StatusEncoder,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_few_late_polls_among_many_are_not_falling_behind_and_more_are() -> None:
    clock = Clock()
    lateness = Lateness(window=60, late_after=2.0, clock=clock)
    for i in range(300):
        clock.now = 1000.0 + i * 0.1
        lateness.add(3.5 if i == 7 else 0.004)
    calm = lateness.summary()
    assert (calm.polls, calm.late, calm.worst, calm.behind) == (300, 1, 3.5, False)
    for _ in range(5):
        lateness.add(2.5)
    behind = lateness.summary()
    assert (behind.late, behind.worst, behind.behind) == (6, 3.5, True)


def test_late_polls_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    lateness = Lateness(window=60, late_after=2.0, clock=clock)
    for _ in range(10):
        lateness.add(9.0)
    assert lateness.summary().behind
    clock.now += 30
    lateness.add(0.01)
    assert lateness.summary().late == 10
    clock.now += 31
    after = lateness.summary()
    assert (after.polls, after.late, after.worst, after.behind) == (1, 0, None, False)


def _status(devices: dict[str, DevicePoll], late: FallingBehind) -> AgentStatus:
    return AgentStatus(
        written=T0, written_unix=T0.timestamp(),
        agent=AgentInfo(name="noc", pid=42, config="/etc/lifeline.yaml", started=T0,
                        running=True, devices=len(devices), in_flight=0, reloads=0,
                        reload_failures=0),
        process=ProcessUsage(cpu_seconds=1.5, rss_bytes=2**20),
        start_lag=StartLagSummary(count=3, p50=0.001, p99=0.002, max=0.003),
        sink=None, alerts=None, devices=devices, lateness=late)


def test_the_status_text_kept_device_by_device_reads_back_as_the_status() -> None:
    devices = {f"sw-{i}": DevicePoll(device_id=f"sw-{i}", protocol="snmp", interval=60.0,
                                     polls=i, last_started=T0, last_result="success",
                                     last_code=0, last_error="quote \" and 한글",
                                     next_run=T0 + timedelta(seconds=i))
               for i in range(5)}
    encoder = StatusEncoder()
    first = _status(devices, FallingBehind(polls=200, late=9, worst=4.25))
    assert json.loads(encoder.encode(first)) == json.loads(json.dumps(first.as_json()))
    # One device changed (a new record), one gone: the next text has both right.
    changed = {**devices, "sw-2": replace(devices["sw-2"], polls=99)}
    del changed["sw-4"]
    second = _status(changed, FallingBehind())
    text = encoder.encode(second)
    assert json.loads(text) == json.loads(json.dumps(second.as_json()))
    back = AgentStatus.from_json(json.loads(text))
    assert back.devices["sw-2"].polls == 99 and "sw-4" not in back.devices
    assert AgentStatus.from_json(json.loads(encoder.encode(first))).lateness.behind


def test_a_status_file_without_lateness_reads_as_keeping_up() -> None:
    data = json.loads(StatusEncoder().encode(_status({}, FallingBehind(polls=5, late=5))))
    del data["lateness"]                    # written by an agent before it
    assert AgentStatus.from_json(data).lateness == FallingBehind()

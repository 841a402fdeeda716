"""The status file written off the loop (agent/reporter.py `StatusWriter`) and kept device
by device (agent/status.py `StatusEncoder`): each file is one whole snapshot, the newest,
written by rename; a write that fails, or a snapshot that cannot be written at all, does
not stop the next one; the text is byte for byte what `json.dumps` makes of the record.
Real files in tmp_path throughout; waiting is `wait()`, never a sleep."""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from test_status_file import AT, a_status

from agent.reporter import StatusWriter
from agent.status import (
    AgentStatus,
    DevicePoll,
    StatusEncoder,
    read_status,
    write_status,
)

DESCR = "Cisco IOS Software, C2960X Software, Version 15.2(7)E4"


def _devices(count: int, polls: int = 1) -> dict[str, DevicePoll]:
    return {f"sw-{i:05d}": DevicePoll(
        device_id=f"sw-{i:05d}", protocol="snmp", interval=60.0, polls=polls,
        last_started=AT, last_result="success", last_code=0, last_duration=0.0125,
        last_error="quote \" and 한글" if i % 7 == 0 else None, last_success=AT,
        next_run=AT + timedelta(seconds=i % 60),
        identity={"sys_descr": DESCR, "sys_name": f"sw-{i}"}) for i in range(count)}


def _status(devices: dict[str, DevicePoll], minute: int = 0) -> AgentStatus:
    written = AT + timedelta(minutes=minute)
    return replace(a_status(), written=written, written_unix=written.timestamp(),
                   devices=devices)


class Outcomes:
    """What the writer told of each write."""

    def __init__(self) -> None:
        self.told: list[tuple[AgentStatus, Path, OSError | None]] = []

    def __call__(self, status: AgentStatus, state_dir: Path, error: OSError | None) -> None:
        self.told.append((status, state_dir, error))


def test_the_file_is_the_newest_snapshot_whole_and_written_by_rename(tmp_path: Path) -> None:
    outcomes = Outcomes()
    writer = StatusWriter(outcomes)
    devices = _devices(2_500)
    snapshots = []
    for minute in range(5):             # handed over faster than one may be written
        devices = {**devices, f"sw-{minute:05d}": replace(devices[f"sw-{minute:05d}"],
                                                          polls=minute + 2)}
        snapshots.append(_status(devices, minute))
        writer.submit(snapshots[-1], tmp_path)
    writer.wait()
    assert read_status(tmp_path) == snapshots[-1]
    assert not list(tmp_path.glob(".*.tmp"))
    # In order, each told once, none failed; one waiting may have given way to a newer.
    told = [status for status, _, error in outcomes.told if error is None]
    assert told[-1] is snapshots[-1] and len(told) == len(outcomes.told)
    assert [snapshots.index(s) for s in told] == sorted(snapshots.index(s) for s in told)
    writer.close()


def test_a_failing_write_is_told_and_the_next_one_goes_through(tmp_path: Path) -> None:
    outcomes = Outcomes()
    writer = StatusWriter(outcomes)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the state_dir should be")
    writer.submit(_status(_devices(3)), blocked)
    writer.wait()
    [(_, where, error)] = outcomes.told
    assert where == blocked and isinstance(error, OSError)
    good = _status(_devices(3, polls=2), minute=1)
    writer.submit(good, tmp_path / "var")
    writer.close()                      # writes what is waiting first
    assert outcomes.told[-1][2] is None
    assert read_status(tmp_path / "var") == good


def test_a_snapshot_that_cannot_be_encoded_is_logged_and_leaves_no_file_behind(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    outcomes = Outcomes()
    writer = StatusWriter(outcomes)
    first = _status(_devices(1_500))
    writer.submit(first, tmp_path)
    writer.wait()
    devices = _devices(1_500)
    broken = DevicePoll(device_id="sw-01400", protocol="snmp", interval=60.0,
                        identity={"serial": b"\x00\x01"})      # type: ignore[dict-item]
    with caplog.at_level(logging.ERROR, logger="lifeline.agent"):
        writer.submit(_status({**devices, "sw-01400": broken}, 1), tmp_path)
        writer.wait()
    assert "writing the status file" in caplog.text and "bytes" in caplog.text
    # The first snapshot is still the file, its second chunk's temporary file is gone.
    assert read_status(tmp_path) == first
    assert not list(tmp_path.glob(".*.tmp"))
    later = _status(devices, 2)
    writer.submit(later, tmp_path)
    writer.close()
    assert read_status(tmp_path) == later
    assert len(outcomes.told) == 2


def test_the_writer_starts_again_after_close(tmp_path: Path) -> None:
    outcomes = Outcomes()
    writer = StatusWriter(outcomes)
    writer.close()                      # never started: nothing to do
    for minute in range(2):
        writer.submit(_status(_devices(2), minute), tmp_path)
        writer.close()
        back = read_status(tmp_path)
        assert back is not None and back.written == AT + timedelta(minutes=minute)


def test_the_kept_text_is_what_json_dumps_makes_of_the_record(tmp_path: Path) -> None:
    encoder = StatusEncoder()
    devices = _devices(2_345)           # three chunks of the file
    for status in (
            _status(devices),
            _status({**devices, "sw-01000": replace(devices["sw-01000"], polls=7)}, 1),
            # A reload: one device gone, one new, the order changed.
            _status({"new-1": DevicePoll(device_id="new-1", protocol="http", interval=30.0),
                     **{d: p for d, p in reversed(devices.items()) if d != "sw-00003"}}, 2)):
        data = status.as_json()
        devices_json = data.pop("devices")          # written last, the rest as it is
        assert encoder.encode(status) == json.dumps({**data, "devices": devices_json},
                                                    ensure_ascii=False)
        write_status(tmp_path, status, encoder)
        assert read_status(tmp_path) == status

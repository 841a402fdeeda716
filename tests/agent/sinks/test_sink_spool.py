"""The write-ahead spool on its own: order, cursor, recovery, torn lines, the bound, the lock."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.sinks.spool import Spool, SpoolError, inspect


def lines(start: int, stop: int) -> list[bytes]:
    return [f"m,device_id=d v={1000 + i}i {1_000_000_000 + i}".encode() for i in range(start, stop)]


def drain(spool: Spool, batch: int = 7) -> list[bytes]:
    """Delivers everything pending, committing each batch; returns the lines in order."""
    out: list[bytes] = []
    while (b := spool.peek(batch)) is not None:
        out += b.payload.splitlines()
        spool.commit(b)
    return out


def test_batches_come_out_in_order_across_segments(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=10**7, segment_bytes=300)
    for start in range(0, 100, 10):
        spool.append(lines(start, start + 10))
    assert len(list(tmp_path.glob("seg-*.lp"))) > 3
    assert spool.pending_points == 100
    assert drain(spool) == lines(0, 100)
    assert spool.pending_points == 0 and spool.pending_bytes == 0
    assert len(list(tmp_path.glob("seg-*.lp"))) == 1      # delivered segments deleted
    spool.close()


def test_a_batch_released_is_offered_again(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=10**7)
    spool.append(lines(0, 5))
    batch = spool.peek(3)
    assert spool.peek(3) is None               # one batch in flight at a time
    spool.release(batch)
    assert spool.peek(3) == batch
    spool.close()


def test_reopen_resumes_after_the_delivered_cursor(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=10**7, segment_bytes=200)
    spool.append(lines(0, 30))
    first = spool.peek(12)
    spool.commit(first)
    in_flight = spool.peek(5)
    assert in_flight is not None                # sent, never committed: must come again
    spool.close()
    assert json.loads((tmp_path / "cursor.json").read_text())["offset"] >= 0
    again = Spool(tmp_path, max_bytes=10**7, segment_bytes=200)
    assert again.pending_points == 30 - first.count
    assert drain(again) == lines(first.count, 30)
    again.close()


def test_a_torn_last_line_is_cut_off_at_recovery(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=10**7)
    spool.append(lines(0, 3))
    spool.close()
    segment = sorted(tmp_path.glob("seg-*.lp"))[-1]
    with open(segment, "ab") as handle:        # a process killed inside a write
        handle.write(b"m,device_id=d v=1099")
    assert inspect(tmp_path).points == 3
    again = Spool(tmp_path, max_bytes=10**7)
    again.append(lines(3, 4))
    assert drain(again) == lines(0, 4)
    again.close()


def test_past_the_bound_the_oldest_are_dropped_and_counted(tmp_path: Path):
    one = len(lines(0, 1)[0]) + 1
    spool = Spool(tmp_path, max_bytes=10 * one, segment_bytes=3 * one)
    dropped = sum(spool.append(lines(i, i + 1)) for i in range(25))
    assert dropped == 15
    assert spool.pending_points == 10 and spool.pending_bytes <= 10 * one
    assert drain(spool) == lines(15, 25)
    spool.close()


def test_the_bound_waits_for_the_batch_in_flight(tmp_path: Path):
    one = len(lines(0, 1)[0]) + 1
    spool = Spool(tmp_path, max_bytes=4 * one)
    spool.append(lines(0, 4))
    batch = spool.peek(2)
    assert spool.append(lines(4, 8)) == 0      # nothing dropped under the sender's feet
    assert spool.release(batch) == 4           # enforced when the attempt ends
    assert drain(spool) == lines(4, 8)
    spool.close()


def test_one_process_per_spool(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=10**6)
    with pytest.raises(SpoolError, match="in use"):
        Spool(tmp_path, max_bytes=10**6)
    spool.close()
    Spool(tmp_path, max_bytes=10**6).close()    # the lock goes with close


def test_commit_after_close_does_not_move_the_cursor(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=10**6)
    spool.append(lines(0, 3))
    batch = spool.peek(3)
    spool.close()                              # a sender still in its HTTP request
    spool.commit(batch)
    again = Spool(tmp_path, max_bytes=10**6)
    assert again.pending_points == 3
    again.close()


def test_a_hand_edited_cursor_is_an_error_naming_the_file(tmp_path: Path):
    Spool(tmp_path, max_bytes=10**6).close()
    (tmp_path / "cursor.json").write_text("{oops")
    with pytest.raises(SpoolError, match=r"cursor\.json"):
        Spool(tmp_path, max_bytes=10**6)

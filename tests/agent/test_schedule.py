"""How devices are spread over their interval, and what a reload changes."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agent.schedule import PollJob, diff_jobs, jitter, phase

SEOUL = ZoneInfo("Asia/Seoul")


def test_two_thousand_devices_spread_evenly_over_a_minute() -> None:
    phases = [phase(f"sw-{i}", 60.0) for i in range(2000)]
    assert all(0.0 <= p < 60.0 for p in phases)
    per_second = Counter(int(p) for p in phases)
    # 33.3 expected per second; a hash spread stays well inside 2x, never all at once.
    assert len(per_second) == 60
    assert max(per_second.values()) < 2 * 2000 / 60
    assert min(per_second.values()) > 0.5 * 2000 / 60


def test_phase_is_stable_and_differs_between_devices() -> None:
    assert phase("bb-sw-1", 60.0) == phase("bb-sw-1", 60.0)
    assert phase("bb-sw-1", 60.0) != phase("bb-sw-2", 60.0)
    # Same fraction of any interval: a device keeps its place when its interval changes.
    assert abs(phase("ups-1", 300.0) / 300.0 - phase("ups-1", 60.0) / 60.0) < 1e-9


def test_trigger_fires_at_phase_then_every_interval() -> None:
    now = datetime(2026, 11, 22, 9, 0, tzinfo=SEOUL)
    job = PollJob("kiosk-3", 30.0)
    trigger = job.trigger(now)
    first = trigger.get_next_fire_time(None, now)
    assert first is not None
    offset = (first - now).total_seconds()
    assert phase("kiosk-3", 30.0) <= offset <= phase("kiosk-3", 30.0) + jitter(30.0)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=0.001))
    assert second is not None
    assert 30.0 <= (second - first).total_seconds() <= 30.0 + jitter(30.0) + 0.001
    assert first.utcoffset() == timedelta(hours=9)


def test_jobs_never_overlap_and_coalesce_missed_runs() -> None:
    options = PollJob("fw-1", 60.0).job_options()
    assert options["max_instances"] == 1
    assert options["coalesce"] is True
    assert options["misfire_grace_time"] == 60


def test_diff_jobs_names_added_removed_and_rescheduled() -> None:
    old = {"a": PollJob("a", 60), "b": PollJob("b", 60), "c": PollJob("c", 60)}
    new = {"a": PollJob("a", 60), "c": PollJob("c", 30), "d": PollJob("d", 60)}
    changes = diff_jobs(old, new)
    assert [j.device_id for j in changes.added] == ["d"]
    assert list(changes.removed) == ["poll:b"]
    assert [(j.device_id, j.interval) for j in changes.rescheduled] == [("c", 30)]

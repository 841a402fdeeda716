"""How devices are spread over their interval, and what a reload changes."""
from __future__ import annotations

from collections import Counter

import pytest

from agent.schedule import PollJob, PollPlan, diff_jobs, jitter, phase


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


def test_the_first_run_is_at_the_devices_phase_from_when_it_was_added() -> None:
    plan = PollPlan(PollJob("kiosk-3", 30.0), now=500.0)
    assert plan.slot == pytest.approx(500.0 + phase("kiosk-3", 30.0))
    assert plan.slot <= plan.due <= plan.slot + jitter(30.0)


def test_each_run_is_one_interval_after_the_last_and_a_stall_coalesces_the_missed_ones() -> None:
    plan = PollPlan(PollJob("fw-1", 60.0), now=100.0)
    first = plan.slot
    plan.advance(first + 0.2)                       # ran on time
    assert plan.slot == pytest.approx(first + 60.0)
    assert plan.slot <= plan.due <= plan.slot + jitter(60.0)
    plan.advance(plan.slot + 4.5 * 60.0)            # the loop stalled four and a half runs
    assert plan.slot == pytest.approx(first + 6 * 60.0)   # the next one, not the missed four
    assert (plan.slot - first) % 60.0 == pytest.approx(0.0, abs=1e-6)   # same phase


def test_diff_jobs_names_added_removed_and_rescheduled() -> None:
    old = {"a": PollJob("a", 60), "b": PollJob("b", 60), "c": PollJob("c", 60)}
    new = {"a": PollJob("a", 60), "c": PollJob("c", 30), "d": PollJob("d", 60)}
    changes = diff_jobs(old, new)
    assert [j.device_id for j in changes.added] == ["d"]
    assert list(changes.removed) == ["b"]
    assert [(j.device_id, j.interval) for j in changes.rescheduled] == [("c", 30)]

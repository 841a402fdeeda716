"""WriteFailures: what the agent cannot write, said once a minute per kind with a count,
cleared by the next write that goes through; and how health and `lifeline status` show it.
The clock is injected: a minute passes without waiting for it."""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from test_status_file import AT, SEOUL, a_status

from agent.endpoint import health
from agent.status import read_status, write_status
from agent.write_failures import ALERT_STATE, METRIC_STORE, STATUS_FILE, WriteFailures

FULL = "/var/lib/lifeline/metrics.sqlite3: database or disk is full"


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def failures(clock: Clock) -> WriteFailures:
    return WriteFailures(SEOUL, clock=clock, now=lambda: AT)


def test_each_kind_is_logged_once_a_minute_with_a_count(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    clock = Clock()
    tracker = failures(clock)
    caplog.set_level(logging.INFO, logger="lifeline.agent")
    for _ in range(5):                      # five polls within the minute
        tracker.failed(METRIC_STORE, FULL)
        clock.seconds += 10
    tracker.failed(STATUS_FILE, "/var/lib/lifeline/status.json: No space left on device")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"cannot write the {METRIC_STORE}: {FULL}",
                     "cannot write the status file: /var/lib/lifeline/status.json: "
                     "No space left on device"]
    assert all(r.exc_info is None for r in caplog.records)       # no traceback
    clock.seconds += 11                     # 61 s after the first line
    tracker.failed(METRIC_STORE, FULL)
    assert caplog.records[-1].getMessage() == (
        f"cannot write the {METRIC_STORE}: 5 more failures in the last 61 s, 6 since "
        f"{AT:%Y-%m-%d %H:%M:%S}; last: {FULL}")
    [store, status] = tracker.failing()
    assert (store.kind, store.failures, store.error, store.since) == (METRIC_STORE, 6, FULL, AT)
    assert status.kind == STATUS_FILE and status.failures == 1

    tracker.succeeded(METRIC_STORE)
    assert caplog.records[-1].getMessage() == (
        f"writing the {METRIC_STORE} again, after 6 failed writes since "
        f"{AT:%Y-%m-%d %H:%M:%S}")
    assert [f.kind for f in tracker.failing()] == [STATUS_FILE]
    count = len(caplog.records)
    tracker.succeeded(METRIC_STORE)         # healthy already: nothing to say
    tracker.failed(METRIC_STORE, FULL)      # failing anew: said at once
    assert len(caplog.records) == count + 1
    assert tracker.failing()[0].failures == 1


def test_health_and_the_status_file_name_what_is_failing(tmp_path: Path) -> None:
    clock = Clock()
    tracker = failures(clock)
    tracker.failed(ALERT_STATE, "/var/lib/lifeline/alerts.db: database or disk is full")
    status = replace(a_status(), failing=tracker.failing())
    healthy, body = health(status, False, status.written_unix + 1)
    assert not healthy and body["status"] == "unhealthy"
    assert body["problems"] == [
        "cannot write the alert state: /var/lib/lifeline/alerts.db: database or disk is "
        f"full (1 failed writes since {AT:%Y-%m-%d %H:%M:%S})"]
    assert body["failing"] == [{"kind": ALERT_STATE, "failures": 1,
                                "error": "/var/lib/lifeline/alerts.db: database or disk is full",
                                "since": AT.isoformat()}]
    write_status(tmp_path, status)
    assert read_status(tmp_path) == status
    # A file written before the key existed reads as nothing failing.
    older = tmp_path / "older"
    write_status(older, replace(status, failing=()))
    text = (older / "status.json").read_text().replace(', "failing": []', "")
    (older / "status.json").write_text(text)
    back = read_status(older)
    assert back is not None and back.failing == () and "failing" not in text

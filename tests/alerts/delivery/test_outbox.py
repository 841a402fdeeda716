"""The outbox: once per (notification, channel), grouped, retried with backoff, expired,
recovered after a crash, and reported. Time is an injected clock; channels here are
in-process recorders (stand-ins: the real channels have their own tests with real peers)."""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from alerts.delivery.ledger import Ledger
from alerts.delivery.outbox import PROCESS_TOKEN, Outbox
from alerts.delivery.timing import Timings
from alerts.model import Alert, DeliveryError, Notification, Severity
from inventory.model import Config

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import T0, enqueue, load, make_alert, make_notification

CONFIG = """\
    alerts:
      channels:
        - {name: hook, type: webhook, url: "http://127.0.0.1:9/h", group_wait: 30s,
           group_interval: 60s, retry_initial: 10s, retry_max: 40s, expire_after: 1h}
        - {name: log, type: log, group_wait: 0s}
      routes:
        - {match: {severity: critical}, channels: [hook], continue: true}
        - {channels: [log], group_by: [device_id]}
    """


@dataclass
class Recorder:
    """A stand-in channel: records each send, or raises what the test scripted."""

    name: str
    script: list[BaseException] = field(default_factory=list)
    sends: list[tuple[list[str], dict[str, str]]] = field(default_factory=list)

    def send(self, notifications: Sequence[Notification], group: Mapping[str, str]) -> None:
        if self.script:
            raise self.script.pop(0)
        self.sends.append(([n.id for n in notifications], dict(group)))

    @property
    def ids(self) -> list[str]:
        return [i for ids, _ in self.sends for i in ids]


@dataclass
class Refresher(Recorder):
    refresh_interval: float = 60.0
    refreshed: list[list[str]] = field(default_factory=list)

    def refresh(self, alerts: Sequence[Alert]) -> None:
        self.refreshed.append(sorted(a.fingerprint for a in alerts))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load(tmp_path, CONFIG)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def make_outbox(tmp_path: Path, config: Config, clock: FakeClock, **channels: Recorder) -> Outbox:
    channels.setdefault("hook", Recorder("hook"))
    channels.setdefault("log", Recorder("log"))
    return Outbox(tmp_path / "alerts.db", config, channels, clock)


def first_try(tmp_path: Path, config: Config, clock: FakeClock, hook: Recorder) -> Outbox:
    """One notification to `hook` (and log), tried once at the end of its group_wait."""
    outbox = make_outbox(tmp_path, config, clock, hook=hook)
    enqueue(outbox, [make_notification()])
    clock.advance(30)
    outbox.deliver_due(wait=True)
    return outbox


def claim(outbox: Outbox, config: Config, clock: FakeClock, owner: str) -> None:
    """The due rows claimed by the process `owner`, which then sends nothing (yet)."""
    with closing(sqlite3.connect(outbox.db_path, isolation_level=None)) as conn:
        Ledger(owner, Timings(config.alerts.channels)).claim_due(conn, clock().timestamp())


def rows(outbox: Outbox) -> list[tuple[str, str, str]]:
    with sqlite3.connect(outbox.db_path) as conn:
        return conn.execute("SELECT notification_id, channel, state FROM delivery_outbox"
                            " ORDER BY channel, notification_id").fetchall()


def test_one_row_per_channel_and_the_same_id_twice_is_a_no_op(tmp_path, config, clock):
    outbox = make_outbox(tmp_path, config, clock)
    n = make_notification()
    enqueue(outbox, [n])
    enqueue(outbox, [n, n])
    assert rows(outbox) == [(n.id, "hook", "pending"), (n.id, "log", "pending")]
    assert outbox.stats()["hook"].pending == 1


def test_enqueue_does_not_commit_the_engines_transaction(tmp_path, config, clock):
    outbox = make_outbox(tmp_path, config, clock)
    conn = sqlite3.connect(outbox.db_path, isolation_level=None)
    conn.execute("BEGIN")
    outbox.enqueue(conn, [make_notification()])
    conn.execute("ROLLBACK")
    conn.close()
    assert rows(outbox) == []


def test_a_burst_waits_group_wait_and_goes_as_one_send(tmp_path, config, clock):
    hook, log = Recorder("hook"), Recorder("log")
    outbox = make_outbox(tmp_path, config, clock, hook=hook, log=log)
    enqueue(outbox, [make_notification(device_id="sw-1")])
    clock.advance(10)
    enqueue(outbox, [make_notification(device_id="sw-2"), make_notification(device_id="sw-3")])
    outbox.deliver_due(wait=True)
    assert hook.sends == [] and len(log.sends) == 3     # log: group_wait 0, per device
    clock.advance(19)
    outbox.deliver_due(wait=True)
    assert hook.sends == []
    clock.advance(1)                                      # 30 s after the first of the burst
    outbox.deliver_due(wait=True)
    assert hook.sends == [(["fp-device_down-sw-1:firing:1", "fp-device_down-sw-2:firing:1",
                            "fp-device_down-sw-3:firing:1"],
                           {"kind": "outage", "site": "district-hall"})]
    outbox.deliver_due(wait=True)
    assert len(hook.sends) == 1
    assert outbox.stats()["hook"].delivered == 3


def test_different_groups_are_sent_apart(tmp_path, config, clock):
    hook = Recorder("hook")
    outbox = make_outbox(tmp_path, config, clock, hook=hook)
    enqueue(outbox, [make_notification(device_id="a"),
                     make_notification(device_id="b", labels={"site": "branch-1"})])
    clock.advance(30)
    outbox.deliver_due(wait=True)
    assert sorted(group["site"] for _, group in hook.sends) == ["branch-1", "district-hall"]


def test_after_a_send_the_group_waits_group_interval(tmp_path, config, clock):
    hook = Recorder("hook")
    outbox = make_outbox(tmp_path, config, clock, hook=hook)
    enqueue(outbox, [make_notification()])
    clock.advance(30)
    outbox.deliver_due(wait=True)                                  # sent at t=30
    clock.advance(5)
    enqueue(outbox, [make_notification("resolved")])      # t=35: due max(65, 30+60=90)
    clock.advance(50)
    outbox.deliver_due(wait=True)                                  # t=85
    assert len(hook.sends) == 1
    clock.advance(5)
    outbox.deliver_due(wait=True)                                  # t=90
    assert [ids for ids, _ in hook.sends][1] == ["fp-device_down-bb-sw-1:resolved:1"]


def test_retryable_failures_back_off_then_deliver_exactly_once(tmp_path, config, clock, caplog):
    hook = Recorder("hook", script=[DeliveryError("http://127.0.0.1:9: HTTP 500"),
                                    DeliveryError("http://127.0.0.1:9: HTTP 503")])
    outbox = make_outbox(tmp_path, config, clock, hook=hook)
    enqueue(outbox, [make_notification()])
    clock.advance(30)
    outbox.deliver_due(wait=True)                                  # t=30 fails: next at +10
    stats = outbox.stats()["hook"]
    assert stats.pending == 1 and stats.retries == 1 and "HTTP 500" in stats.last_error
    clock.advance(9)
    outbox.deliver_due(wait=True)
    assert hook.script and hook.sends == []               # not yet due: nothing tried
    clock.advance(1)
    outbox.deliver_due(wait=True)                                  # t=40 fails: next at +20
    clock.advance(19)
    outbox.deliver_due(wait=True)
    assert hook.sends == []
    clock.advance(1)
    outbox.deliver_due(wait=True)                                  # t=60 delivered
    outbox.deliver_due(wait=True)
    assert hook.ids == ["fp-device_down-bb-sw-1:firing:1"]
    stats = outbox.stats()["hook"]
    assert (stats.pending, stats.delivered, stats.retries) == (0, 1, 2)
    assert stats.last_delivery_at == clock.now
    assert "try 2 in 10s" in caplog.text


def test_retry_after_from_the_peer_is_waited(tmp_path, config, clock):
    hook = Recorder("hook", script=[DeliveryError("429", retry_after=120)])
    outbox = first_try(tmp_path, config, clock, hook)
    clock.advance(119)
    outbox.deliver_due(wait=True)
    assert hook.sends == []
    clock.advance(1)
    outbox.deliver_due(wait=True)
    assert len(hook.sends) == 1


def test_a_permanent_failure_is_recorded_and_not_retried(tmp_path, config, clock, caplog):
    hook = Recorder("hook", script=[DeliveryError("HTTP 400 Bad Request", retryable=False)])
    outbox = first_try(tmp_path, config, clock, hook)
    clock.advance(3600)
    outbox.deliver_due(wait=True)
    assert hook.sends == [] and not hook.script
    stats = outbox.stats()["hook"]
    assert (stats.pending, stats.failed, stats.last_error) == (
        0, 1, "HTTP 400 Bad Request")
    assert "giving up" in caplog.text


def test_undelivered_notifications_expire(tmp_path, config, clock, caplog):
    hook = Recorder("hook", script=[DeliveryError("down")] * 100)
    outbox = make_outbox(tmp_path, config, clock, hook=hook)
    enqueue(outbox, [make_notification()])
    for _ in range(100):
        clock.advance(40)
        outbox.deliver_due(wait=True)
        if outbox.stats()["hook"].expired:
            break
    stats = outbox.stats()["hook"]
    assert (stats.pending, stats.expired, stats.delivered) == (0, 1, 0)
    assert 3600 <= (clock.now - make_notification().created).total_seconds() < 3700
    assert "expired undelivered" in caplog.text


def test_a_crash_between_send_and_record_resends_once(tmp_path, config, clock, caplog):
    """At-least-once: rows an earlier process left `sending` go out again, counted."""
    first = make_outbox(tmp_path, config, clock, hook=Recorder("hook"))
    enqueue(first, [make_notification()])
    clock.advance(30)
    claim(first, config, clock, "an-earlier-process")     # claimed, then the process "dies"
    assert ("fp-device_down-bb-sw-1:firing:1", "hook", "sending") in rows(first)

    hook = Recorder("hook")
    second = make_outbox(tmp_path, config, clock, hook=hook)   # the restarted agent
    second.deliver_due(wait=True)
    second.deliver_due(wait=True)
    assert hook.ids == ["fp-device_down-bb-sw-1:firing:1"]
    stats = second.stats()["hook"]
    assert (stats.delivered, stats.resent_after_restart) == (1, 1)
    assert "in flight when the agent stopped" in caplog.text


def test_nothing_delivered_is_sent_again_after_a_restart(tmp_path, config, clock):
    hook = Recorder("hook")
    first_try(tmp_path, config, clock, hook)
    again = Recorder("hook")
    restarted = make_outbox(tmp_path, config, clock, hook=again)
    enqueue(restarted, [make_notification()])            # the engine repeating itself
    clock.advance(300)
    restarted.deliver_due(wait=True)
    assert len(hook.sends) == 1 and again.sends == []


def test_one_failing_channel_does_not_hold_up_another(tmp_path, config, clock):
    hook = Recorder("hook", script=[RuntimeError("bug in a channel")])
    log = Recorder("log")
    outbox = make_outbox(tmp_path, config, clock, hook=hook, log=log)
    enqueue(outbox, [make_notification()])
    clock.advance(30)
    outbox.deliver_due(wait=True)
    assert len(log.sends) == 1
    stats = outbox.stats()
    assert stats["hook"].pending == 1 and "RuntimeError" in stats["hook"].last_error


def test_a_channel_no_longer_configured_fails_its_rows(tmp_path, config, clock):
    outbox = Outbox(tmp_path / "alerts.db", config, {"log": Recorder("log")}, clock)
    enqueue(outbox, [make_notification()])
    clock.advance(30)
    outbox.deliver_due(wait=True)
    assert outbox.stats()["hook"].failed == 1


def test_refresh_reposts_active_alerts_on_its_interval(tmp_path, config, clock):
    am = Refresher("hook")
    outbox = make_outbox(tmp_path, config, clock, hook=am)
    critical, warning = make_alert("sw-1"), make_alert("sw-2", severity=Severity.WARNING)
    waiting = make_alert("sw-3")
    enqueue(outbox, [make_notification(device_id="sw-3")])  # its own first send comes first
    outbox.refresh_active([critical, warning, waiting])
    outbox.deliver_due(wait=True)
    assert am.refreshed == [["fp-device_down-sw-1"]]          # warning is not routed to hook
    clock.advance(30)
    outbox.deliver_due(wait=True)                 # sw-3 sent now; refresh not due
    assert len(am.refreshed) == 1
    clock.advance(30)
    outbox.deliver_due(wait=True)
    assert am.refreshed[-1] == ["fp-device_down-sw-1", "fp-device_down-sw-3"]


def test_refresh_failures_show_in_stats(tmp_path, config, clock):
    class Failing(Refresher):
        def refresh(self, alerts: Sequence[Alert]) -> None:
            raise DeliveryError("http://127.0.0.1:9: connection refused")

    outbox = make_outbox(tmp_path, config, clock, hook=Failing("hook"))
    outbox.refresh_active([make_alert()])
    outbox.deliver_due(wait=True)
    assert outbox.stats()["hook"].last_error == "refresh: http://127.0.0.1:9: connection refused"


def test_stats_say_what_waits_and_why(tmp_path, config, clock):
    outbox = make_outbox(tmp_path, config, clock, hook=Recorder("hook", script=[
        DeliveryError("HTTP 502")]))
    enqueue(outbox, [make_notification()])
    clock.advance(30)
    outbox.deliver_due(wait=True)
    stats = outbox.stats()
    assert set(stats) == {"hook", "log"}
    assert stats["hook"].pending == 1 and stats["hook"].last_error == "HTTP 502"
    assert stats["hook"].oldest_pending is not None and stats["log"].pending == 0


def test_the_log_level_of_delivery_is_visible(tmp_path, config, clock, caplog):
    caplog.set_level(logging.INFO, "lifeline.alerts.outbox")
    outbox = make_outbox(tmp_path, config, clock)
    enqueue(outbox, [make_notification()])
    clock.advance(30)
    outbox.deliver_due(wait=True)
    assert "channel hook: delivered 1 notification(s) for group kind=outage,site=district-hall" \
        in caplog.text


def test_an_outbox_rebuilt_in_the_same_process_leaves_rows_in_flight_alone(tmp_path, config,
                                                                           clock):
    """A config reload builds a new Outbox; rows the old one is sending are not re-sent."""
    first = make_outbox(tmp_path, config, clock)
    enqueue(first, [make_notification()])
    clock.advance(30)
    claim(first, config, clock, PROCESS_TOKEN)           # the old outbox, sending
    hook = Recorder("hook")
    make_outbox(tmp_path, config, clock, hook=hook).deliver_due(wait=True)
    assert hook.sends == []

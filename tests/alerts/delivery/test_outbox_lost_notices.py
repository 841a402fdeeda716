"""Issue 13 (2) and its smaller points in the outbox: a firing a channel never got is kept
while its alert fires and told when the channel takes it; a recovery whose firing never
got there is withheld; a recovery never overtakes its firing; batches go out in creation
order. In-process stand-in channels and an injected clock (the real peers are in
tests/agent/test_run_alert_stories.py and test_channels_down_alone.py)."""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from alerts.delivery.outbox import Outbox
from alerts.model import DeliveryError, Notification

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import T0, enqueue, load, make_alert, make_notification

CONFIG = """\
    alerts:
      channels:
        - {name: hook, type: webhook, url: "http://127.0.0.1:9/h", group_wait: 0s,
           group_interval: 0s, retry_initial: 10s, retry_max: 20s, expire_after: 60s}
      routes:
        - {channels: [hook], group_by: [device_id]}
    """


@dataclass
class Hook:
    """A stand-in channel: down (retryable), refusing (permanent) or taking posts."""

    name: str = "hook"
    mode: str = "up"            # up | down | refusing
    posts: list[list[tuple[str, str]]] = field(default_factory=list)

    def send(self, notifications: Sequence[Notification], group: Mapping[str, str]) -> None:
        if self.mode == "down":
            raise DeliveryError("connection refused")
        if self.mode == "refusing":
            raise DeliveryError("HTTP 400 Bad Request", retryable=False)
        self.posts.append([(n.event, n.alert.device_id) for n in notifications])

    @property
    def told(self) -> list[tuple[str, str]]:
        return [item for post in self.posts for item in post]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def rounds(outbox: Outbox, clock: FakeClock, count: int, every: float = 5.0) -> None:
    for _ in range(count):
        outbox.deliver_due(wait=True)
        clock.advance(every)


def make(tmp_path: Path, clock: FakeClock, hook: Hook) -> Outbox:
    return Outbox(tmp_path / "alerts.db", load(tmp_path, CONFIG), {"hook": hook}, clock)


def test_batches_go_out_in_creation_order_not_by_group_key(tmp_path, clock):
    hook = Hook()
    outbox = make(tmp_path, clock, hook)
    enqueue(outbox, [make_notification("resolved", device_id="core")])
    enqueue(outbox, [make_notification(device_id="aa-edge")])   # groups sort before core
    outbox.deliver_due(wait=True)
    assert hook.told == [("resolved", "core"), ("firing", "aa-edge")]


def test_a_recovery_waits_for_its_firing_still_being_retried(tmp_path, clock):
    hook = Hook(mode="down")
    outbox = make(tmp_path, clock, hook)
    enqueue(outbox, [make_notification()])
    outbox.deliver_due(wait=True)                   # fails: retried in 10 s
    hook.mode = "up"
    clock.advance(2)
    enqueue(outbox, [make_notification("resolved", seq=2)])
    outbox.deliver_due(wait=True)                   # the recovery is due, the firing not
    assert hook.told == []
    rounds(outbox, clock, 4)
    assert hook.told == [("firing", "bb-sw-1"), ("resolved", "bb-sw-1")]


def test_a_missed_firing_is_told_when_the_channel_takes_it(tmp_path, clock, caplog):
    hook = Hook(mode="down")
    outbox = make(tmp_path, clock, hook)
    firing = make_notification()
    outbox.refresh_active([firing.alert])           # the engine: firing, told
    enqueue(outbox, [firing])
    rounds(outbox, clock, 16)                       # 80 s: past expire_after (60 s)
    stats = outbox.stats()["hook"]
    assert (stats.expired, stats.untold, stats.pending) == (1, 1, 1)
    assert "still owed" in caplog.text and firing.id in caplog.text
    hook.mode = "up"
    rounds(outbox, clock, 6)
    assert hook.told == [("firing", "bb-sw-1")]
    stats = outbox.stats()["hook"]
    assert (stats.untold, stats.retold, stats.delivered) == (0, 1, 1)
    enqueue(outbox, [make_notification("resolved", seq=2)])
    rounds(outbox, clock, 1)
    assert hook.told == [("firing", "bb-sw-1"), ("resolved", "bb-sw-1")]


def test_a_recovery_whose_firing_never_got_there_is_withheld(tmp_path, clock, caplog):
    hook = Hook(mode="down")
    outbox = make(tmp_path, clock, hook)
    firing = make_notification()
    enqueue(outbox, [firing])
    rounds(outbox, clock, 16)                       # expired; no longer firing (not active)
    enqueue(outbox, [make_notification("resolved", seq=2)])
    hook.mode = "up"
    with caplog.at_level(logging.WARNING, logger="lifeline.alerts.outbox"):
        rounds(outbox, clock, 4)
    assert hook.told == []
    stats = outbox.stats()["hook"]
    assert (stats.expired, stats.withheld, stats.pending) == (1, 1, 0)
    assert "never reached this channel" in caplog.text


def test_a_refused_firing_is_kept_while_its_alert_fires(tmp_path, clock):
    hook = Hook(mode="refusing")
    outbox = make(tmp_path, clock, hook)
    firing = make_notification()
    outbox.refresh_active([firing.alert])
    enqueue(outbox, [firing])
    outbox.deliver_due(wait=True)
    stats = outbox.stats()["hook"]
    assert (stats.failed, stats.untold) == (1, 1)
    hook.mode = "up"
    clock.advance(19)
    outbox.deliver_due(wait=True)
    assert hook.told == []                          # tried again after retry_max (20 s)
    clock.advance(1)
    outbox.deliver_due(wait=True)
    assert hook.told == [("firing", "bb-sw-1")]


def test_a_refused_firing_of_an_alert_no_longer_firing_is_given_up(tmp_path, clock):
    hook = Hook(mode="refusing")
    outbox = make(tmp_path, clock, hook)
    outbox.refresh_active([make_alert("other")])
    enqueue(outbox, [make_notification()])
    outbox.deliver_due(wait=True)
    hook.mode = "up"
    rounds(outbox, clock, 10)
    enqueue(outbox, [make_notification("resolved", seq=2)])
    rounds(outbox, clock, 2)
    assert hook.told == []
    stats = outbox.stats()["hook"]
    assert (stats.failed, stats.untold, stats.withheld) == (1, 0, 1)

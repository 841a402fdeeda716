"""The wall clock stepped under the alert engine and the outbox (issue 12: clock jumps).

Every time they keep is wall-clock epoch seconds. When the agent notices a step of Δ it
moves them all by Δ (`AlertService.clock_jumped`), so each interval keeps its real
length. Here the step is the injected clock moving by Δ with no real time passing, as
libfaketime's step does to the real agent (tests/agent/test_clock_jumps.py).
"""
from __future__ import annotations

import dataclasses
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from alerts.delivery.outbox import Outbox
from alerts.evaluation.state import TIME_FIELDS, TIME_LIST_FIELD, AlertState
from alerts.evaluation.store import Store
from alerts.service import AlertService

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import T0, enqueue, load, make_notification
from kits.alerts_engine import SNMP, ListOutbox, down, sample, up, write_config

HOUR = 3600.0
UPS = "- {id: u, name: UPS, category: ups, poll: " + SNMP + ", thresholds: {ups_for: 20m}}\n"
SWITCH = ("- {id: a, name: Switch a, category: backbone_switch, poll: " + SNMP + "}\n")


def on_battery(clock: FakeClock):  # type: ignore[no-untyped-def]
    return up("u", clock, [sample("ups", {"output_source": 5}, clock)])


def service(tmp_path: Path, devices: str) -> tuple[AlertService, FakeClock, ListOutbox]:
    clock, sink = FakeClock(), ListOutbox()
    svc = AlertService.open(write_config(tmp_path, devices), clock=clock, sink=sink)
    return svc, clock, sink


def step(svc: AlertService, clock: FakeClock, delta: float) -> None:
    """The wall clock stepped by `delta`, and the agent noticing it."""
    clock.advance(delta)
    svc.clock_jumped(delta)


# --- the engine ---------------------------------------------------------------------------

@pytest.mark.parametrize("delta", [HOUR, -HOUR])
def test_a_pending_for_keeps_its_real_length_across_a_step(tmp_path, delta):
    """Stepped forward 1 h, a 20 min `for` that began 10 s before used to fire at once
    (backward: an hour late); it fires 20 real minutes after it began, also when the
    agent restarts in between (the stored state moved too)."""
    svc, clock, sink = service(tmp_path, UPS)
    began = clock().timestamp()
    svc.observe(on_battery(clock))
    clock.advance(10)
    step(svc, clock, delta)
    svc.observe(on_battery(clock))
    svc.tick()
    assert sink.notifications == []
    [state] = svc.engine.states()
    assert state.status == "pending" and state.active_since == began + delta
    svc.close()

    svc = AlertService.open(write_config(tmp_path, UPS), clock=clock, sink=sink)
    clock.advance(20 * 60 - 10 - 1)
    svc.tick()
    assert sink.notifications == []
    clock.advance(1)
    svc.tick()
    assert [n.event for n in sink.notifications] == ["firing"]
    assert sink.notifications[0].alert.starts_at.timestamp() == began + delta
    svc.close()


def test_a_repeat_is_not_sent_early_by_a_forward_step(tmp_path):
    svc, clock, sink = service(tmp_path, SWITCH)
    for _ in range(3):
        svc.observe(down("a", clock))
        clock.advance(60)
    assert [n.event for n in sink.notifications] == ["firing"]
    step(svc, clock, 5 * HOUR)           # the repeat is 4 h
    svc.observe(down("a", clock))
    svc.tick()
    assert [n.event for n in sink.notifications] == ["firing"]
    clock.advance(4 * HOUR - 60)         # 4 real hours after the firing
    svc.observe(down("a", clock))
    svc.tick()
    assert [n.event for n in sink.notifications] == ["firing", "repeat"]
    svc.close()


@pytest.mark.parametrize("delta", [-HOUR, HOUR])
def test_a_silence_keeps_its_real_window_across_a_step(tmp_path, delta):
    """Made for 30 min just before a step back of 1 h, a silence used to stop applying
    (it started "in the future"); forward, it used to end at once."""
    svc, clock, sink = service(tmp_path, SWITCH)
    store = Store.in_dir(tmp_path / "var")
    now = clock().timestamp()
    store.add_silence(["device_id=a"], now, now + 1800, "maintenance", "kim")
    clock.advance(5)
    step(svc, clock, delta)
    for _ in range(4):
        svc.observe(down("a", clock))
        svc.tick()
        clock.advance(60)
    assert sink.notifications == []
    [silence] = store.silences()
    assert (silence.starts, silence.ends) == (now + delta, now + delta + 1800)
    clock.advance(1800 - 5 - 240)          # the silence's real 30 min are over
    svc.tick()
    assert [n.event for n in sink.notifications] == ["firing"]
    store.close()
    svc.close()


def test_the_store_moves_every_time_it_keeps(tmp_path):
    """One UPDATE per table: each time of a stored state (`None` stays `None`), the
    outages, silences and acks; nothing else changes."""
    store = Store.in_dir(tmp_path)
    state = AlertState(fingerprint="f", rule="device_down", kind="outage",
                       severity="critical", device_id="a", status="firing",
                       active_since=100.0, fired_at=200.5, resolved_at=None, last_sent=300.0,
                       changes=[150.0, 200.5], value=42.0, repeat=14400.0, for_seconds=60.0)
    with store.transaction():
        store.save_states([state], 300.0)
        store.open_outage("a", "f", 100.0)
    store.add_silence(["device_id=a"], 10.0, 20.0, "r", "kim")
    store.ack("f", 250.0, "lee", "on it")
    with store.transaction():
        store.shift_times(-HOUR)
    [moved] = store.load_states()
    assert moved == dataclasses.replace(
        state, active_since=100.0 - HOUR, fired_at=200.5 - HOUR, last_sent=300.0 - HOUR,
        changes=[150.0 - HOUR, 200.5 - HOUR])
    assert [(o.started, o.ended) for o in store.outages()] == [(100.0 - HOUR, None)]
    [silence] = store.silences()
    assert (silence.starts, silence.ends, silence.created, silence.removed) == (
        10.0 - HOUR, 20.0 - HOUR, 10.0 - HOUR, None)
    assert store.acks()["f"].at == 250.0 - HOUR
    store.close()


def test_every_time_of_an_alert_state_is_one_the_shift_moves():
    """A time field added to AlertState and not to TIME_FIELDS would stay behind."""
    times = {f.name for f in dataclasses.fields(AlertState)
             if f.type in ("float | None", "list[float]")} - {"value"}
    assert times == {*TIME_FIELDS, TIME_LIST_FIELD}


# --- the outbox -----------------------------------------------------------------------------

CHANNELS = """\
    alerts:
      channels:
        - {name: hook, type: webhook, url: "http://127.0.0.1:9/h", group_wait: 30s,
           group_interval: 60s, retry_initial: 10s, retry_max: 40s, expire_after: 1h}
    """


class Recorder:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def send(self, notifications, group) -> None:  # type: ignore[no-untyped-def]
        self.ids += [n.id for n in notifications]


def outbox(tmp_path: Path) -> tuple[Outbox, FakeClock, Recorder]:
    tmp_path.mkdir(exist_ok=True)
    clock, hook = FakeClock(T0), Recorder()
    return Outbox(tmp_path / "alerts.db", load(tmp_path, CHANNELS), {"hook": hook}, clock), \
        clock, hook


def test_a_group_wait_is_not_released_by_a_forward_step(tmp_path):
    box, clock, hook = outbox(tmp_path)
    enqueue(box, [make_notification()])
    clock.advance(10)
    clock.advance(HOUR)
    box.shift_times(HOUR)
    box.deliver_due(wait=True)
    assert hook.ids == []                  # 20 s of its 30 s group_wait are left
    clock.advance(20)
    box.deliver_due(wait=True)
    assert hook.ids == [make_notification().id]


def test_a_waiting_row_neither_expires_nor_waits_an_hour_more_across_a_step(tmp_path):
    """expire_after is 1 h: forward, a row queued 10 min ago used to expire at once;
    backward, a group's group_interval used to last an hour longer."""
    box, clock, hook = outbox(tmp_path)
    enqueue(box, [make_notification(seq=1)])
    clock.advance(30)
    box.deliver_due(wait=True)
    enqueue(box, [make_notification(seq=2)])     # waits group_interval after the send
    clock.advance(-HOUR)
    box.shift_times(-HOUR)
    clock.advance(60)
    box.deliver_due(wait=True)
    assert hook.ids == [make_notification(seq=n).id for n in (1, 2)]

    box2, clock2, hook2 = outbox(tmp_path / "forward")
    enqueue(box2, [make_notification(seq=3)])
    clock2.advance(600)
    clock2.advance(HOUR)
    box2.shift_times(HOUR)
    box2.deliver_due(wait=True)
    assert hook2.ids == [make_notification(seq=3).id]
    with closing(sqlite3.connect(box2.db_path)) as conn:
        assert conn.execute("SELECT state, enqueued FROM delivery_outbox").fetchall() == [
            ("delivered", T0.timestamp() + HOUR)]

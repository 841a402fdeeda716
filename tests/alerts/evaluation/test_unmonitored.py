"""Alerts of devices no longer watched end: retired, removed from the inventory, or (for
every rule but lifecycle) no longer polled. On reload, at engine start and with the daily
lifecycle evaluation: a `resolved` saying why, the outage closed, the rows deleted.
Real SQLite store, injected clock, list sink."""
from __future__ import annotations

import pytest

from alerts.evaluation.report import read_alerts
from alerts.evaluation.unmonitored import UNMONITORED

from kits.alerts_engine import SNMP, FakeClock, Rig, down, write_config

OLD = "category: backbone_switch, criticality: high, acquired: 2010-01-01"


def switch(id_: str, *, polled: bool = True, extra: str = "") -> str:
    poll = f", poll: {SNMP}" if polled else ""
    return f"- {{id: {id_}, name: Switch {id_.upper()}, {OLD}{poll}{extra}}}\n"


@pytest.fixture
def firing(tmp_path) -> Rig:
    """Switch `a` firing an outage and a lifecycle alert, switch `b` healthy."""
    rig = Rig(write_config(tmp_path, switch("a") + switch("b")), FakeClock())
    rig.engine.evaluate_lifecycle()
    rig.poll(down, ["a"], rounds=4)
    assert sorted(rig.events()) == [("firing", "device_down", "a"),
                                    ("firing", "lifecycle_exceeded", "a"),
                                    ("firing", "lifecycle_exceeded", "b")]
    assert rig.store.outages("a")[0].ended is None
    return rig


def reload(rig: Rig, tmp_path, devices: str) -> None:
    """The operator edits the inventory and reloads (SIGHUP); a restart keeps it."""
    rig.config = write_config(tmp_path, devices)
    rig.engine.reload(rig.config)


def rows(rig: Rig, device_id: str) -> list[str]:
    return sorted(r[0] for r in rig.store.conn.execute(
        "SELECT rule FROM alert_state WHERE device_id = ?", (device_id,)))


def later(rig: Rig, days: int) -> None:
    """`days` of 10-minute ticks and daily lifecycle evaluations, no polls."""
    for step in range(days * 144):
        rig.clock.advance(600)
        rig.engine.tick()
        if step % 144 == 0:
            rig.engine.evaluate_lifecycle()


def test_a_retired_device_resolves_everything_once_and_stays_quiet(firing, tmp_path):
    n = len(firing.sent())
    reload(firing, tmp_path, switch("a", extra=", retired: 2026-03-01") + switch("b"))
    ended = firing.sent()[n:]
    assert sorted((x.event, x.alert.rule, x.alert.device_id) for x in ended) == [
        ("resolved", "device_down", "a"), ("resolved", "lifecycle_exceeded", "a")]
    for notice in ended:
        assert notice.alert.description == UNMONITORED["retired"][0]
        assert "감시하지 않음" in notice.alert.description_ko
        assert notice.alert.ends_at == firing.clock()
        assert notice.alert.labels["device_name"] == "Switch A"
    assert firing.store.outages("a")[0].ended == firing.clock().timestamp()
    assert rows(firing, "a") == [] and rows(firing, "b") == ["lifecycle_exceeded"]

    later(firing, 40)                   # repeat was 4 h (outage) and monthly (lifecycle)
    firing.restart()
    firing.engine.evaluate_lifecycle()
    assert [x.alert.device_id for x in firing.sent()[n + 2:]] == ["b"]   # b's monthly repeat


def test_a_poll_in_flight_when_the_device_was_retired_is_ignored(firing, tmp_path):
    reload(firing, tmp_path, switch("a", extra=", retired: 2026-03-01") + switch("b"))
    n = len(firing.sent())
    firing.poll(down, ["a"], rounds=4)
    assert firing.sent()[n:] == [] and rows(firing, "a") == []


def test_the_retirement_date_coming_ends_the_alerts_at_the_daily_evaluation(firing, tmp_path):
    reload(firing, tmp_path, switch("a", extra=", retired: 2026-03-05") + switch("b"))
    n = len(firing.sent())
    later(firing, 2)
    assert "resolved" not in [x.event for x in firing.sent()[n:]]
    later(firing, 2)
    assert sorted((x.event, x.alert.rule) for x in firing.sent()[n:] if x.event == "resolved"
                  ) == [("resolved", "device_down"), ("resolved", "lifecycle_exceeded")]
    assert rows(firing, "a") == []


def test_a_device_removed_from_the_inventory_resolves_with_the_labels_it_fired_with(
        firing, tmp_path):
    n = len(firing.sent())
    reload(firing, tmp_path, switch("b"))
    ended = firing.sent()[n:]
    assert sorted((x.event, x.alert.rule) for x in ended) == [
        ("resolved", "device_down"), ("resolved", "lifecycle_exceeded")]
    fired = {x.alert.rule: x.alert.labels for x in firing.sent()[:n] if x.alert.device_id == "a"}
    for notice in ended:
        assert notice.alert.labels == fired[notice.alert.rule]
        assert notice.alert.description == UNMONITORED["removed"][0]
    assert firing.store.outages("a")[0].ended is not None and rows(firing, "a") == []
    later(firing, 1)
    assert len(firing.sent()) == n + 2


def test_a_device_removed_while_the_agent_was_stopped_resolves_at_start(firing, tmp_path):
    n = len(firing.sent())
    firing.store.close()
    firing.config = write_config(tmp_path, switch("b"))
    firing.clock.advance(3600)
    firing.restart()                    # a new engine on the same database, new config
    ended = firing.sent()[n:]
    assert sorted((x.event, x.alert.rule, x.alert.labels["device_name"]) for x in ended) == [
        ("resolved", "device_down", "Switch A"), ("resolved", "lifecycle_exceeded", "Switch A")]
    assert all(x.alert.ends_at == firing.clock() for x in ended)
    assert firing.store.outages("a")[0].ended == firing.clock().timestamp()
    assert rows(firing, "a") == []


def test_a_device_no_longer_polled_resolves_its_outage_but_keeps_its_lifecycle_alert(
        firing, tmp_path):
    n = len(firing.sent())
    reload(firing, tmp_path, switch("a", polled=False) + switch("b"))
    assert [(x.event, x.alert.rule) for x in firing.sent()[n:]] == [
        ("resolved", "device_down")]
    assert firing.sent()[n].alert.description_ko == UNMONITORED["unpolled"][1]
    assert firing.store.outages("a")[0].ended is not None
    assert rows(firing, "a") == ["lifecycle_exceeded"]
    later(firing, 1)
    firing.engine.evaluate_lifecycle()
    assert len(firing.sent()) == n + 1          # the lifecycle alert neither resolves nor refires


def test_an_acknowledged_alert_of_a_retired_device_loses_its_ack(firing, tmp_path):
    [outage] = [x for x in firing.sent() if x.alert.rule == "device_down"]
    firing.store.ack(outage.alert.fingerprint, firing.clock().timestamp(), "kim", "on it")
    firing.engine.tick()
    reload(firing, tmp_path, switch("a", extra=", retired: 2026-03-01") + switch("b"))
    assert firing.store.acks() == {}


def test_listing_beside_the_agent_leaves_the_ending_and_its_recovery_to_the_agent(
        firing, tmp_path):
    """`lifeline alerts list` under an edited inventory: a's alerts are not shown, but
    neither ended nor deleted there (their recoveries would be lost): the agent ends them
    at its reload and tells the recoveries."""
    n = len(firing.sent())
    edited = write_config(tmp_path, switch("b"))
    listed = read_alerts(edited, firing.store, firing.clock())
    assert [f.device_id for f in listed.status.firing] == ["b"]
    assert rows(firing, "a") == ["device_down", "lifecycle_exceeded"]
    assert firing.store.outages("a")[0].ended is None
    reload(firing, tmp_path, switch("b"))
    assert sorted((x.event, x.alert.rule) for x in firing.sent()[n:]) == [
        ("resolved", "device_down"), ("resolved", "lifecycle_exceeded")]

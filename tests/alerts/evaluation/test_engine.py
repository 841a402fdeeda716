"""The engine on a real SQLite store with an injected clock and a list sink."""
from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime

import pytest

from alerts.evaluation.state import fingerprint

from kits.alerts_engine import SEOUL, SNMP, FakeClock, Rig, down, sample, up, write_config


def devices(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def sw(id_: str, parent: str | None = None, **extra: str) -> str:
    more = "".join(f", {k}: {v}" for k, v in extra.items())
    return (f"- {{id: {id_}, name: Switch {id_}, category: backbone_switch, criticality: high"
            f"{', parent: ' + parent if parent else ''}, poll: {SNMP}{more}}}")


@pytest.fixture
def rig(tmp_path):
    def make(devs: str, alerts: str = "", start: datetime | None = None) -> Rig:
        return Rig(write_config(tmp_path, devs, alerts), FakeClock(start))
    return make


def test_outage_fires_after_three_polls_once_and_recovers(rig):
    r = rig(devices(sw("a")))
    r.poll(down, ["a"], rounds=2)
    assert r.events() == []
    r.poll(down, ["a"], rounds=5)
    assert r.events() == [("firing", "device_down", "a")]
    alert = r.sent()[0].alert
    assert alert.labels["site"] == "" and alert.labels["criticality"] == "high"
    assert alert.starts_at.tzinfo is not None
    r.poll(up, ["a"])
    assert r.events()[-1] == ("resolved", "device_down", "a")
    assert r.sent()[-1].alert.ends_at is not None
    assert len({n.id for n in r.sent()}) == 2


def test_outage_polls_threshold_per_category(rig):
    r = rig(devices(sw("a")),
            "thresholds:\n  categories:\n    backbone_switch: {outage_polls: 5}\n")
    r.poll(down, ["a"], rounds=4)
    assert r.events() == []
    r.poll(down, ["a"])
    assert r.events() == [("firing", "device_down", "a")]


def test_repeat_every_four_hours_not_every_poll(rig):
    r = rig(devices(sw("a")))
    r.poll(down, ["a"], every=600, rounds=3 + 4 * 6)     # 4.5 h of 10-minute polls
    assert [e for e, _, _ in r.events()] == ["firing", "repeat"]


def test_backbone_down_one_alert_children_suppressed_and_counted(rig):
    children = [sw(f"wg{i}", parent="core") for i in range(83)]
    r = rig(devices(sw("core"), *children))
    ids = [f"wg{i}" for i in range(83)] + ["core"]       # children polled before the parent
    r.poll(down, ids, rounds=4)
    assert r.events() == [("firing", "device_down", "core")]
    alert = r.sent()[0].alert
    assert len(alert.suppressed) == 83
    assert "83 devices behind it unreachable" in alert.summary
    assert "하위 장비 83대" in alert.summary_ko
    status = r.engine.status().counts
    assert status.firing == 84 and status.suppressed == 83
    r.poll(up, ["core", *ids[:-1]])
    assert r.events()[1:] == [("resolved", "device_down", "core")]   # no orphan recoveries


def test_child_polled_before_parent_is_held_until_parent_heard(rig):
    r = rig(devices(sw("core"), sw("edge", parent="core")))
    r.poll(down, ["edge"], rounds=3)            # the parent was not polled at all yet
    assert r.events() == []
    r.poll(down, ["core"])                      # now the parent is down: edge suppressed
    r.poll(down, ["edge", "core"], rounds=2)
    assert r.events() == [("firing", "device_down", "core")]


def test_child_fires_on_its_own_when_parent_answers(rig):
    r = rig(devices(sw("core"), sw("edge", parent="core")))
    r.poll(down, ["edge"], rounds=3)
    assert r.events() == []
    r.poll(up, ["core"])
    r.engine.tick()
    assert r.events() == [("firing", "device_down", "edge")]


def test_child_still_down_after_parent_recovers_is_told_after_its_own_polls(rig):
    """Issue 13 (3): suppressed until it failed its own outage_polls after the parent
    came back, not at its first poll since."""
    r = rig(devices(sw("core"), sw("edge", parent="core")))
    r.poll(down, ["edge", "core"], rounds=3)
    r.poll(up, ["core"])
    assert r.events()[-1] == ("resolved", "device_down", "core")
    r.poll(down, ["edge"], rounds=2)
    assert r.events()[-1] == ("resolved", "device_down", "core")
    assert r.engine.status().counts.suppressed == 1
    r.poll(down, ["edge"])
    assert r.events()[-1] == ("firing", "device_down", "edge")


def test_child_answering_soon_after_its_parent_raises_nothing(rig):
    r = rig(devices(sw("core"), *(sw(f"e{i}", parent="core") for i in range(5))))
    children = [f"e{i}" for i in range(5)]
    r.poll(down, [*children, "core"], rounds=4)
    r.poll(up, ["core"])
    r.poll(down, children, rounds=2)            # under their threshold of 3
    r.poll(up, children)
    assert r.events() == [("firing", "device_down", "core"),
                          ("resolved", "device_down", "core")]


def test_kiosk_down_at_23_raises_nothing_and_alerts_at_11(rig):
    kiosk = ("- {id: kiosk1, name: Kiosk 1, category: kiosk, operating_hours: 'daily 10:00-22:00',"
             f" poll: {SNMP}}}")
    r = rig(devices(kiosk), start=datetime(2026, 3, 2, 23, 0, tzinfo=SEOUL))
    r.poll(down, ["kiosk1"], every=300, rounds=12 * 11)     # 23:00 -> 10:00, every 5 min
    assert r.events() == []
    assert r.clock().hour == 10
    r.poll(down, ["kiosk1"], every=300, rounds=12)          # until 11:00
    assert r.events() == [("firing", "device_down", "kiosk1")]
    assert r.sent()[0].created.hour == 10                   # at opening, not later
    history = r.store.outages("kiosk1")
    assert len(history) == 1 and history[0].ended is None


def test_kiosk_answering_overnight_is_not_an_outage_after_opening_failure(rig):
    kiosk = ("- {id: k, name: Kiosk, category: kiosk, operating_hours: 'daily 10:00-22:00',"
             f" poll: {SNMP}}}")
    r = rig(devices(kiosk), start=datetime(2026, 3, 2, 21, 58, tzinfo=SEOUL))
    r.poll(down, ["k"], rounds=2)                 # 21:58, 21:59: pending
    r.poll(down, ["k"], rounds=3)                 # 22:00.. closed: do not count
    r.clock.set(datetime(2026, 3, 3, 9, 58, tzinfo=SEOUL))
    r.poll(up, ["k"], rounds=2)
    r.poll(down, ["k"], rounds=2)                 # 10:00, 10:01: only two counted
    assert r.events() == []


def test_restart_sends_nothing_twice_and_still_recovers(rig):
    r = rig(devices(sw("a"), sw("b")))
    r.poll(down, ["a"], rounds=3)
    r.poll(down, ["b"], rounds=2)                 # b pending with 2 polls
    assert r.events() == [("firing", "device_down", "a")]
    r.restart()
    r.sink.notifications.clear()
    r.poll(down, ["a"], rounds=3)
    assert r.events() == []                       # already told
    r.poll(down, ["b"])                           # the pending count survived: 3rd poll
    assert r.events() == [("firing", "device_down", "b")]
    r.poll(up, ["a", "b"])
    assert sorted(r.events()[1:]) == [("resolved", "device_down", "a"),
                                      ("resolved", "device_down", "b")]


def test_silence_and_ack_through_the_store(rig):
    r = rig(devices(sw("a"), sw("b")))
    now = r.clock().timestamp()
    r.store.add_silence(["device_id=a"], now, now + 7200, "maintenance", "kim")
    r.engine.tick()
    r.poll(down, ["a", "b"], rounds=3)
    assert r.events() == [("firing", "device_down", "b")]
    r.store.ack(fingerprint("device_down", "b"), now, "lee", "working on it")
    r.poll(down, ["a", "b"], every=600, rounds=45)  # 7.5 h: the silence ends at 2 h, b acked
    assert r.events() == [("firing", "device_down", "b"), ("firing", "device_down", "a"),
                          ("repeat", "device_down", "a")]
    r.poll(up, ["a", "b"])
    assert r.events()[-2:] == [("resolved", "device_down", "a"),
                               ("resolved", "device_down", "b")]
    assert r.store.acks() == {}                   # an ack lasts one episode


def test_flapping_device_one_notice_then_final_recovery(rig):
    r = rig(devices(sw("a")))
    for _ in range(5):
        r.poll(down, ["a"], rounds=3)
        r.poll(up, ["a"])
    told = [e for e, _, _ in r.events()]
    assert told == ["firing", "resolved", "firing", "resolved", "firing"]
    assert r.sent()[-1].alert.flapping
    r.poll(up, ["a"], every=600, rounds=4)        # stable for 40 minutes
    assert [e for e, _, _ in r.events()][-1] == "resolved"
    assert len(r.sent()) == 6


def test_outage_history_counts_and_durations(rig):
    r = rig(devices(sw("a")))
    for _ in range(2):
        r.poll(down, ["a"], rounds=4)
        r.poll(up, ["a"], every=3600)
    history = r.store.outages("a")
    assert [round(o.ended - o.started) for o in history] == [240, 240]
    assert r.store.outage_counts(0) == {"a": 2}


def test_lifecycle_alert_once_then_monthly(rig):
    old = ("- {id: old, name: Old switch, category: backbone_switch, acquired: 2008-03-01,"
           " support_ends: 2020-12-31}")
    r = rig(devices(old))
    r.engine.evaluate_lifecycle()
    r.poll(up, [], rounds=1)
    assert sorted(r.events()) == [("firing", "lifecycle_exceeded", "old"),
                                  ("firing", "support_ended", "old")]
    for _ in range(29):
        r.clock.advance(86400)
        r.engine.evaluate_lifecycle()
        r.engine.tick()
    assert len(r.sent()) == 2
    r.clock.advance(86400)
    r.engine.tick()
    assert sorted(e for e, _, _ in r.events()[2:]) == ["repeat", "repeat"]


def test_one_assets_impossible_date_does_not_stop_the_others(rig, caplog):
    # Validation refuses such a date now (config/dates.py); a Device built some other way
    # still must not switch off lifecycle alerts for the whole inventory.
    old = ("- {id: old, name: Old switch, category: backbone_switch, acquired: 2008-03-01,"
           " support_ends: 2020-12-31}")
    odd = "- {id: odd, name: Odd switch, category: backbone_switch, acquired: 2010-01-01}"
    r = rig(devices(odd, old))
    broken = dataclasses.replace(r.config.device("odd"), acquired=date(9999, 12, 31))
    r.engine.reload(dataclasses.replace(r.config, devices=(broken, r.config.device("old"))))
    caplog.set_level(logging.DEBUG, "lifeline.alerts")
    for _ in range(3):
        r.engine.evaluate_lifecycle()
        r.clock.advance(86400)
    r.poll(up, [], rounds=1)
    assert sorted(r.events()) == [("firing", "lifecycle_exceeded", "old"),
                                  ("firing", "support_ended", "old")]
    failures = [rec for rec in caplog.records if rec.levelno >= logging.WARNING]
    assert len(failures) == 1 and failures[0].device_id == "odd"
    assert failures[0].exc_info is None


def test_time_based_rule_fires_from_tick(rig):
    r = rig(devices("- {id: u, name: UPS, category: ups, poll: " + SNMP + "}"))
    r.engine.observe(up("u", r.clock, [sample("ups", {"output_source": 5}, r.clock)]))
    assert r.events() == []
    r.clock.advance(31)
    r.engine.tick()
    assert r.events() == [("firing", "ups_on_battery", "u")]


def test_a_short_power_blip_is_debounced(rig):
    r = rig(devices("- {id: u, name: UPS, category: ups, poll: " + SNMP + "}"))
    r.engine.observe(up("u", r.clock, [sample("ups", {"output_source": 5}, r.clock)]))
    r.clock.advance(20)
    r.engine.observe(up("u", r.clock, [sample("ups", {"output_source": 3}, r.clock)]))
    r.clock.advance(60)
    r.engine.tick()
    assert r.events() == []


def test_unreachable_ups_keeps_its_battery_alert(rig):
    r = rig(devices("- {id: u, name: UPS, category: ups, poll: " + SNMP + "}"))
    r.engine.observe(up("u", r.clock, [sample("ups", {"output_source": 5}, r.clock)]))
    r.clock.advance(60)
    r.engine.observe(up("u", r.clock, [sample("ups", {"output_source": 5}, r.clock)]))
    r.engine.observe(down("u", r.clock))
    assert r.events() == [("firing", "ups_on_battery", "u")]


def test_sink_failure_rolls_back_and_nothing_is_lost(rig):
    r = rig(devices(sw("a")))

    class Broken:
        def enqueue(self, conn, notifications):
            raise RuntimeError("disk full")

    r.poll(down, ["a"], rounds=2)
    r.engine.set_sink(Broken())
    with pytest.raises(RuntimeError):
        r.engine.observe(down("a", r.clock))
    r.engine.set_sink(r.sink)
    r.engine.observe(down("a", r.clock))
    assert r.events() == [("firing", "device_down", "a")]


def test_thresholds_in_the_config_per_device_and_typos_located(tmp_path):
    from config.errors import ConfigError

    config = write_config(
        tmp_path, devices(sw("a", thresholds="{disk_percent: 95, cpu_for: 10m}")),
        "thresholds: {repeat: 2h, categories: {backbone_switch: {mem_percent: 80}}}\n")
    rig = Rig(config, FakeClock())
    t = rig.engine.thresholds(config.device("a"))
    assert (t.disk_percent, t.cpu_for, t.repeat, t.mem_percent) == (95, 600, 7200, 80)
    with pytest.raises(ConfigError) as error:
        write_config(tmp_path, devices(sw("b", thresholds="{disk_precent: 95}")))
    assert "lifeline.yaml:" in str(error.value) and "disk_precent" in str(error.value)

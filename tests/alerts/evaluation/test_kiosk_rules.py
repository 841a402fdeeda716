"""Kiosk health rules: paper out, printer error, card reader fault are outages of a kiosk,
gated by its opening hours; toner low is a warning. Pure rules on hand-built points, the
engine with an injected clock, and one end-to-end check polling the real HTTP kiosk peer."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from alerts.evaluation import rules
from alerts.evaluation.thresholds import Thresholds
from collectors.base import PollResult, ResultCode, Sample
from collectors.http.collector import HttpCollector
from inventory.model import Device, PollSpec

from kits.alerts_engine import SEOUL, FakeClock, Rig, up, write_config
from peers.http import HttpPeer, default_health, start_http_peer
from peers.snmp import stop

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=SEOUL)        # a Monday
NIGHT = datetime(2026, 3, 2, 23, 30, tzinfo=SEOUL)
T = Thresholds()
OK_TAGS = {"printer_paper": "ok", "card_reader_state": "ok"}
OK_FIELDS = {"printer_paper_level": 80, "printer_toner_level": 55, "card_reader_ok": 1}


def kiosk(hours: str | None = "daily 10:00-22:00", **kw: Any) -> Device:
    return Device(id="k1", name="Kiosk 1", category="kiosk", operating_hours=hours,
                  poll=PollSpec(protocol="http", url="http://127.0.0.1:1/health"), **kw)


def health(at: datetime = NOON, tags: dict | None = None, **fields: Any) -> PollResult:
    point = Sample("kiosk", {**OK_TAGS, **(tags or {})}, {**OK_FIELDS, **fields}, at)
    return PollResult(device_id="k1", code=ResultCode.SUCCESS, started=at, duration=0.1,
                      samples=(point,))


def active(ev: rules.Evaluation) -> dict[str, rules.Condition]:
    return {c.rule: c for c in ev.active}


def evaluate(result: PollResult, device: Device | None = None, at: datetime = NOON
             ) -> rules.Evaluation:
    return rules.poll(result, device or kiosk(), T, at, SEOUL)


# --- the rules as pure functions -----------------------------------------------------------

def test_a_healthy_kiosk_raises_nothing_and_checks_every_kiosk_rule() -> None:
    ev = evaluate(health())
    assert ev.active == ()
    assert set(rules.KIOSK_OUTAGE_RULES) | {"kiosk_toner_low"} <= ev.checked


@pytest.mark.parametrize("tags, fields, rule", [
    ({"printer_paper": "out"}, {}, "kiosk_paper_out"),
    ({"printer_paper": "EMPTY"}, {}, "kiosk_paper_out"),
    ({}, {"printer_paper_level": 0}, "kiosk_paper_out"),
    ({"printer_state": "jam"}, {}, "kiosk_printer_error"),
    ({"printer_status": "offline"}, {}, "kiosk_printer_error"),
    ({}, {"printer_error": 1}, "kiosk_printer_error"),
    ({"card_reader_state": "error"}, {}, "kiosk_card_reader_fault"),
    ({}, {"card_reader_ok": 0}, "kiosk_card_reader_fault"),
])
def test_each_fault_is_an_outage_of_the_kiosk(tags: dict, fields: dict, rule: str) -> None:
    found = active(evaluate(health(tags=tags, **fields)))
    assert set(found) == {rule}
    condition = found[rule]
    assert condition.kind == "outage" and condition.for_seconds == T.kiosk_for
    assert condition.severity.value == "warning"            # a normal-criticality kiosk
    assert condition.repeat == T.outage_repeat


def test_severity_follows_criticality() -> None:
    from inventory.model import Criticality
    ev = evaluate(health(tags={"printer_paper": "out"}), kiosk(criticality=Criticality.HIGH))
    assert active(ev)["kiosk_paper_out"].severity.value == "critical"


def test_paper_low_is_not_out_and_toner_low_is_a_warning() -> None:
    found = active(evaluate(health(tags={"printer_paper": "low"}, printer_paper_level=5,
                                   printer_toner_level=4)))
    assert set(found) == {"kiosk_toner_low"}
    assert found["kiosk_toner_low"].kind == "kiosk" and found["kiosk_toner_low"].value == 4


def test_closed_kiosk_with_a_fault_leaves_it_unchecked_but_a_cleared_fault_clears() -> None:
    out = evaluate(health(NIGHT, tags={"printer_paper": "out"}), at=NIGHT)
    assert out.active == () and "kiosk_paper_out" not in out.checked
    fine = evaluate(health(NIGHT), at=NIGHT)
    assert "kiosk_paper_out" in fine.checked


def test_unreachable_kiosk_leaves_the_health_rules_as_they_were() -> None:
    down = PollResult(device_id="k1", code=ResultCode.TIMEOUT, started=NOON, duration=2.0)
    ev = evaluate(down)
    assert not set(rules.KIOSK_OUTAGE_RULES) & ev.checked


# --- through the engine: for, hours, recovery ---------------------------------------------

KIOSK_YAML = ("- {id: k1, name: Kiosk 1, category: kiosk, operating_hours: 'daily 10:00-22:00',"
              " poll: {protocol: http, url: 'http://127.0.0.1:1/health'}}\n")


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    config = write_config(tmp_path, KIOSK_YAML, "thresholds: {kiosk_for: 2m}\n")
    return Rig(config, FakeClock(NOON))


def _paper(clock: FakeClock, paper: str) -> PollResult:
    point = Sample("kiosk", {**OK_TAGS, "printer_paper": paper}, dict(OK_FIELDS), clock())
    return up("k1", clock, [point])


def test_paper_out_fires_after_kiosk_for_and_resolves_when_refilled(rig: Rig) -> None:
    rig.engine.observe(_paper(rig.clock, "out"))
    rig.clock.advance(60)
    rig.engine.observe(_paper(rig.clock, "out"))
    assert rig.sent() == []                                  # 60 s < kiosk_for 2 m
    rig.clock.advance(60)
    rig.engine.tick()
    assert rig.events() == [("firing", "kiosk_paper_out", "k1")]
    assert rig.sent()[0].alert.kind == "outage"
    rig.clock.advance(60)
    rig.engine.observe(_paper(rig.clock, "ok"))
    assert rig.events()[-1] == ("resolved", "kiosk_paper_out", "k1")


def test_paper_out_after_closing_raises_nothing_overnight_and_fires_after_opening(rig: Rig
                                                                                  ) -> None:
    rig.clock.set(datetime(2026, 3, 2, 21, 59, tzinfo=SEOUL))
    rig.engine.observe(_paper(rig.clock, "out"))            # pending, one minute before closing
    for _ in range(20):                                      # through the night, polled hourly
        rig.clock.advance(1800)
        rig.engine.tick()
        rig.engine.observe(_paper(rig.clock, "out"))
    assert rig.clock().hour == 7 and rig.sent() == []
    rig.clock.set(datetime(2026, 3, 3, 10, 0, 30, tzinfo=SEOUL))
    rig.engine.tick()
    rig.engine.observe(_paper(rig.clock, "out"))
    assert rig.sent() == []                                  # counting restarted at opening
    rig.clock.advance(120)
    rig.engine.tick()
    [notice] = rig.sent()
    assert notice.event == "firing" and notice.alert.rule == "kiosk_paper_out"
    assert notice.created >= datetime(2026, 3, 3, 10, 2, tzinfo=SEOUL)


def test_a_firing_fault_stays_firing_while_closed_without_repeats(rig: Rig) -> None:
    rig.clock.set(datetime(2026, 3, 2, 21, 0, tzinfo=SEOUL))
    rig.engine.observe(_paper(rig.clock, "out"))
    rig.clock.advance(180)
    rig.engine.tick()
    assert [e for e, *_ in rig.events()] == ["firing"]
    for _ in range(12):                                      # 22:00 .. 10:00, past outage_repeat
        rig.clock.advance(3600)
        rig.engine.observe(_paper(rig.clock, "out"))
        rig.engine.tick()
    assert [e for e, *_ in rig.events()] == ["firing"]       # no repeat, no false recovery


# --- end to end: the real kiosk HTTP peer, the HTTP collector, the rule -------------------

@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpPeer]:
    server = start_http_peer(tmp_path_factory.mktemp("kiosk-peer"))
    yield server
    stop(server.proc)


def _poll(device: Device) -> PollResult:
    async def run() -> PollResult:
        collector = HttpCollector({})
        try:
            return await collector.collect(device)
        finally:
            await collector.aclose()

    return asyncio.run(run())


@pytest.mark.peer
def test_paper_out_reported_by_a_real_kiosk_health_endpoint(peer: HttpPeer) -> None:
    device = Device(id="k1", name="Kiosk 1", category="kiosk", operating_hours="24h",
                    poll=PollSpec(protocol="http", url=f"{peer.http}/health", profile="kiosk",
                                  timeout=2.0, retries=0))
    now = datetime.now(SEOUL)
    assert active(rules.poll(_poll(device), device, T, now, SEOUL)) == {}
    bad = default_health()
    bad["printer"]["paper"] = "out"
    bad["card_reader"] = {"state": "error", "ok": False}
    requests.post(f"{peer.http}/health", data=json.dumps(bad), timeout=5).raise_for_status()
    try:
        found = active(rules.poll(_poll(device), device, T, now + timedelta(seconds=1), SEOUL))
    finally:
        requests.post(f"{peer.http}/health", data=json.dumps(default_health()),
                      timeout=5).raise_for_status()
    assert set(found) == {"kiosk_paper_out", "kiosk_card_reader_fault"}

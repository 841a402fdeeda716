"""Ping rules as pure functions: sustained packet loss and latency warn; every echo lost
is an unreachable result, and so `device_down` (counted like any failed poll)."""
from __future__ import annotations

from datetime import datetime

from alerts.evaluation import rules
from alerts.evaluation.thresholds import Thresholds
from alerts.model import Severity
from collectors.base import PollResult, ResultCode, Sample
from inventory.model import Device, PollSpec

from kits.alerts_engine import SEOUL

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=SEOUL)
T = Thresholds()
CAMERA = Device(id="cam-1", name="CCTV 1", category="cctv_camera",
                poll=PollSpec(protocol="icmp", address="127.0.0.5"))


def pinged(code: ResultCode = ResultCode.SUCCESS, **fields: float) -> PollResult:
    sample = Sample("ping", {"device_id": "cam-1", "url": "127.0.0.5"},
                    {"result_code": 0, **fields}, NOW)
    return PollResult(device_id="cam-1", code=code, started=NOW, duration=2.0,
                      samples=(sample,))


def active(result: PollResult, t: Thresholds = T) -> dict[str, rules.Condition]:
    evaluation = rules.poll(result, CAMERA, t, NOW, SEOUL)
    assert {"ping_packet_loss", "ping_latency_high"} <= evaluation.checked or not \
        result.reachable
    return {c.rule: c for c in evaluation.active}


def test_a_clean_ping_checks_both_rules_and_raises_nothing() -> None:
    assert active(pinged(percent_packet_loss=0.0, average_response_ms=0.4)) == {}


def test_loss_over_the_threshold_warns_after_ping_for() -> None:
    found = active(pinged(percent_packet_loss=66.667, average_response_ms=1.0))
    assert set(found) == {"ping_packet_loss"}
    loss = found["ping_packet_loss"]
    assert loss.severity is Severity.WARNING and loss.kind == "ping"
    assert loss.for_seconds == T.ping_for == 300.0 and loss.value == 66.667
    assert "67% of echo requests lost" in loss.summary


def test_latency_over_the_threshold_warns() -> None:
    found = active(pinged(percent_packet_loss=0.0, average_response_ms=350.0),
                   Thresholds(ping_latency_ms=300.0, ping_for=60.0))
    assert set(found) == {"ping_latency_high"}
    assert found["ping_latency_high"].for_seconds == 60.0


def test_every_echo_lost_is_device_down_and_leaves_the_loss_rule_alone() -> None:
    evaluation = rules.poll(pinged(ResultCode.TIMEOUT, percent_packet_loss=100.0),
                            CAMERA, T, NOW, SEOUL)
    assert [c.rule for c in evaluation.active] == [rules.OUTAGE]
    assert "ping_packet_loss" not in evaluation.checked

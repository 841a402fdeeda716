"""Webhook channel against a real ThreadingHTTPServer on loopback."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.delivery.channels import build_channels
from alerts.delivery.outbox import Outbox
from alerts.model import DeliveryError

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import T0, enqueue, load, make_notification
from peers.webhook import WebhookPeer, running_webhook

TOKEN = "s3cr3t-hook-token"


@pytest.fixture
def peer() -> Iterator[WebhookPeer]:
    with running_webhook() as peer:
        yield peer


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LL_TEST_HOOK_TOKEN", TOKEN)


def channel(tmp_path: Path, url: str, extra: str = "", timeout: str = "1s"):
    config = load(tmp_path, f"""\
        alerts:
          channels:
            - {{name: hook, type: webhook, url: "{url}", token_env: LL_TEST_HOOK_TOKEN,
               headers: {{X-Team: noc}}, timeout: {timeout}, group_wait: 0s{extra}}}
        """)
    return config, build_channels(config, FakeClock(T0))["hook"]


def test_json_body_as_documented(tmp_path, peer):
    _, hook = channel(tmp_path, peer.url())
    firing = make_notification(device_id="sw-1", instance="Gi0/1", value=97.5)
    resolved = make_notification("resolved", device_id="sw-2")
    hook.send([firing, resolved], {"kind": "outage", "site": "district-hall"})
    [request] = peer.received
    assert request.path == "/hook"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Team"] == "noc" and len(request.headers["Idempotency-Key"]) == 32
    body = request.body
    assert (body["version"], body["receiver"], body["status"]) == ("1", "hook", "firing")
    assert body["groupLabels"] == {"kind": "outage", "site": "district-hall"}
    assert body["commonLabels"]["category"] == "backbone_switch"
    assert "device_id" not in body["commonLabels"]
    assert body["deliveryId"] == request.headers["Idempotency-Key"]
    first, second = body["alerts"]
    assert first["labels"]["instance"] == "Gi0/1" and first["labels"]["rule"] == "device_down"
    assert first["annotations"] == {
        "summary": "sw-1 응답 없음",
        "description": "장비가 수집 요청에 응답하지 않습니다. 전원, 케이블, 상위 장비를 확인하세요."
                       " 3회 연속 무응답"}
    assert (first["status"], first["event"], first["value"]) == ("firing", "firing", 97.5)
    assert first["startsAt"] == "2024-05-02T09:00:00+09:00" and first["endsAt"] is None
    assert first["fingerprint"] == "fp-device_down-sw-1"
    assert first["notificationId"] == firing.id
    assert (second["status"], second["endsAt"]) == ("resolved", "2024-05-02T09:12:00+09:00")


def test_english_and_a_resolved_group(tmp_path, peer):
    _, hook = channel(tmp_path, peer.url(), ", lang: en")
    hook.send([make_notification("resolved")], {"kind": "outage"})
    body = peer.received[0].body
    assert body["status"] == "resolved"
    assert body["alerts"][0]["annotations"]["summary"] == "bb-sw-1 is unreachable"
    assert body["title"] == "[Lifeline] RESOLVED: bb-sw-1 name: answering again"


def test_slack_body(tmp_path, peer):
    _, hook = channel(tmp_path, peer.url(), ", format: slack")
    hook.send([make_notification(suppressed=tuple(f"ws-{i}" for i in range(83)))],
              {"kind": "outage"})
    body = peer.received[0].body
    assert body["text"] == "[Lifeline] 발생: bb-sw-1 응답 없음"
    header, section = body["blocks"]
    assert header["type"] == "header" and section["text"]["type"] == "mrkdwn"
    assert "하위 장비 83대 응답 없음" in section["text"]["text"]


def test_teams_body(tmp_path, peer):
    _, hook = channel(tmp_path, peer.url(), ", format: teams, lang: en")
    hook.send([make_notification(), make_notification(device_id="sw-9")], {"kind": "outage"})
    body = peer.received[0].body
    assert body["@type"] == "MessageCard" and body["themeColor"] == "D7263D"
    assert body["title"] == "[Lifeline] FIRING 2 alerts: outage"
    assert [s["activityTitle"] for s in body["sections"]] == [
        "[FIRING] critical · bb-sw-1 is unreachable", "[FIRING] critical · sw-9 is unreachable"]


@pytest.mark.parametrize("status, retryable", [(500, True), (503, True), (429, True),
                                               (400, False), (404, False)])
def test_status_codes_decide_retrying(tmp_path, status, retryable):
    with running_webhook([status]) as peer:
        _, hook = channel(tmp_path, peer.url("/hook?token=querysecret"))
        with pytest.raises(DeliveryError) as caught:
            hook.send([make_notification()], {})
    assert caught.value.retryable is retryable
    assert f"HTTP {status}" in str(caught.value)
    assert "querysecret" not in str(caught.value) and "/hook" not in str(caught.value)
    assert caught.value.retry_after == (120 if status == 429 else None)


def test_connection_refused_and_timeouts_are_retryable_and_secret_free(tmp_path, peer):
    port = peer.port
    with running_webhook() as gone:
        dead = gone.url("/services/T0/B0/pathsecret?token=querysecret")
    _, hook = channel(tmp_path, dead)
    with pytest.raises(DeliveryError) as caught:
        hook.send([make_notification()], {})
    assert caught.value.retryable and "connection refused" in str(caught.value)
    assert "secret" not in str(caught.value)
    peer.delay = 0.6
    _, slow = channel(tmp_path, f"http://127.0.0.1:{port}/hook?token=querysecret",
                      timeout="200ms")
    with pytest.raises(DeliveryError) as caught:
        slow.send([make_notification()], {})
    assert caught.value.retryable and "no answer within 0.2s" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_a_missing_token_names_the_variable_only(tmp_path, peer, monkeypatch):
    monkeypatch.delenv("LL_TEST_HOOK_TOKEN")
    _, hook = channel(tmp_path, peer.url())
    with pytest.raises(DeliveryError, match="LL_TEST_HOOK_TOKEN is not set"):
        hook.send([make_notification()], {})
    assert peer.received == []


def test_500_then_recovery_delivers_exactly_once_through_the_outbox(tmp_path):
    with running_webhook([500, 500]) as peer:
        config, _ = channel(tmp_path, peer.url("/hook?token=querysecret"))
        clock = FakeClock(T0)
        outbox = Outbox(tmp_path / "alerts.db", config, build_channels(config, clock), clock)
        enqueue(outbox, [make_notification()])
        outbox.deliver_due(wait=True)
        stats = outbox.stats()["hook"]
        assert stats.pending == 1 and "HTTP 500" in stats.last_error
        assert "querysecret" not in str(stats) and TOKEN not in str(stats)
        for _ in range(5):
            clock.advance(60)
            outbox.deliver_due(wait=True)
    assert [r.status for r in peer.received] == [500, 500, 200]
    [accepted] = peer.accepted
    assert [a["notificationId"] for a in accepted.body["alerts"]] == [
        "fp-device_down-bb-sw-1:firing:1"]
    assert len({r.headers["Idempotency-Key"] for r in peer.received}) == 1
    assert outbox.stats()["hook"].delivered == 1
    assert os.environ["LL_TEST_HOOK_TOKEN"] == TOKEN

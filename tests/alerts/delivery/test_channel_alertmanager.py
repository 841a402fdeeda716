"""Alertmanager channel against a real prometheus-alertmanager on loopback: alerts arrive
with the right labels, stay active through re-posts, and go away when resolved."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.delivery.channels import build_channels
from alerts.delivery.outbox import Outbox
from alerts.model import DeliveryError
from alerts.service import AlertService
from config.errors import ConfigError
from config.model import AlertmanagerSettings, DeliveryTiming
from inventory.load import load_config

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import SEOUL, enqueue, load, make_alert, make_notification
from kits.alerts_engine import SNMP, down, up, write_config
from peers.alertmanager import AlertmanagerPeer, running_alertmanager
from peers.ports import free_tcp_port

pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def am(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertmanagerPeer]:
    with running_alertmanager(tmp_path_factory.mktemp("alertmanager")) as peer:
        yield peer


def now_clock() -> FakeClock:
    # Alertmanager judges endsAt against its own wall clock: start from the real now.
    return FakeClock(datetime.now(SEOUL).replace(microsecond=0))


def make_channel(tmp_path: Path, url: str, clock: FakeClock, extra: str = ""):
    config = load(tmp_path, f"""\
        alerts:
          channels:
            - {{name: am, type: alertmanager, url: "{url}", group_wait: 0s, timeout: 5s{extra}}}
        """)
    return config, build_channels(config, clock)["am"]


def find(peer: AlertmanagerPeer, device_id: str) -> list[dict[str, Any]]:
    return [a for a in peer.alerts() if a["labels"].get("device_id") == device_id]


def test_a_firing_alert_arrives_with_its_labels(tmp_path, am):
    clock = now_clock()
    _, channel = make_channel(tmp_path, am.url, clock)
    n = make_notification(device_id="am-sw-1", instance="Gi0/1", starts_at=clock.now,
                          value=3.0, labels={"room.floor": "4F"},
                          suppressed=("ws-1", "ws-2"))
    channel.send([n], {"kind": "outage"})
    [alert] = find(am, "am-sw-1")
    labels = alert["labels"]
    assert labels["alertname"] == "device_down"
    assert (labels["severity"], labels["kind"], labels["instance"]) == (
        "critical", "outage", "Gi0/1")
    assert (labels["site"], labels["category"]) == ("district-hall", "backbone_switch")
    assert labels["room_floor"] == "4F"
    assert alert["annotations"]["summary"] == "am-sw-1 응답 없음"
    assert alert["annotations"]["suppressed"] == "ws-1, ws-2"
    assert alert["annotations"]["value"] == "3"
    assert alert["status"]["state"] == "active"
    ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
    assert ends >= clock.now + timedelta(minutes=3)


def test_resolution_by_ends_at_makes_it_disappear(tmp_path, am):
    clock = now_clock()
    _, channel = make_channel(tmp_path, am.url, clock, ", lang: en")
    channel.send([make_notification(device_id="am-sw-2", starts_at=clock.now)], {})
    assert [a["annotations"]["summary"] for a in find(am, "am-sw-2")] == [
        "am-sw-2 is unreachable"]
    channel.send([make_notification("resolved", device_id="am-sw-2", starts_at=clock.now,
                                    ends_at=datetime.now(SEOUL))], {})
    assert find(am, "am-sw-2") == []


def test_the_outbox_reposts_firing_alerts_and_delivers_recoveries(tmp_path, am):
    clock = now_clock()
    config, _ = make_channel(tmp_path, am.url, clock, ", refresh_interval: 60s")
    outbox = Outbox(tmp_path / "alerts.db", config, build_channels(config, clock), clock)
    alert = make_alert("am-sw-3", starts_at=clock.now)
    enqueue(outbox, [make_notification(device_id="am-sw-3", starts_at=clock.now)])
    outbox.deliver_due(wait=True)
    ends = [find(am, "am-sw-3")[0]["endsAt"]]            # sent at t=0
    outbox.refresh_active([alert])
    for _ in range(3):           # the last refresh ran at t=0 (nothing active then), so:
        clock.advance(30)        # t=30 not due, t=60 re-posted, t=90 not due
        outbox.deliver_due(wait=True)
        ends.append(find(am, "am-sw-3")[0]["endsAt"])
    assert ends[0] == ends[1] < ends[2] == ends[3]
    enqueue(outbox, [make_notification("resolved", device_id="am-sw-3", starts_at=alert.starts_at,
                                       ends_at=datetime.now(SEOUL))])
    outbox.refresh_active([])
    outbox.deliver_due(wait=True)
    assert find(am, "am-sw-3") == []
    assert outbox.stats()["am"].delivered == 2


def test_an_alertmanager_that_is_down_is_retried(tmp_path):
    _, channel = make_channel(tmp_path, f"http://127.0.0.1:{free_tcp_port()}", now_clock())
    with pytest.raises(DeliveryError, match="connection refused") as caught:
        channel.send([make_notification()], {})
    assert caught.value.retryable


def test_alertmanager_rejects_a_bad_post_permanently(tmp_path, am):
    _, channel = make_channel(tmp_path, am.url, now_clock())
    bad = make_notification(device_id="am-sw-4", starts_at=datetime(2024, 1, 1, tzinfo=SEOUL),
                            ends_at=datetime(2023, 1, 1, tzinfo=SEOUL))
    with pytest.raises(DeliveryError, match="HTTP 400") as caught:
        channel.send([make_notification("resolved", device_id="am-sw-4",
                                        starts_at=bad.alert.starts_at,
                                        ends_at=bad.alert.ends_at)], {})
    assert not caught.value.retryable


def test_a_recovery_is_not_undone_by_a_keep_alive_from_before_it(tmp_path, am):
    """The engine's list of firing alerts is refreshed by its tick; a delivery round
    between a recovery and that tick must not re-post the recovered alert as firing."""
    # Started 230 s in the past, so that for Alertmanager's wall clock the firing post
    # (endsAt 4 refresh intervals on) is active, the recovery's endsAt (at +121 s) is
    # over, and a wrong re-post after it (endsAt 4 intervals on again) would be active.
    clock = FakeClock(datetime.now(SEOUL).replace(microsecond=0) - timedelta(seconds=230))
    config = write_config(
        tmp_path, f"- {{id: ka-sw, name: KA, category: backbone_switch, poll: {SNMP}}}\n",
        f"channels:\n  - {{name: am, type: alertmanager, url: '{am.url}', group_wait: 0s,"
        f" group_interval: 0s, refresh_interval: 60s}}\n")
    svc = AlertService.open(config, clock)
    for _ in range(3):
        svc.observe(down("ka-sw", clock))
        svc.tick()
        clock.advance(20)
    svc.deliver_due(wait=True)                  # firing posted, and the first keep-alive
    assert [a["status"]["state"] for a in find(am, "ka-sw")] == ["active"]
    clock.advance(61)
    svc.observe(up("ka-sw", clock))             # recovered; the 5 s tick has not run yet
    clock.advance(1)
    svc.deliver_due(wait=True)                  # the recovery, and a keep-alive now due
    assert find(am, "ka-sw") == []
    clock.advance(3)
    svc.tick()
    clock.advance(60)
    svc.deliver_due(wait=True)
    assert find(am, "ka-sw") == []
    for _ in range(3):                          # down again: told, and kept alive again
        svc.observe(down("ka-sw", clock))
        svc.tick()
    svc.deliver_due(wait=True)
    [first] = find(am, "ka-sw")
    clock.advance(60)
    svc.tick()
    svc.deliver_due(wait=True)
    [kept] = find(am, "ka-sw")
    assert kept["endsAt"] > first["endsAt"]
    svc.close()


# ---- issue 17: description, generatorURL, where, no grouping delay of our own ---------------

AM_DEVICES = """\
- {id: am-pc, name: 민원실 PC, category: backbone_switch, criticality: critical, site: 본청,
   location: 1층 민원실, poll: {protocol: snmp, address: 10.1.2.3, credentials: v2}}
"""


def test_an_alert_arrives_with_its_description_where_and_generator_url(tmp_path, am):
    clock = now_clock()
    config = write_config(tmp_path, AM_DEVICES, f"""\
        channels:
          - {{name: am, type: alertmanager, url: "{am.url}",
             generator_url: "https://console.example.go.kr/lifeline"}}
        """)
    channel = build_channels(config, clock)["am"]
    channel.send([make_notification(device_id="am-pc", starts_at=clock.now, description="",
                                    description_ko="")], {})
    [alert] = find(am, "am-pc")
    assert alert["generatorURL"] == "https://console.example.go.kr/lifeline"
    annotations = alert["annotations"]
    assert annotations["description"] == (
        "장비가 수집 요청에 응답하지 않습니다. 전원, 케이블, 상위 장비를 확인하세요.")
    assert (annotations["location"], annotations["address"]) == ("1층 민원실", "10.1.2.3")


def _am_config(tmp_path: Path, channel: str, agent: str = ""):
    path = tmp_path / "lifeline.yaml"
    path.write_text(f"agent: {{name: t, state_dir: {tmp_path / 'var'}{agent}}}\n"
                    f"alerts:\n  channels:\n    - {channel}\n", encoding="utf-8")
    return load_config(path)


def test_generator_url_defaults_to_the_agents_endpoint_and_timings_to_zero(tmp_path):
    bare = _am_config(tmp_path, "{name: am, type: alertmanager, url: 'http://127.0.0.1:9093'}")
    [settings] = bare.alerts.channels
    assert isinstance(settings, AlertmanagerSettings) and settings.generator_url is None
    assert (settings.delivery.group_wait, settings.delivery.group_interval) == (0, 0)
    assert settings.delivery.retry_initial == DeliveryTiming().retry_initial
    listening = _am_config(
        tmp_path, "{name: am, type: alertmanager, url: 'http://127.0.0.1:9093',"
        " group_interval: 5m}", ", http_listen: '127.0.0.1:9108'")
    [settings] = listening.alerts.channels
    assert isinstance(settings, AlertmanagerSettings)
    assert settings.generator_url == "http://127.0.0.1:9108/healthz"
    assert (settings.delivery.group_wait, settings.delivery.group_interval) == (0, 300)
    hook = _am_config(tmp_path, "{name: h, type: webhook, url: 'http://127.0.0.1:9'}")
    assert hook.alerts.channels[0].delivery == DeliveryTiming()      # others keep theirs


@pytest.mark.parametrize("channel, where", [
    ("{name: am, type: alertmanager, url: 'http://x:9093', generator_url: 'console/lifeline'}",
     "generator_url"),
    ("{name: h, type: webhook, url: 'http://x:9', generator_url: 'https://console.example'}",
     "generator_url")])
def test_a_bad_or_misplaced_generator_url_is_refused_where_it_is(tmp_path, channel, where):
    with pytest.raises(ConfigError) as caught:
        _am_config(tmp_path, channel)
    assert "lifeline.yaml" in str(caught.value) and where in str(caught.value)


def test_firing_and_recovery_reach_alertmanager_without_waiting_for_our_grouping(tmp_path, am):
    """Alertmanager groups by itself: with the channel's defaults, a recovery is posted in
    the delivery round right after it (it waited a group_interval, 28 s, before)."""
    # A minute in the past: the recovery's endsAt must be over for Alertmanager's wall
    # clock, or it keeps the alert (a resolve in its future is no resolve yet).
    clock = FakeClock(datetime.now(SEOUL).replace(microsecond=0) - timedelta(seconds=60))
    config = write_config(
        tmp_path, f"- {{id: nd-sw, name: ND, category: backbone_switch, poll: {SNMP}}}\n",
        f"channels:\n  - {{name: am, type: alertmanager, url: '{am.url}'}}\n")
    svc = AlertService.open(config, clock)
    try:
        for _ in range(3):
            svc.observe(down("nd-sw", clock))
            svc.tick()
        svc.deliver_due(wait=True)              # the clock has not moved: no group_wait
        [alert] = find(am, "nd-sw")
        assert alert["annotations"]["description"].startswith("장비가 수집 요청에")
        clock.advance(1)
        svc.observe(up("nd-sw", clock))
        svc.tick()
        svc.deliver_due(wait=True)              # one second after the firing was sent
        assert find(am, "nd-sw") == []
    finally:
        svc.close()

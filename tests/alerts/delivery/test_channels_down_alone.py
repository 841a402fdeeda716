"""A channel whose peer is down on its own while the others work (issue 12, "SMTP and
Alertmanager down on their own"): the real SMTP server (aiosmtpd) and the real
Prometheus Alertmanager are stopped and restarted on the same port, beside a webhook that
keeps working. Nothing is lost (a firing missed past `expire_after` is told when the peer
is back, then the recovery), nothing is told twice, the webhook is never held up, and the
operator sees it in the channel's figures. The engine and the outbox run in process on
an injected clock that starts at the real now (Alertmanager judges `endsAt` against its
own clock)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from alerts.model import ChannelStats
from alerts.service import AlertService
from collectors.base import PollResult

from kits.alerts_clock import SEOUL, FakeClock
from kits.alerts_engine import SNMP, down, up, write_config
from peers.alertmanager import AlertmanagerPeer, running_alertmanager
from peers.smtp import SmtpPeer, running_smtp
from peers.webhook import WebhookPeer

pytestmark = pytest.mark.peer

DEVICES = (f"- {{id: core, name: Core, category: backbone_switch, criticality: critical,"
           f" poll: {SNMP}}}\n")
TIMING = ("group_wait: 0s, group_interval: 0s, retry_initial: 1s, retry_max: 2s,"
          " expire_after: 20s")
Poll = Callable[[str, FakeClock], PollResult]


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with running_smtp() as peer:
        yield peer


@pytest.fixture
def am(tmp_path: Path) -> Iterator[AlertmanagerPeer]:
    workdir = tmp_path / "alertmanager"
    workdir.mkdir()
    with running_alertmanager(workdir) as peer:
        yield peer


def service(tmp_path: Path, clock: FakeClock, hook: WebhookPeer, name: str,
            spec: str) -> AlertService:
    """The webhook `hook` and the channel `name` (its YAML keys `spec`), both routed
    everything."""
    alerts = ("channels:\n"
              f"  - {{name: hook, type: webhook, url: '{hook.url()}', {TIMING}}}\n"
              f"  - {{name: {name}, {spec}, {TIMING}}}\n"
              f"routes:\n  - {{match: {{}}, channels: [hook, {name}]}}\n")
    return AlertService.open(write_config(tmp_path, DEVICES, alerts), clock=clock)


def rounds(svc: AlertService, clock: FakeClock, poll: Poll | None = None,
           count: int = 1) -> None:
    """`count` rounds of: a poll of core (if `poll`), a tick, a delivery round waited
    for, the clock moved 2 s."""
    for _ in range(count):
        if poll is not None:
            svc.observe(poll("core", clock))
        svc.tick()
        svc.deliver_due(wait=True)
        clock.advance(2)


def figures(svc: AlertService, channel: str) -> ChannelStats:
    return svc.status().delivery[channel]


def hook_events(hook: WebhookPeer) -> list[str]:
    return [a["event"] for r in hook.accepted for a in r.body["alerts"]]


def real_now() -> FakeClock:
    return FakeClock(datetime.now(SEOUL).replace(microsecond=0))


def went_missing(svc: AlertService, clock: FakeClock, hook: WebhookPeer,
                 channel: str) -> None:
    """With `channel`'s peer down: core fires, the webhook hears at once, the channel's
    figures show the notice waiting, then missed past expire_after and still owed."""
    rounds(svc, clock, down, count=3)                  # fires at the 3rd failed poll
    assert hook_events(hook) == ["firing"]
    waiting = figures(svc, channel)
    assert (waiting.pending, waiting.delivered) == (1, 0), waiting
    assert waiting.retries >= 1 and waiting.last_error is not None
    rounds(svc, clock, down, count=12)                 # 24 s: past expire_after (20 s)
    missed = figures(svc, channel)
    assert (missed.expired, missed.untold, missed.pending) == (1, 1, 1), missed


def test_a_mail_server_down_on_its_own(tmp_path: Path, hook: WebhookPeer,
                                       smtp: SmtpPeer) -> None:
    clock = real_now()
    svc = service(tmp_path, clock, hook, "mail",
                  f"type: email, smtp: '{smtp.address}', from: noc@example.org,"
                  " to: [oncall@example.org], timeout: 5s")
    try:
        smtp.stop()
        went_missing(svc, clock, hook, "mail")
        assert smtp.mails == []
        smtp.restart()
        rounds(svc, clock, down, count=3)
        assert len(smtp.mails) == 1                    # the missed firing, once
        rounds(svc, clock, up, count=2)                # and the recovery
        rounds(svc, clock, count=3)
        mail = figures(svc, "mail")
    finally:
        svc.close()
    subjects = [str(m.message["Subject"]) for m in smtp.mails]
    # our own subjects (alerts/delivery/render.py): 발생 (firing), then 복구 (resolved)
    assert len(subjects) == 2 and "발생" in subjects[0] and "복구" in subjects[1], subjects
    assert len({m.message["Message-ID"] for m in smtp.mails}) == 2
    assert hook_events(hook) == ["firing", "resolved"]
    assert (mail.delivered, mail.retold, mail.untold, mail.pending) == (2, 1, 0, 0), mail


def _core(am: AlertmanagerPeer) -> list[dict[str, Any]]:
    return [a for a in am.alerts() if a["labels"].get("device_id") == "core"]


def test_alertmanager_down_on_its_own(tmp_path: Path, hook: WebhookPeer,
                                      am: AlertmanagerPeer) -> None:
    clock = real_now()
    svc = service(tmp_path, clock, hook, "am",
                  f"type: alertmanager, url: '{am.url}', timeout: 5s, refresh_interval: 30s")
    try:
        am.stop()
        went_missing(svc, clock, hook, "am")
        am.restart()                                   # back, knowing no alerts
        rounds(svc, clock, down, count=3)
        [alert] = _core(am)                            # the missed firing, told
        assert alert["status"]["state"] == "active"
        am.stop()                                      # down again for the recovery
        rounds(svc, clock, up, count=3)
        assert hook_events(hook) == ["firing", "resolved"]
        assert figures(svc, "am").pending == 1         # the recovery waits, owed
        am.restart()
        rounds(svc, clock, count=3)
        am_figures = figures(svc, "am")
        [alert] = _core(am)
    finally:
        svc.close()
    # resolved there too: it ends when the webhook's recovery says (not refresh-ahead);
    # the injected clock runs ahead of Alertmanager's, so it may still list it until then
    resolved = [a for r in hook.accepted for a in r.body["alerts"] if a["event"] == "resolved"]
    assert (datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
            == datetime.fromisoformat(resolved[0]["endsAt"]))
    assert hook_events(hook) == ["firing", "resolved"]
    assert (am_figures.delivered, am_figures.retold, am_figures.pending) == (2, 1, 0)

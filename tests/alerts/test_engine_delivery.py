"""End to end through the real outbox: AlertService -> webhook receiver on loopback.
Restarting the service while alerts fire sends nothing twice and still delivers the
recovery; a receiver answering 500 first still gets each notice once."""
from __future__ import annotations

from alerts.service import AlertService

from kits.alerts_engine import SNMP, FakeClock, down, up, write_config
from peers.webhook import running_webhook

DEVICES = f"""\
- {{id: core, name: Core, category: backbone_switch, criticality: critical, site: hall,
   poll: {SNMP}}}
- {{id: edge, name: Edge, category: backbone_switch, parent: core, site: hall, poll: {SNMP}}}
"""


def _alerts(url: str) -> str:
    return (f"channels:\n  - {{name: hook, type: webhook, url: '{url}', group_wait: 0s,"
            f" group_interval: 1s, retry_initial: 5s}}\n"
            f"routes:\n  - {{match: {{}}, channels: [hook]}}\n")


def _round(svc: AlertService, clock: FakeClock, result_of, ids, every: float = 60.0) -> None:
    for device_id in ids:
        svc.observe(result_of(device_id, clock))
    svc.tick()
    svc.deliver_due(wait=True)
    clock.advance(every)


def _posted(peer) -> list[tuple[str, str]]:
    """(event, device_id) of every notification the receiver accepted."""
    seen = []
    for request in peer.accepted:
        body = request.body
        items = body.get("notifications") or body.get("alerts") or []
        for item in items:
            alert = item.get("alert", item)
            seen.append((item.get("event") or alert.get("status"),
                         alert.get("device_id") or alert.get("labels", {}).get("device_id")))
    return seen


def test_restart_while_firing_no_duplicates_and_recovery_delivered(tmp_path):
    with running_webhook(statuses=[500]) as peer:
        config = write_config(tmp_path, DEVICES, _alerts(peer.url()))
        clock = FakeClock()
        svc = AlertService.open(config, clock=clock)
        for _ in range(4):
            _round(svc, clock, down, ["edge", "core"])
        for _ in range(3):                              # the 500 is retried after backoff
            _round(svc, clock, down, ["edge", "core"], every=10)
        assert _posted(peer) == [("firing", "core")]
        assert svc.status().counts.suppressed == 1
        svc.close()

        svc = AlertService.open(config, clock=clock)    # the agent restarts
        for _ in range(3):
            _round(svc, clock, down, ["edge", "core"])
        assert _posted(peer) == [("firing", "core")]    # nothing re-sent
        _round(svc, clock, up, ["core", "edge"])
        _round(svc, clock, up, ["core", "edge"])
        assert _posted(peer) == [("firing", "core"), ("resolved", "core")]
        delivery = svc.status().delivery
        assert delivery
        svc.close()

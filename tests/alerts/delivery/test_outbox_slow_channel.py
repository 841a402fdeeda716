"""A hung channel never holds up the others: two webhook channels on real loopback
servers, one of which holds every request until the test releases it, delivered by a
loop like the agent's delivery thread. Each notice still reaches each channel once."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from alerts.delivery.channels import build_channels
from alerts.delivery.outbox import Outbox

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import T0, enqueue, load, make_notification
from peers.webhook import WebhookPeer, running_webhook

PATIENCE = 20.0     # how long a condition may take before the test gives up (not a timing)


def wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def ids(peer: WebhookPeer) -> list[str]:
    return [a["notificationId"] for r in peer.accepted for a in r.body["alerts"]]


@pytest.fixture
def peers() -> Iterator[tuple[WebhookPeer, WebhookPeer]]:
    with running_webhook() as hung, running_webhook() as fast:
        hung.hold = threading.Event()
        try:
            yield hung, fast
        finally:
            hung.hold.set()


def test_a_hung_channel_does_not_delay_the_others(tmp_path, peers):
    hung, fast = peers
    config = load(tmp_path, f"""\
        alerts:
          channels:
            - {{name: mail, type: webhook, url: "{hung.url()}", timeout: 60s, group_wait: 0s}}
            - {{name: hook, type: webhook, url: "{fast.url()}", group_wait: 0s}}
          routes:
            - {{match: {{}}, channels: [mail, hook]}}
        """)
    clock = FakeClock(T0)
    outbox = Outbox(tmp_path / "alerts.db", config, build_channels(config, clock), clock)
    sites = [make_notification(device_id=f"sw-{i}", labels={"site": f"s{i}"}) for i in range(3)]
    enqueue(outbox, sites)                      # three groups on each channel
    stop = threading.Event()

    def delivery_thread() -> None:              # as the agent's, only faster
        while not stop.wait(0.02):
            outbox.deliver_due()

    loop = threading.Thread(target=delivery_thread, daemon=True)
    loop.start()
    try:
        assert wait_for(lambda: len(ids(fast)) == 3 and len(hung.received) == 1)
        core = make_notification(device_id="core", labels={"site": "hq"})
        enqueue(outbox, [core])
        assert wait_for(lambda: core.id in ids(fast))
        assert len(hung.received) == 1          # still hung on its first group
        assert outbox.stats()["mail"].pending == 4
    finally:
        stop.set()
        loop.join()
        hung.hold.set()
    outbox.close()                              # the hung send finishes and is recorded
    outbox.deliver_due(wait=True)
    everything = sorted(n.id for n in [*sites, core])
    assert sorted(ids(hung)) == everything and sorted(ids(fast)) == everything
    stats = outbox.stats()
    assert [(stats[c].delivered, stats[c].pending) for c in ("mail", "hook")] == [
        (4, 0), (4, 0)]

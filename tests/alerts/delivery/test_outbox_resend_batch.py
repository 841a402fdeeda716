"""A notice sent again (after a crash between the peer's answer and our record of it, or
after a failure) goes as the batch it was first claimed in: same Idempotency-Key and
deliveryId, never merged with newer notices of its group. Real webhook server on
loopback; the crash is staged on the real SQLite outbox."""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing

from alerts.delivery import codec
from alerts.delivery.channels import build_channels
from alerts.delivery.ledger import Ledger
from alerts.delivery.outbox import Outbox
from alerts.delivery.timing import Timings

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import T0, enqueue, load, make_notification
from kits.alerts_legacy_db import insert_outbox_row, write_old_database
from peers.webhook import WebhookPeer, running_webhook


def hook_config(tmp_path, url: str):
    return load(tmp_path, f"""\
        alerts:
          channels:
            - {{name: hook, type: webhook, url: "{url}", group_wait: 30s, group_interval: 0s,
               retry_initial: 10s}}
        """)


def posts(peer: WebhookPeer) -> list[tuple[str, str, list[str]]]:
    """(Idempotency-Key, deliveryId, notification ids) of every request received."""
    return [(r.headers["Idempotency-Key"], r.body["deliveryId"],
             [a["notificationId"] for a in r.body["alerts"]]) for r in peer.received]


def test_a_notice_resent_after_a_crash_keeps_its_idempotency_key(tmp_path):
    n1, n2 = make_notification(device_id="sw-1"), make_notification(device_id="sw-2")
    with running_webhook() as peer:
        config, clock = hook_config(tmp_path, peer.url()), FakeClock(T0)
        first = Outbox(tmp_path / "alerts.db", config, build_channels(config, clock), clock)
        enqueue(first, [n1])
        clock.advance(30)
        # The first agent claims and sends; the receiver answers 200; the agent is killed
        # before it records the delivery (its rows stay `sending` under its token).
        killed = Ledger("the-killed-agent", Timings(config.alerts.channels))
        with closing(sqlite3.connect(first.db_path, isolation_level=None)) as conn:
            [batch] = killed.claim_due(conn, clock().timestamp())
            first.channels["hook"].send([n1], json.loads(batch.rows[0].group_labels))
        clock.advance(1)
        enqueue(first, [n2])                    # the same group, just before the kill
        clock.advance(90)
        second = Outbox(tmp_path / "alerts.db", config, build_channels(config, clock), clock)
        second.deliver_due(wait=True)           # the restarted agent
        second.deliver_due(wait=True)
    [(key, delivery, sent), (key_again, delivery_again, resent), (_, _, newer)] = posts(peer)
    assert sent == resent == [n1.id] and newer == [n2.id]
    assert (key_again, delivery_again) == (key, delivery)
    stats = second.stats()["hook"]
    assert (stats.delivered, stats.resent_after_restart) == (2, 1)


def test_a_retried_notice_keeps_its_key_and_newer_notices_go_apart(tmp_path):
    n1, n2 = make_notification(device_id="sw-1"), make_notification(device_id="sw-2")
    with running_webhook(statuses=[503]) as peer:
        config, clock = hook_config(tmp_path, peer.url()), FakeClock(T0)
        outbox = Outbox(tmp_path / "alerts.db", config, build_channels(config, clock), clock)
        enqueue(outbox, [n1])
        clock.advance(30)
        outbox.deliver_due(wait=True)           # 503: tried again in 10 s
        clock.advance(1)
        enqueue(outbox, [n2])                   # due with n1's retry, but not part of it
        clock.advance(30)
        outbox.deliver_due(wait=True)
    [(key, _, first), (key_again, _, again), (other, _, newer)] = sorted(
        posts(peer), key=lambda p: p[2])
    assert first == again == [n1.id] and newer == [n2.id]
    assert key_again == key != other


def test_rows_in_flight_in_a_database_from_before_batch_ids_are_resent(tmp_path):
    n1 = make_notification()
    with running_webhook() as peer:
        config, clock = hook_config(tmp_path, peer.url()), FakeClock(T0)
        db = tmp_path / "alerts.db"
        write_old_database(db, batch_ids=False)
        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            insert_outbox_row(conn, notification_id=n1.id, channel="hook",
                              fingerprint=n1.alert.fingerprint, event="firing",
                              payload=codec.dumps(n1), state="sending",
                              at=clock().timestamp(), owner="an-old-agent")
        outbox = Outbox(db, config, build_channels(config, clock), clock)
        outbox.deliver_due(wait=True)
    assert [p[2] for p in posts(peer)] == [[n1.id]]

"""alerts.db written by the code before schema versions (tables made with CREATE TABLE IF
NOT EXISTS, no schema_version, an outbox with or without batch ids) opens and keeps its
data: a pending notice is delivered, a firing alert is loaded and its recovery told. A
file a newer Lifeline wrote is refused, naming the store. Real SQLite files, a real
webhook receiver on loopback."""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from alerts.delivery import codec
from alerts.evaluation.state import fingerprint
from alerts.evaluation.store import DB_NAME, Store
from alerts.service import AlertService
from config.sqlite import SchemaError

from kits.alerts_delivery import make_notification
from kits.alerts_engine import SNMP, FakeClock, up, write_config
from kits.alerts_legacy_db import insert_outbox_row, write_old_database
from peers.webhook import WebhookPeer, running_webhook

DEVICES = f"- {{id: core, name: Core, category: backbone_switch, poll: {SNMP}}}\n"
CORE_DOWN = fingerprint("device_down", "core")


def alerts_yaml(url: str) -> str:
    return (f"channels:\n  - {{name: hook, type: webhook, url: '{url}', group_wait: 0s,"
            f" group_interval: 1s}}\n"
            f"routes:\n  - {{match: {{}}, channels: [hook]}}\n")


def old_firing_state(t: float) -> str:
    """core's outage, firing and told, as the old engine saved it (before states kept
    their labels)."""
    return json.dumps({
        "fingerprint": CORE_DOWN, "rule": "device_down", "kind": "outage",
        "severity": "critical", "device_id": "core", "instance": "", "status": "firing",
        "active_since": t - 600, "fired_at": t - 480, "resolved_at": None, "polls": 5,
        "for_seconds": 0.0, "repeat": 14400.0, "value": None,
        "summary": "Core unreachable", "summary_ko": "Core 응답 없음", "notified": True,
        "last_sent": t - 480, "seq": 1, "changes": [t - 480], "flapping": False,
        "flap_notice_owed": False})


def posted(peer: WebhookPeer) -> list[list[str]]:
    return [[a["notificationId"] for a in r.body["alerts"]] for r in peer.accepted]


@pytest.mark.parametrize("batch_ids", [True, False], ids=["with-batch-ids", "before-them"])
def test_an_old_database_opens_and_keeps_its_notices_and_states(tmp_path, batch_ids):
    clock = FakeClock()
    t = clock().timestamp()
    notice = make_notification(device_id="core", fingerprint=CORE_DOWN)
    with running_webhook() as peer:
        config = write_config(tmp_path, DEVICES, alerts_yaml(peer.url()))
        db = Path(config.agent.state_dir) / DB_NAME
        write_old_database(db, batch_ids=batch_ids)
        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            insert_outbox_row(conn, notification_id=notice.id, channel="hook",
                              fingerprint=CORE_DOWN, event="firing",
                              payload=codec.dumps(notice), state="pending", at=t - 60)
            conn.execute("INSERT INTO alert_state VALUES (?, 'core', 'device_down', 'firing',"
                         " ?, ?)", (CORE_DOWN, old_firing_state(t), t - 480))

        svc = AlertService.open(config, clock=clock)
        assert [(s.fingerprint, s.status) for s in svc.engine.states()] == [
            (CORE_DOWN, "firing")]
        svc.deliver_due(wait=True)
        assert posted(peer) == [[notice.id]]          # the old pending row, delivered
        svc.observe(up("core", clock))
        clock.advance(1)
        svc.deliver_due(wait=True)
        assert posted(peer) == [[notice.id], [f"{CORE_DOWN}:resolved:2"]]
        assert svc.status().delivery["hook"].delivered == 2
        svc.close()

    with closing(sqlite3.connect(db)) as conn:
        versions = sorted(conn.execute("SELECT store, version FROM schema_version"))
        columns = {row[1] for row in conn.execute("PRAGMA table_info(delivery_outbox)")}
    assert versions == [("alerts", 1), ("outbox", 3)]
    assert {"batch", "lost", "requeued"} <= columns


@pytest.mark.parametrize("store", ["alerts", "outbox"])
def test_a_database_from_a_newer_lifeline_is_refused(tmp_path, store):
    config = write_config(tmp_path, DEVICES, alerts_yaml("http://127.0.0.1:9/hook"))
    AlertService.open(config, clock=FakeClock()).close()
    db = Path(config.agent.state_dir) / DB_NAME
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE schema_version SET version = 99 WHERE store = ?", (store,))
        conn.commit()
    with pytest.raises(SchemaError, match=f"the {store} tables are at schema version 99"):
        AlertService.open(config, clock=FakeClock())
    if store == "alerts":
        with pytest.raises(SchemaError, match="alerts"):
            Store(db)
        with pytest.raises(SchemaError, match="alerts"):
            Store.read_only(db)
    else:
        Store(db).close()               # the alert store's own tables are fine
        read_only = Store.read_only(db)
        assert read_only is not None
        read_only.close()


def test_reading_an_old_database_leaves_it_as_it_was(tmp_path):
    """`Store.read_only` (lifeline alerts list, the plan) reads the tables of the code
    before schema versions as they are, and upgrades nothing: that is the agent's job."""
    db = tmp_path / DB_NAME
    write_old_database(db)
    t = FakeClock()().timestamp()
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("INSERT INTO alert_state VALUES (?, 'core', 'device_down', 'firing',"
                     " ?, ?)", (CORE_DOWN, old_firing_state(t), t - 480))
    store = Store.read_only(db)
    assert store is not None
    assert [s.fingerprint for s in store.load_states()] == [CORE_DOWN]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.ack(CORE_DOWN, t, "kim", "")
    store.close()
    with closing(sqlite3.connect(db)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "schema_version" not in tables


def test_reading_finds_no_store_where_none_was_made(tmp_path):
    assert Store.read_only(tmp_path / "never" / DB_NAME) is None
    assert not (tmp_path / "never").exists()
    with closing(sqlite3.connect(tmp_path / "other.db")) as other:   # no alert tables
        other.execute("CREATE TABLE unrelated (x)")
    assert Store.read_only(tmp_path / "other.db") is None

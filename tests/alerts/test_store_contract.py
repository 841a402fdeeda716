"""One contract over both backends of the alert store and the outbox: SQLite in the state
directory (one agent) and the cluster's PostgreSQL (a real PostgreSQL 15 started by the
`postgres` fixture, a fresh database per test). The same calls must give the same
answers; what only a cluster needs (fencing, leases) is tested in tests/agent/cluster/."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from alerts.delivery.backend import OutboxBackend
from alerts.delivery.channels import build_channels
from alerts.delivery.channels._common import delivery_id
from alerts.delivery.outbox import Outbox, SqliteOutbox
from alerts.delivery.outbox_pg import PgOutbox
from alerts.evaluation.state import FIRING, PENDING, AlertState
from alerts.evaluation.store import Store
from alerts.evaluation.store_api import AlertStore
from alerts.evaluation.store_pg import PgStore
from alerts.model import DeliveryError
from config.postgres import connect as pg_connect

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import load, make_notification

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest
               ) -> Iterator[Callable[[], AlertStore]]:
    """Opens a store of the backend under test (each call: another connection to the
    same data, as another thread or process would have)."""
    opened: list[AlertStore] = []
    dsn = request.getfixturevalue("pg_dsn") if backend == "postgres" else ""

    def make() -> AlertStore:
        store: AlertStore = (PgStore.open(dsn) if backend == "postgres"
                             else Store(tmp_path / "alerts.db"))
        opened.append(store)
        return store
    yield make
    for store in opened:
        store.close()


def _state(device_id: str, **fields: object) -> AlertState:
    state = AlertState(fingerprint=f"fp-{device_id}", rule="device_down", kind="outage",
                       severity="critical", device_id=device_id)
    for name, value in fields.items():
        setattr(state, name, value)
    return state


def test_states_round_trip_and_inactive_ones_are_deleted(open_store) -> None:
    store = open_store()
    pending = _state("sw-1", status=PENDING, polls=2, active_since=100.0, changes=[90.0])
    firing = _state("sw-2", status=FIRING, notified=True, fired_at=120.0)
    with store.transaction():
        store.save_states([pending, firing], 130.0)
    other = open_store()
    loaded = {s.device_id: s for s in other.load_states()}
    assert loaded == {"sw-1": pending, "sw-2": firing}      # pending counters kept exactly

    ended = replace(firing, status="inactive", notified=False)
    with store.transaction():
        store.save_states([ended], 140.0)
    assert [s.device_id for s in other.load_states()] == ["sw-1"]


def test_a_transaction_that_fails_leaves_nothing(open_store) -> None:
    store = open_store()
    with pytest.raises(RuntimeError), store.transaction():
        store.save_states([_state("sw-1", status=PENDING, polls=1)], 1.0)
        store.open_outage("sw-1", "fp-sw-1", 1.0)
        raise RuntimeError("the engine failed halfway")
    assert store.load_states() == []
    assert store.outages() == []


def test_outage_history(open_store) -> None:
    store = open_store()
    with store.transaction():
        store.open_outage("sw-1", "fp-sw-1", 100.0)
        store.open_outage("sw-1", "fp-sw-1", 105.0)      # still open: not a second one
    with store.transaction():
        store.close_outage("fp-sw-1", 200.0)
        store.open_outage("sw-2", "fp-sw-2", 300.0)
    assert [(o.device_id, o.started, o.ended) for o in open_store().outages()] == [
        ("sw-1", 100.0, 200.0), ("sw-2", 300.0, None)]
    assert store.outages("sw-2") == store.outages(since=250.0)
    assert store.outage_counts(since=0.0) == {"sw-1": 1, "sw-2": 1}
    assert store.outage_counts(since=150.0) == {"sw-2": 1}


def test_silences_and_acks_are_seen_by_every_connection(open_store) -> None:
    writer, reader = open_store(), open_store()
    silence = writer.add_silence(["site=district-hall"], 100.0, 200.0, "works", "kim")
    assert [s.id for s in reader.silences(150.0)] == [silence.id]
    assert reader.silences(250.0) == []
    assert writer.remove_silence(silence.id, 160.0)
    assert not writer.remove_silence(silence.id, 161.0)      # lifted once
    assert reader.silences(170.0) == []

    writer.ack("fp-sw-1", 10.0, "kim", "looking")
    writer.ack("fp-sw-1", 20.0, "lee", "mine now")
    assert {fp: (a.at, a.author) for fp, a in reader.acks().items()} == {
        "fp-sw-1": (20.0, "lee")}
    with writer.transaction():
        writer.clear_ack("fp-sw-1")
    assert reader.acks() == {}


def test_a_clock_step_moves_the_state_times(open_store) -> None:
    store = open_store()
    with store.transaction():
        store.save_states([_state("sw-1", status=FIRING, active_since=100.0, fired_at=110.0,
                                  changes=[110.0], notified=True)], 110.0)
    with store.transaction():
        store.shift_times(-50.0)
    (state,) = open_store().load_states()
    assert (state.active_since, state.fired_at, state.changes) == (50.0, 60.0, [60.0])


# ---- the outbox ------------------------------------------------------------------------

CHANNELS = """\
    alerts:
      channels:
        - {name: hook, type: webhook, url: "URL", group_wait: 0s, retry_initial: 1s}
      routes:
        - {channels: [hook]}
    """


@pytest.fixture
def outbox_backend(backend: str, tmp_path: Path, request: pytest.FixtureRequest
                   ) -> OutboxBackend:
    if backend == "postgres":
        return PgOutbox(request.getfixturevalue("pg_dsn"), node="test", lease=1.0)
    return SqliteOutbox(tmp_path / "alerts.db")


def _outbox(tmp_path: Path, backend: OutboxBackend, url: str, clock: FakeClock) -> Outbox:
    config = load(tmp_path, CHANNELS.replace("URL", url))
    return Outbox(backend, config, build_channels(config, clock), clock)


def _enqueue(backend: OutboxBackend, outbox: Outbox, *notifications: object) -> None:
    with backend.connect() as conn, closing_transaction(conn):
        outbox.enqueue(conn, notifications)  # type: ignore[arg-type]


def closing_transaction(conn):  # the engine's transaction, as config.sqlite opens it
    from config.sqlite import transaction
    return transaction(conn)


def test_each_notification_is_delivered_once_in_order(outbox_backend, tmp_path, hook) -> None:
    clock = FakeClock()
    outbox = _outbox(tmp_path, outbox_backend, hook.url(), clock)
    firing, resolved = make_notification("firing"), make_notification("resolved")
    _enqueue(outbox_backend, outbox, firing)
    _enqueue(outbox_backend, outbox, firing)            # the same id again: a no-op
    _enqueue(outbox_backend, outbox, resolved)
    for _ in range(3):
        outbox.deliver_due(wait=True)
        clock.advance(1)
    sent = [a["notificationId"] for r in hook.accepted for a in r.body["alerts"]]
    assert sent == [firing.id, resolved.id]
    assert outbox.stats()["hook"].delivered == 2
    outbox.close()


def test_a_row_abandoned_in_flight_goes_again_as_the_same_message(outbox_backend, tmp_path,
                                                                  hook, backend) -> None:
    clock = FakeClock()
    outbox = _outbox(tmp_path, outbox_backend, hook.url(), clock)
    firing = make_notification("firing")
    _enqueue(outbox_backend, outbox, firing)
    zombie = outbox_backend.ledger("dead-process", _timings(tmp_path, hook),
                                   lambda: (frozenset(), None))
    with outbox_backend.connect() as conn:     # a claim by a process that then died
        (batch,) = zombie.claim_due(conn, clock().timestamp())
    if backend == "postgres":                   # its lease runs out (by the DB clock)
        _expire_leases(outbox_backend)
    outbox.deliver_due(wait=True)
    (post,) = hook.accepted
    assert batch.keys == [(firing.id, "hook")]
    assert post.headers["Idempotency-Key"] == delivery_id("hook", [firing])
    assert post.body["deliveryId"] == delivery_id("hook", [firing])
    assert outbox.stats()["hook"].resent_after_restart == 1
    # the dead process was only paused: it wakes and reports its send's outcome, a
    # failure to retry; the row another owner took over and delivered stays delivered
    with outbox_backend.connect() as conn:
        zombie.retry(conn, batch, clock(), DeliveryError("timed out"))
        zombie.failed(conn, batch, clock(), DeliveryError("refused", retryable=False))
        zombie.release(conn, batch)
    clock.advance(600)
    outbox.deliver_due(wait=True)
    assert len(hook.accepted) == 1
    assert outbox.stats()["hook"].delivered == 1
    outbox.close()


def _timings(tmp_path: Path, hook):
    from alerts.delivery.timing import Timings
    config = load(tmp_path, CHANNELS.replace("URL", hook.url()))
    return Timings(config.alerts.delivery_channels)


def _expire_leases(backend: PgOutbox) -> None:
    with closing(pg_connect(backend._dsn)) as conn:
        conn.execute("UPDATE delivery_outbox SET lease_until = now() - interval '1 second'")


def test_a_late_outcome_of_a_row_taken_back_counts_nothing(outbox_backend, tmp_path, hook,
                                                            backend) -> None:
    clock = FakeClock()
    outbox = _outbox(tmp_path, outbox_backend, hook.url(), clock)
    _enqueue(outbox_backend, outbox, make_notification("firing"))
    zombie = outbox_backend.ledger("dead-process", _timings(tmp_path, hook),
                                   lambda: (frozenset(), None))
    with outbox_backend.connect() as conn:     # claimed by a process then paused
        (batch,) = zombie.claim_due(conn, clock().timestamp())
    if backend == "postgres":
        _expire_leases(outbox_backend)
    outbox.deliver_due(wait=True)               # taken back and delivered by this one
    told = outbox.stats()["hook"]
    assert (told.delivered, told.retries, told.failed) == (1, 0, 0)
    # the paused process wakes: its own send got there too, or failed; none of its rows
    # is still its own, so nothing of it counts
    with outbox_backend.connect() as conn:
        zombie.delivered(conn, batch, clock())
        zombie.retry(conn, batch, clock(), DeliveryError("timed out"))
        zombie.failed(conn, batch, clock(), DeliveryError("refused", retryable=False))
    late = outbox.stats()["hook"]
    assert (late.delivered, late.retries, late.failed, late.retold) == (1, 0, 0, 0)
    outbox.close()

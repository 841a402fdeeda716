"""The lease statements on a real PostgreSQL 15 (a fresh database per test): what a
renewal may extend. A node paused or cut off past its lease renews, when it is back, the
buckets still under its token (nobody claimed them meanwhile: it re-adopts them at the
same epoch); a bucket another node claimed meanwhile is not among them, also when the
claim is still in progress as the renewal runs. And the schema's second migration, which
drops a table left from a first design.

A lease running out is written into the row (`_lapse`), as the database clock would make
it, so no test sleeps for a lease."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from typing import Any

import psycopg
import pytest

from agent.cluster.leases import SCHEMA, Held, Leases, fence
from config.postgres import PgConnection, connect, open_database
from config.sqlite import Schema

from kits.cluster import waiting_on
from kits.waiting import eventually
from peers.postgres import query

pytestmark = pytest.mark.peer

BUCKET = "*:007"
LEASE = 60.0            # never runs out by itself during a test: `_lapse` ends it


@pytest.fixture
def nodes(pg_dsn: str) -> Iterator[tuple[Leases, Leases]]:
    """Nodes a and b, each on its own connection; the bucket claimed by a."""
    open_database(pg_dsn, SCHEMA).close()
    a = Leases(connect(pg_dsn, node="a"), node="a", zone="", token="token-a", lease=LEASE)
    b = Leases(connect(pg_dsn, node="b"), node="b", zone="", token="token-b", lease=LEASE)
    try:
        a.declare({BUCKET: 1})
        assert a.claim([BUCKET]) == [Held(BUCKET, 1)]
        yield a, b
    finally:
        a.conn.close()
        b.conn.close()


def _lapse(dsn: str) -> None:
    """The bucket's lease runs out (its holder paused or cut off past it)."""
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        conn.execute("UPDATE cluster_buckets SET lease_until = clock_timestamp()"
                     " - interval '1 second' WHERE bucket = %s", (BUCKET,))


def _row(dsn: str) -> tuple[Any, ...]:
    (row,) = query(dsn, "SELECT owner, owner_token, epoch, lease_until FROM cluster_buckets"
                        " WHERE bucket = %s", BUCKET)
    return row


def test_a_lapsed_bucket_nobody_claimed_is_renewed_at_its_epoch(
        nodes: tuple[Leases, Leases], pg_dsn: str) -> None:
    a, _ = nodes
    _lapse(pg_dsn)
    assert fence(a.conn, a.token, {BUCKET: 1}) == [BUCKET]     # lapsed: commits refused
    assert a.renew() == [Held(BUCKET, 1)]                     # back: re-adopted
    assert fence(a.conn, a.token, {BUCKET: 1}) == []


def test_a_lapsed_bucket_another_node_claimed_is_not_renewed_by_the_old_owner(
        nodes: tuple[Leases, Leases], pg_dsn: str) -> None:
    a, b = nodes
    _lapse(pg_dsn)
    assert b.claim([BUCKET]) == [Held(BUCKET, 2)]
    taken = _row(pg_dsn)
    assert a.renew() == []
    assert _row(pg_dsn) == taken == ("b", "token-b", 2, taken[3])    # b's lease untouched
    assert fence(a.conn, a.token, {BUCKET: 1}) == [BUCKET]
    assert fence(b.conn, b.token, {BUCKET: 2}) == []

    _lapse(pg_dsn)                  # b's lease runs out too, nobody claims: still b's
    assert a.renew() == []
    b.release([BUCKET])             # released: nobody's until a claim
    assert a.renew() == []
    assert _row(pg_dsn)[:3] == (None, None, 2)


class _CommitHeld(PgConnection):
    """A node's connection whose COMMIT waits for `go`: its claim's row locks stay held
    (and its change unseen) while the test acts."""

    def __init__(self, dsn: str, node: str) -> None:
        super().__init__(connect(dsn, node=node).raw, dsn, node)
        self.committing, self.go = threading.Event(), threading.Event()

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        if sql == "COMMIT":
            self.committing.set()
            assert self.go.wait(60), "the test never let the commit go"
        return super().execute(sql, parameters)


def test_a_renewal_racing_a_claim_waits_for_it_and_then_does_not_match(
        nodes: tuple[Leases, Leases], pg_dsn: str) -> None:
    a, _ = nodes
    held = _CommitHeld(pg_dsn, "b")
    b = Leases(held, node="b", zone="", token="token-b", lease=LEASE)
    _lapse(pg_dsn)
    with closing(held), ThreadPoolExecutor(2) as pool:
        try:
            claimed: Future[list[Held]] = pool.submit(b.claim, [BUCKET])
            assert held.committing.wait(30), "b's claim never reached its commit"
            renewed = pool.submit(a.renew)
            blocker = held.raw.info.backend_pid
            # a's renewal waits on the row b's claim has locked (not yet committed) ...
            eventually(lambda: waiting_on(pg_dsn, blocker), "a's renewal waiting on b's claim")
            assert not renewed.done()
        finally:
            held.go.set()
        # ... and once the claim commits, checks the row again: b's token, not a's
        assert claimed.result(timeout=30) == [Held(BUCKET, 2)]
        assert renewed.result(timeout=30) == []
    assert _row(pg_dsn)[:3] == ("b", "token-b", 2)


def test_a_database_of_the_first_schema_loses_the_unused_zone_alerts_table(
        pg_dsn: str) -> None:
    first = Schema(SCHEMA.store, SCHEMA.migrations[:1])
    open_database(pg_dsn, first).close()
    tables = "SELECT 1 FROM pg_tables WHERE tablename = 'cluster_zone_alerts'"
    assert query(pg_dsn, tables)
    open_database(pg_dsn, SCHEMA).close()
    assert not query(pg_dsn, tables)
    assert query(pg_dsn, "SELECT version FROM schema_version WHERE store = 'cluster'") == [
        (SCHEMA.version,)]
    assert {t for (t,) in query(pg_dsn, "SELECT tablename FROM pg_tables WHERE tablename"
                                        " LIKE 'cluster%%'")} == {"cluster_nodes",
                                                                 "cluster_buckets"}

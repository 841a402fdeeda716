"""The cluster's lease rows in PostgreSQL, and the statements that move them.

    cluster_nodes    node, zone, token (one per process), seen (heartbeat, DB clock)
    cluster_buckets  bucket, zone, owner, owner_token, lease_until (DB clock), epoch

Every time is the database's (`clock_timestamp()`), so the nodes' own clocks never decide
who holds what. A claim takes a free bucket (no owner, or its lease ran out) with
`FOR UPDATE SKIP LOCKED` (two nodes claiming at once never wait on each other, and never
both win) and raises its epoch; a renewal extends the leases still under this process's
token and says which those are: a bucket claimed meanwhile by another node (its epoch
raised) is no longer among them. The fence (alerts/evaluation/store_pg.py) checks the
epoch in the committing transaction.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from agent.cluster.buckets import zone_of_bucket
from agent.cluster.plan import View
from config.postgres import PgConnection
from config.sqlite import Schema, transaction

SCHEMA = Schema("cluster", ("""
CREATE TABLE IF NOT EXISTS cluster_nodes (
    node TEXT PRIMARY KEY, zone TEXT NOT NULL, token TEXT NOT NULL,
    started TIMESTAMPTZ NOT NULL, seen TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS cluster_buckets (
    bucket TEXT PRIMARY KEY, zone TEXT NOT NULL, owner TEXT, owner_token TEXT,
    lease_until TIMESTAMPTZ, epoch BIGINT NOT NULL DEFAULT 0, devices INTEGER NOT NULL,
    claimed TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS cluster_zone_alerts (
    zone TEXT PRIMARY KEY, down_since DOUBLE PRECISION, notice TEXT)
""",
# 2: cluster_zone_alerts, left from a first design, never used (the zone alert's states
# are in alert_state, in ZONES_BUCKET, like every other alert's)
"""
DROP TABLE IF EXISTS cluster_zone_alerts
"""))


@dataclass(frozen=True, slots=True)
class Held:
    bucket: str
    epoch: int


@dataclass(frozen=True, slots=True)
class BucketRow:
    bucket: str
    zone: str
    owner: str | None
    epoch: int
    devices: int
    lease_left: float | None       # seconds (negative: run out); None: never held
    held_for: float | None         # seconds since claimed


@dataclass(frozen=True, slots=True)
class NodeRow:
    node: str
    zone: str
    seen_ago: float
    started: datetime


class Leases:
    """One node's statements on its own connection (`token`: this process)."""

    def __init__(self, conn: PgConnection, *, node: str, zone: str, token: str,
                 lease: float) -> None:
        self.conn, self.node, self.zone, self.token, self.lease = conn, node, zone, token, lease

    def heartbeat(self) -> None:
        self.conn.execute(
            "INSERT INTO cluster_nodes (node, zone, token, started, seen) VALUES"
            " (?, ?, ?, clock_timestamp(), clock_timestamp()) ON CONFLICT (node) DO UPDATE"
            " SET zone = excluded.zone, seen = excluded.seen, token = excluded.token,"
            " started = CASE WHEN cluster_nodes.token = excluded.token"
            " THEN cluster_nodes.started ELSE excluded.started END",
            (self.node, self.zone, self.token))

    def declare(self, sizes: dict[str, int]) -> None:
        """The buckets the configuration has, with their device counts."""
        self.conn.executemany(
            "INSERT INTO cluster_buckets (bucket, zone, devices) VALUES (?, ?, ?)"
            " ON CONFLICT (bucket) DO UPDATE SET devices = excluded.devices",
            [(b, zone_of_bucket(b), n) for b, n in sorted(sizes.items())])

    def renew(self) -> list[Held]:
        """Extends the leases of the buckets still under this process's token and says
        which those are (with their epochs); the rest are no longer this node's.

        The rule: a renewal matches by token alone, so it also extends a lease that
        has already run out, as long as nobody claimed the bucket meanwhile (that is how
        a node back from a database outage or a pause re-adopts what nobody took, at
        the same epoch). It never takes back a bucket another node claimed: a claim
        writes its own token (and raises the epoch), a release clears the token, and
        only this process writes this token, so a bucket claimed or released since no
        longer matches, whoever holds it now and even if that lease ran out too. A
        renewal racing a claim in progress waits for the claim's row lock and then
        checks the row again (PostgreSQL's READ COMMITTED): the claim wins, the renewal
        does not match. Nobody else can have committed alert states of a bucket still
        under this token (the fence wants the committer's own token), so the states
        the agent reloads on re-adopting it are this node's last.
        (tests/agent/cluster/test_cluster_leases.py)"""
        rows = self.conn.execute(
            "UPDATE cluster_buckets SET lease_until = clock_timestamp()"
            " + make_interval(secs => ?) WHERE owner_token = ? RETURNING bucket, epoch",
            (self.lease, self.token)).fetchall()
        return [Held(b, int(e)) for b, e in rows]

    def view(self) -> View:
        live = dict(self.conn.execute(
            "SELECT node, zone FROM cluster_nodes"
            " WHERE seen > clock_timestamp() - make_interval(secs => ?)",
            (self.lease,)).fetchall())
        owners = {b: (o if o in live else None) for b, o in self.conn.execute(
            "SELECT bucket, CASE WHEN lease_until > clock_timestamp() THEN owner END"
            " FROM cluster_buckets").fetchall()}
        return View(live, owners)

    def claim(self, buckets: Collection[str]) -> list[Held]:
        if not buckets:
            return []
        with transaction(self.conn):
            rows = self.conn.execute(
                "UPDATE cluster_buckets SET owner = ?, owner_token = ?, epoch = epoch + 1,"
                " claimed = clock_timestamp(),"
                " lease_until = clock_timestamp() + make_interval(secs => ?)"
                " WHERE bucket IN (SELECT bucket FROM cluster_buckets WHERE bucket = ANY(?)"
                " AND (owner_token IS NULL OR lease_until IS NULL"
                " OR lease_until < clock_timestamp()) FOR UPDATE SKIP LOCKED)"
                " RETURNING bucket, epoch",
                (self.node, self.token, self.lease, list(buckets))).fetchall()
        return [Held(b, int(e)) for b, e in rows]

    def release(self, buckets: Iterable[str]) -> None:
        buckets = list(buckets)
        if buckets:
            self.conn.execute("UPDATE cluster_buckets SET owner = NULL, owner_token = NULL,"
                              " lease_until = NULL WHERE bucket = ANY(?) AND owner_token = ?",
                              (buckets, self.token))

    def leave(self) -> None:
        """Stopping: every bucket released, and no longer counted live."""
        self.conn.execute("UPDATE cluster_buckets SET owner = NULL, owner_token = NULL,"
                          " lease_until = NULL WHERE owner_token = ?", (self.token,))
        self.conn.execute("DELETE FROM cluster_nodes WHERE node = ? AND token = ?",
                          (self.node, self.token))


def fence(conn: PgConnection, token: str, wanted: dict[str, int]) -> list[str]:
    """The buckets of `wanted` (bucket -> epoch) this process no longer holds at that
    epoch with a running lease; the rest locked (FOR SHARE) until the transaction ends."""
    rows = conn.execute("SELECT bucket, epoch FROM cluster_buckets WHERE bucket = ANY(?)"
                        " AND owner_token = ? AND lease_until > clock_timestamp()"
                        " FOR SHARE", (list(wanted), token)).fetchall()
    good = {b for b, e in rows if wanted.get(b) == int(e)}
    return sorted(set(wanted) - good)


def read_buckets(conn: PgConnection) -> list[BucketRow]:
    rows = conn.execute(
        "SELECT bucket, zone, owner, epoch, devices,"
        " EXTRACT(EPOCH FROM lease_until - clock_timestamp()),"
        " EXTRACT(EPOCH FROM clock_timestamp() - claimed)"
        " FROM cluster_buckets ORDER BY bucket").fetchall()
    return [BucketRow(b, z, o if left is not None and float(left) > 0 else None, int(e),
                      int(n), None if left is None else float(left),
                      None if held is None else float(held))
            for b, z, o, e, n, left, held in rows]


def read_nodes(conn: PgConnection) -> list[NodeRow]:
    rows = conn.execute("SELECT node, zone, EXTRACT(EPOCH FROM clock_timestamp() - seen),"
                        " started FROM cluster_nodes ORDER BY node").fetchall()
    return [NodeRow(n, z, float(ago), started) for n, z, ago, started in rows]

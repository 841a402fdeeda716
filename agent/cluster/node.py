"""This agent as a cluster node: a thread that keeps its bucket leases, and the alert
store's view of them (`Scope`: alerts/evaluation/store_pg.py).

Every `renew` seconds, on its own connection: heartbeat; renew the leases held (those
that come back are still ours; one claimed meanwhile by another node is gone: we were
paused or cut off); claim the free buckets of this node's target and release a few it
holds beyond it (agent/cluster/plan.py); renew the outbox rows this process has in
flight. Each change of what the node holds goes to the agent (`adopt`, on its loop,
through the reload path: jobs added and removed, alert states loaded or forgotten),
and a bucket is released in the database only after the agent let its devices go, so
no device is polled by two nodes in one interval.

Cut off from the database longer than a lease, the node lets every bucket go (another
node may have them by now); when it is back, it claims again like any node, and the
buckets nobody took meanwhile (still under its token, same epoch) are renewed and handed
to the agent again: what the agent has in effect is compared with what the node holds
every round, so a node never stays idle holding buckets (LibreNMS #12707).

Fencing: the epochs this node claimed its buckets with are the fence's (`fence`): an
alert commit for a bucket held at another epoch, or whose lease ran out, is refused,
counted (`fenced`) and logged ("commit fenced off").

Zones: the holder of ZONES_BUCKET tells the alert engine, every round, how many live
nodes each zone has (agent/cluster/zones.py): a zone with none raises its alert there.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection

from agent.cluster.buckets import ZONES_BUCKET, BucketMap, zone_of_bucket
from agent.cluster.leases import Leases, fence
from agent.cluster.plan import moves
from agent.cluster.zones import is_zone_device, zone_devices, zone_results
from alerts.delivery.outbox_pg import renew_in_flight
from alerts.evaluation.store_pg import Fenced
from collectors.base import PollResult
from config.db import Connection
from config.model import ClusterSettings
from config.postgres import DatabaseUnavailableError, PgConnection, open_database
from inventory.model import Config

log = logging.getLogger("lifeline.cluster")

ADOPT_TIMEOUT_SECONDS = 30.0

# `adopt(buckets)`: put these buckets' devices in effect on the agent's loop and return
# once done (raises when it could not).
Adopt = Callable[[frozenset[str]], None]
# `observe(results)`: hand these observations (the zones': agent/cluster/zones.py) to the
# alert engine on the agent's loop; returns at once.
Observe = Callable[[list[PollResult]], None]


class ClusterNode:
    """The lease-keeping thread and the store's Scope. `token` is this process's (the
    outbox's owner token, so rows in flight are renewed with the leases)."""

    def __init__(self, settings: ClusterSettings, config: Config, *, token: str) -> None:
        self.settings = settings
        self.name = settings.node
        self._token = token
        self._map = BucketMap.build(config.devices, settings)
        self._declared: BucketMap | None = None
        self._claimed: dict[str, int] = {}          # bucket -> epoch, the thread's
        self._adopted: frozenset[str] = frozenset()  # what the agent has in effect
        self._handed: frozenset[str] | None = frozenset()  # last handed (None: failed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._adopt: Adopt = lambda buckets: None
        self._observe: Observe = lambda results: None
        self._leases: Leases | None = None
        self._last_ok = time.monotonic()
        self._failing = False
        self.rounds = 0
        self.fenced = 0             # commits refused by the fence (see `fence`)

    # ---- the Scope of the alert store ---------------------------------------------------

    def bucket_of(self, device_id: str) -> str:
        if is_zone_device(device_id):
            return ZONES_BUCKET
        return self._map.bucket_of(device_id)

    def held(self) -> Collection[str]:
        return self._adopted

    def fence(self, conn: Connection, buckets: Collection[str]) -> None:
        with self._lock:
            wanted = {b: self._claimed.get(b, -1) for b in buckets}
        assert isinstance(conn, PgConnection)
        lost = fence(conn, self._token, wanted)
        if lost:
            self.fenced += 1
            log.warning("cluster: commit fenced off (%d so far): node %s no longer holds "
                        "bucket(s) %s at its epoch; nothing of this change is stored or sent",
                        self.fenced, self.name, ", ".join(lost))
            raise Fenced(f"node {self.name} no longer holds bucket(s) {', '.join(lost)}:"
                         " nothing of this change is stored or sent")

    # ---- what the agent asks ------------------------------------------------------------

    def scoped(self, config: Config) -> Config:
        """`config` with only the devices of the buckets the agent has in effect."""
        from dataclasses import replace

        devices = self._map.devices_in(self._adopted)
        return replace(config, devices=tuple(d for d in config.devices if d.id in devices))

    def alerting(self, config: Config) -> Config:
        """What the alert engine watches: `scoped`, and every zone as a subject of its
        own (agent/cluster/zones.py; never polled, only the ZONES_BUCKET holder tells it
        anything)."""
        from dataclasses import replace

        scoped = self.scoped(config)
        zones = zone_devices(self._zones(), self.settings.renew)
        return replace(scoped, devices=scoped.devices + zones) if zones else scoped

    def _zones(self) -> set[str]:
        return {zone_of_bucket(b) for b in self._map.devices} - {""}

    def adopted(self, buckets: frozenset[str]) -> None:
        """The agent has these buckets' devices in effect now (called on its loop)."""
        self._adopted = buckets

    def reload(self, config: Config) -> None:
        """A new configuration: its buckets (declared in the next round)."""
        self._map = BucketMap.build(config.devices, self.settings)

    def start(self, adopt: Adopt, observe: Observe | None = None) -> None:
        """Connects (raises DatabaseUnavailableError, SchemaError) and starts the thread."""
        from agent.cluster.leases import SCHEMA

        conn = open_database(self.settings.dsn.reveal(), SCHEMA, node=self.name)
        self._leases = Leases(conn, node=self.name, zone=self.settings.zone or "",
                              token=self._token, lease=self.settings.lease)
        self._adopt = adopt
        if observe is not None:
            self._observe = observe
        self._thread = threading.Thread(target=self._run, name="lifeline-cluster",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Hands every bucket over at once (SIGTERM): released in the database, so the
        other nodes claim them in their next round, within one renewal period."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.lease + 5)
        if self._leases is not None:
            try:
                self._leases.leave()
                log.info("cluster: node %s left; its buckets were released", self.name)
            except DatabaseUnavailableError as exc:
                log.warning("cluster: could not release the buckets (%s); they pass to "
                            "other nodes when their leases run out", exc)
            self._leases.conn.close()

    # ---- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._round()
                self._last_ok = time.monotonic()
                if self._failing:
                    log.warning("cluster: the database answers again")
                    self._failing = False
            except DatabaseUnavailableError as exc:
                self._cut_off(exc)
            except Exception:       # a bug must not end lease keeping silently
                log.exception("cluster: lease round failed")
            self.rounds += 1
            self._stop.wait(max(0.0, self.settings.renew - (time.monotonic() - started)))

    def _round(self) -> None:
        leases = self._leases
        assert leases is not None
        leases.heartbeat()
        current = self._map
        if self._declared is not current:
            sizes = {b: len(ids) for b, ids in current.devices.items()}
            if self._zones():
                sizes[ZONES_BUCKET] = 0
            leases.declare(sizes)
            self._declared = current
        kept = {h.bucket: h.epoch for h in leases.renew()}
        lost = set(self._claimed) - set(kept)
        if lost:
            log.warning("cluster: buckets taken over by another node while this one did not "
                        "renew (paused or cut off): %s", ", ".join(sorted(lost)))
        view = leases.view()
        plan = moves(self.name, view, set(kept))
        gained = {h.bucket: h.epoch for h in leases.claim(plan.claim)}
        with self._lock:
            self._claimed = {**kept, **gained}
        if lost or gained or self._handed != frozenset(self._claimed):
            # also after a cut-off: the buckets renewed as they were, the agent let go
            self._hand_to_agent(frozenset(self._claimed))
        if plan.release:
            remaining = frozenset(self._claimed) - set(plan.release)
            if self._hand_to_agent(remaining):
                leases.release(plan.release)
                with self._lock:
                    self._claimed = {b: e for b, e in self._claimed.items() if b in remaining}
        renew_in_flight(leases.conn, self._token, self.settings.lease)
        zones = self._zones()
        if zones and ZONES_BUCKET in self._adopted:
            self._observe(zone_results(zones, view.live, self.settings.lease))

    def _hand_to_agent(self, buckets: frozenset[str]) -> bool:
        try:
            self._adopt(buckets)
        except Exception as exc:
            self._handed = None         # the agent's part is unknown: hand again next round
            if isinstance(exc, DatabaseUnavailableError):
                log.warning("cluster: the agent could not take the buckets in effect: %s",
                            exc)
            else:
                log.exception("cluster: the agent could not take the buckets in effect")
            return False
        self._handed = buckets
        return True

    def _cut_off(self, exc: DatabaseUnavailableError) -> None:
        if not self._failing:
            log.error("cluster: %s; keeping the buckets until their leases run out", exc)
            self._failing = True
        if self._claimed and time.monotonic() - self._last_ok > self.settings.lease:
            log.error("cluster: no lease renewed for %.0f s: letting every bucket go (another "
                      "node may hold them now)", time.monotonic() - self._last_ok)
            with self._lock:
                self._claimed = {}
            self._hand_to_agent(frozenset())


def open_node(config: Config, token: str) -> ClusterNode:
    assert config.cluster is not None
    return ClusterNode(config.cluster, config, token=token)

"""The alert path's invariants under random histories (issue 13): the engine and the real
SQLite outbox driven by hypothesis with devices going up and down, a channel that goes
down or refuses, and restarts, on an injected clock. Two stand-in channels record what
they were told: `steady` always takes posts, `flaky` is scripted.

Checked on every channel, once everything is back and delivered:
* every firing told is followed by its resolved;
* no resolved without a firing told before it on that channel;
* no notice twice: each notification id once, and within one episode one firing notice
  (and at most one more, marked flapping);
and, as the engine emits: a child behind a parent never fires while its parent is down,
nor before it has failed its own `outage_polls` polls since the parent came back.
"""
from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.delivery.outbox import Outbox
from alerts.evaluation.store import DB_NAME, Store
from alerts.model import DeliveryError, Notification
from alerts.service import AlertService
from inventory.model import Config

from kits.alerts_engine import SNMP, FakeClock, down, up, write_config

CHILDREN = ("edge-0", "edge-1")
DEVICES = ("core", *CHILDREN, "solo")
CHILD_POLLS = 3
DEVICES_YAML = (
    f"- {{id: core, name: core, category: switch, criticality: high, poll: {SNMP}}}\n"
    + "".join(f"- {{id: {c}, name: {c}, category: switch, parent: core,"
              f" thresholds: {{outage_polls: {CHILD_POLLS}}}, poll: {SNMP}}}\n"
              for c in CHILDREN)
    + f"- {{id: solo, name: solo, category: switch, poll: {SNMP}}}\n")
TIMING = ("group_wait: 0s, group_interval: 0s, retry_initial: 5s, retry_max: 20s,"
          " expire_after: 60s")
ALERTS_YAML = (
    "thresholds: {outage_polls: 2, flap_changes: 3, flap_window: 10m, flap_stable: 60s}\n"
    "channels:\n"
    f"  - {{name: steady, type: webhook, url: 'http://127.0.0.1:9/s', {TIMING}}}\n"
    f"  - {{name: flaky, type: webhook, url: 'http://127.0.0.1:9/f', {TIMING}}}\n"
    "routes:\n  - {channels: [steady, flaky]}\n")


@dataclass
class Told:
    id: str
    event: str
    fingerprint: str
    flapping: bool


@dataclass
class StandIn:
    """A channel that records what it was told; `mode` up, down (retryable) or refusing."""

    name: str
    mode: str = "up"
    told: list[Told] = field(default_factory=list)

    def send(self, notifications: Sequence[Notification], group: Mapping[str, str]) -> None:
        if self.mode == "down":
            raise DeliveryError("connection refused")
        if self.mode == "refusing":
            raise DeliveryError("HTTP 400 Bad Request", retryable=False)
        self.told += [Told(n.id, n.event, n.alert.fingerprint, n.alert.flapping)
                      for n in notifications]


@dataclass
class Model:
    """What the test knows of the devices: whether the parent's outage is open, when it
    came back, each child's failed polls since."""

    parent_down: bool = False
    back: float = float("-inf")
    failed: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CHILDREN})

    def polled(self, device_id: str, ok: bool, t: float) -> None:
        if device_id == "core":
            if ok and self.parent_down:
                self.back = t
            self.parent_down = not ok
        elif device_id in self.failed:
            self.failed[device_id] = [] if ok else [*self.failed[device_id], t]


class CheckingSink:
    """Stands between the engine and the outbox: checks each child firing as it is
    emitted against the model, then enqueues as the outbox does."""

    def __init__(self, outbox: Outbox, model: Model) -> None:
        self.outbox, self.model = outbox, model

    def enqueue(self, conn: sqlite3.Connection, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            device = n.alert.device_id
            if n.event == "firing" and n.alert.rule == "device_down" and device in CHILDREN:
                since_back = [t for t in self.model.failed[device] if t >= self.model.back]
                assert not self.model.parent_down, f"{n.id} told while its parent is down"
                assert len(since_back) >= CHILD_POLLS, (
                    f"{n.id} told after {len(since_back)} failed polls since the parent "
                    "came back")
        self.outbox.enqueue(conn, notifications)


@dataclass
class Run:
    config: Config
    clock: FakeClock
    channels: dict[str, StandIn]
    model: Model = field(default_factory=Model)
    service: AlertService | None = None

    def open(self) -> AlertService:
        db = Path(self.config.agent.state_dir) / DB_NAME
        store = Store(db)
        outbox = Outbox(db, self.config, self.channels, self.clock)
        self.service = AlertService(self.config, store, outbox,
                                    CheckingSink(outbox, self.model), self.clock)
        return self.service

    def round(self, downs: frozenset[str], children_first: bool, every: float) -> None:
        svc = self.service
        assert svc is not None
        order = [*CHILDREN, "core", "solo"] if children_first else list(DEVICES)
        for device_id in order:
            ok = device_id not in downs
            self.model.polled(device_id, ok, self.clock().timestamp())
            svc.observe((up if ok else down)(device_id, self.clock))
        svc.tick()
        svc.deliver_due(wait=True)
        self.clock.advance(every)


round_step = st.tuples(st.just("round"), st.frozensets(st.sampled_from(DEVICES)),
                       st.booleans(), st.sampled_from([1.0, 5.0, 20.0, 70.0]))
flaky_step = st.tuples(st.just("flaky"), st.sampled_from(["up", "down", "refusing"]))
restart_step = st.tuples(st.just("restart"))
steps = st.lists(st.one_of(round_step, round_step, round_step, flaky_step, restart_step),
                 min_size=4, max_size=40)


def check_told(channel: StandIn) -> None:
    ids = [t.id for t in channel.told]
    assert len(ids) == len(set(ids)), f"{channel.name}: a notice told twice: {ids}"
    open_episode: dict[str, list[Told]] = {}
    for told in channel.told:
        episode = open_episode.setdefault(told.fingerprint, [])
        if told.event == "resolved":
            assert episode, f"{channel.name}: {told.id} without a firing told before it"
            open_episode[told.fingerprint] = []
            continue
        episode.append(told)
        for flapping in (False, True):
            firings = [t.id for t in episode if t.event == "firing" and t.flapping == flapping]
            assert len(firings) <= 1, f"{channel.name}: one episode told twice: {firings}"
    still = {fp: [t.id for t in e] for fp, e in open_episode.items() if e}
    assert not still, f"{channel.name}: firing told, never resolved: {still}"


@settings(max_examples=40, deadline=None, derandomize=True)
@given(history=steps)
def test_whatever_happens_every_channel_hears_a_consistent_story(history) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), DEVICES_YAML, ALERTS_YAML)
        run = Run(config, FakeClock(), {"steady": StandIn("steady"), "flaky": StandIn("flaky")})
        svc = run.open()
        try:
            for step in history:
                if step[0] == "round":
                    run.round(step[1], step[2], step[3])
                elif step[0] == "flaky":
                    run.channels["flaky"].mode = step[1]
                else:
                    svc.close()
                    svc = run.open()
            run.channels["flaky"].mode = "up"           # everything back, for long enough
            for _ in range(30):
                run.round(frozenset(), False, 30.0)
            assert run.service is not None
            backlog = {name: s.pending for name, s in run.service.status().delivery.items()}
            assert backlog == {"flaky": 0, "steady": 0}, backlog
        finally:
            assert run.service is not None
            run.service.close()
        for channel in run.channels.values():
            check_told(channel)

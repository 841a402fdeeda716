"""Every profile writes one type per field: two polls of every recording (snmpsim) and of
net-snmp's snmpd (host and generic profiles), all into one database of Debian's real
InfluxDB 1.x, which refuses a field whose type differs from the one it already stored
(`field type conflict`). Not one point may be refused."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.sinks.influx import InfluxSink, RetryPolicy
from agent.sinks.spool import Spool
from collectors.base import Sample
from collectors.snmp.profiles import load_profiles
from config.model import Credentials, InfluxSettings

from kits.waiting import eventually
from peers.influxdb1 import InfluxDB1
from peers.snmp import RECORDINGS, community, device, poll

pytestmark = pytest.mark.peer


@pytest.fixture
def influx(tmp_path: Path) -> Iterator[InfluxDB1]:
    peer = InfluxDB1.start(tmp_path / "influxdb")
    peer.create_database("infra")
    yield peer
    peer.stop()


def _types(samples: list[Sample]) -> dict[tuple[str, str], set[str]]:
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for sample in samples:
        for name, value in sample.fields.items():
            if value is not None:
                seen[(sample.measurement, name)].add(type(value).__name__)
    return seen


def test_a_full_poll_of_every_profile_is_accepted_by_influxdb_1(influx, tmp_path, snmpsim,
                                                                snmpd: Any) -> None:
    # A generous timeout: this test is about types, and a busy machine may hold an answer.
    devices = [device(name, f"{host}:{snmpsim}", name, profile, timeout=3.0, retries=2)
               for name, (host, profile) in RECORDINGS.items()]
    credentials: dict[str, Credentials] = {name: community(name) for name in RECORDINGS}
    credentials["public"] = community("public", "LL_TEST_COMMUNITY")
    devices += [device("snmpd-host", snmpd.address, "public", "host", category="server",
                       timeout=3.0, retries=2),
                device("snmpd-generic", snmpd.address, "public", "generic", category="server",
                       timeout=3.0, retries=2)]
    rounds = poll(devices, credentials, rounds=2, pause=1.0)
    samples = [s for results in rounds for r in results.values() for s in r.samples]
    failed = {d: r.error for results in rounds for d, r in results.items() if not r.reachable}
    assert not failed, failed
    polled_profiles = {d.poll.profile for d in devices if d.poll}
    assert polled_profiles >= {p for _, p in RECORDINGS.values()} | {"host", "generic"}
    assert polled_profiles == set(load_profiles())          # every profile shipped

    mixed = {k: v for k, v in _types(samples).items() if len(v) > 1}
    assert mixed == {}, "a field written with two types"

    settings = InfluxSettings(url=influx.url, api="v1", database="infra", batch_size=500,
                              flush_interval=0.05)
    sink = InfluxSink(settings, Spool(tmp_path / "spool", 10**8),
                      retry=RetryPolicy(initial=0.05, maximum=0.2))
    sink.write(samples)
    eventually(lambda: sink.stats().points_pending == 0, "every point sent")
    sink.close()
    stats = sink.stats()
    assert (stats.points_rejected, stats.last_error) == (0, None), stats
    stored = influx.rows('SELECT count("up") FROM "lifeline_poll" GROUP BY "device_id"',
                         "infra")
    assert {row["device_id"]: row["count"] for row in stored} == {
        d.id: 2 for d in devices}

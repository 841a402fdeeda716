"""The agent writing to a real TSDB (VictoriaMetrics over the InfluxDB v2 write API) while
the TSDB, or the agent itself, goes away: every point arrives, once."""
from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peers.agent import AgentProcess, agent_config, snmp_devices_yaml
from peers.victoria import Series, Victoria

pytestmark = pytest.mark.peer

DEVICES = ("sw-0", "sw-1", "sw-2")


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Victoria]:
    peer = Victoria.start(tmp_path / "vm-data")
    yield peer
    peer.stop()


def _config(tmp_path: Path, snmpd: Any, victoria: Victoria) -> Path:
    influx = (f"storage:\n  influxdb:\n    url: {victoria.url}\n    org: district\n"
              f"    bucket: infra\n    flush_interval: 500ms\n")
    return agent_config(tmp_path, snmp_devices_yaml(snmpd.address, len(DEVICES)),
                        top_extra=influx)


def _poll_times(series: list[Series], device_id: str) -> list[int]:
    return [t for s in series if s.name == "lifeline_poll_up"
            and s.labels.get("device_id") == device_id for t in s.timestamps]


def test_an_influxdb_outage_loses_nothing_and_duplicates_nothing(
        tmp_path: Path, snmpd: Any, victoria: Victoria) -> None:
    agent = AgentProcess(_config(tmp_path, snmpd, victoria)).start()
    try:
        agent.wait_polls("sw-0", 2)
        victoria.stop()
        before = agent.wait_polls("sw-0", 2)["polls"]
        agent.wait_polls("sw-0", before + 4)           # polled through the outage
        agent.wait_for("points spooled during the outage",
                       lambda: ((agent.status() or {}).get("sink") or {}).get("points_pending"))
        victoria.restart()
        agent.wait_polls("sw-0", before + 6)
    finally:
        assert agent.stop() == 0, agent.log()
    final = agent.status() or {}
    assert final["sink"]["points_pending"] == 0, final["sink"]
    assert final["sink"]["points_dropped"] == 0

    series = victoria.wait_for('{__name__="lifeline_poll_up"}', lambda s: all(
        len(_poll_times(s, d)) >= final["devices"][d]["polls"] for d in DEVICES))
    for device_id in DEVICES:
        times = _poll_times(series, device_id)
        assert len(times) == final["devices"][device_id]["polls"], device_id
        assert not [t for t, n in Counter(times).items() if n > 1], "a point written twice"
    interface = [s for s in series if s.name.startswith("interface_")]
    assert not interface            # the selector above asked for lifeline_poll_up only
    rows = victoria.export('{__name__="interface_ifOperStatus",device_id="sw-0"}')
    assert rows and all("ifName" in s.labels and s.labels["site"] == "district-hall"
                        for s in rows)


def _spooled_polls(spool: Path, device_id: str) -> int:
    """lifeline_poll lines of the device waiting in the spool's segment files."""
    needle = b"lifeline_poll,"
    tag = f"device_id={device_id}".encode()
    return sum(1 for seg in spool.glob("seg-*.lp") for line in seg.read_bytes().splitlines()
               if line.startswith(needle) and tag in line.split(b" ", 1)[0].split(b","))


def test_a_killed_agent_delivers_what_it_spooled_after_restart(
        tmp_path: Path, snmpd: Any, victoria: Victoria) -> None:
    config = _config(tmp_path, snmpd, victoria)
    victoria.stop()                                   # down from the start: all spooled
    first = AgentProcess(config).start()
    first.wait_polls("sw-0", 3)
    first.stop(signal.SIGKILL)
    spool = first.state_dir / "spool"
    spooled = {d: _spooled_polls(spool, d) for d in DEVICES}
    assert all(n >= 3 for n in spooled.values()), spooled

    victoria.restart()
    second = AgentProcess(config).start()
    try:
        replayed = victoria.wait_for('{__name__="lifeline_poll_up"}', lambda s: all(
            len(_poll_times(s, d)) >= spooled[d] for d in DEVICES))
        assert all(len(_poll_times(replayed, d)) >= spooled[d] for d in DEVICES), \
            second.log()
    finally:
        assert second.stop() == 0, second.log()
    polled_after = (second.status() or {})["devices"]
    series = victoria.wait_for('{__name__="lifeline_poll_up"}', lambda s: all(
        len(_poll_times(s, d)) >= spooled[d] + polled_after[d]["polls"] for d in DEVICES))
    for device_id in DEVICES:
        times = _poll_times(series, device_id)
        assert len(times) == spooled[device_id] + polled_after[device_id]["polls"], device_id
        assert len(set(times)) == len(times)

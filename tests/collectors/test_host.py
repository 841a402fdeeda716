"""The local host collector on the real host: invariants, not exact values."""
from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from typing import Any

import pytest

from collectors.base import PollResult, ResultCode, Sample
from collectors.catalogue import read, undeclared
from collectors.host import HostCollector, cpu_usage
from inventory.model import Device, PollSpec

from tests.conftest import run_lifeline


def host_device(device_id: str = "noc-host", **poll: Any) -> Device:
    return Device(id=device_id, name="the agent's host", category="server",
                  site="district-hall", poll=PollSpec(protocol="host", **poll))


def poll_twice() -> tuple[PollResult, PollResult]:
    async def run() -> tuple[PollResult, PollResult]:
        collector = HostCollector()
        try:
            first = await collector.collect(host_device())
            return first, await collector.collect(host_device())
        finally:
            await collector.aclose()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def polls() -> tuple[PollResult, PollResult]:
    return poll_twice()


def of(result: PollResult, measurement: str) -> list[Sample]:
    return [s for s in result.samples if s.measurement == measurement]


def test_both_polls_succeed_with_every_measurement(polls) -> None:
    for result in polls:
        assert (result.code, result.error) == (ResultCode.SUCCESS, None)
        assert {s.measurement for s in result.samples} >= {
            "cpu", "mem", "disk", "system", "lifeline_poll"}
        assert undeclared(result.samples, read()) == []
        assert all(s.tags["hostname"] and s.tags["agent_host"] == "localhost"
                   for s in result.samples)
        assert result.identity is not None and result.identity.sys_name


def test_cpu_percentages(polls) -> None:
    # The first poll measures over a short interval of its own: it reports CPU too.
    for result in polls:
        [cpu] = of(result, "cpu")
        assert cpu.tags["cpu"] == "cpu-total"
        assert all(0 <= v <= 100 for v in cpu.fields.values())
        parts = sum(v for k, v in cpu.fields.items()
                    if k not in ("usage_active", "usage_guest", "usage_guest_nice"))
        assert parts == pytest.approx(100, abs=0.01)
        assert cpu.fields["usage_active"] == pytest.approx(100 - cpu.fields["usage_idle"],
                                                           abs=0.01)


def test_memory(polls) -> None:
    [mem] = of(polls[1], "mem")
    f = mem.fields
    assert 0 < f["used"] <= f["total"] and 0 < f["available"] <= f["total"]
    assert f["free"] <= f["total"]
    assert 0 <= f["used_percent"] <= 100 and 0 <= f["available_percent"] <= 100


def test_disks_include_the_root_mount_and_no_pseudo_filesystems(polls) -> None:
    disks = {s.tags["path"]: s for s in of(polls[1], "disk")}
    assert "/" in disks
    for path, disk in disks.items():
        f = disk.fields
        assert f["used"] <= f["total"] and f["free"] <= f["total"]
        assert 0 <= f["used_percent"] <= 100
        assert f["inodes_used"] + f["inodes_free"] == f["inodes_total"]
        assert disk.tags["mode"] in ("ro", "rw") and disk.tags["device"]
        assert disk.tags["fstype"] not in ("tmpfs", "devtmpfs", "proc", "sysfs") \
            or path == "/"


def test_network_counters_never_decrease(polls) -> None:
    first = {s.tags["interface"]: s.fields for s in of(polls[0], "net")}
    second = {s.tags["interface"]: s.fields for s in of(polls[1], "net")}
    assert "lo" not in second
    for name in first.keys() & second.keys():
        assert all(second[name][k] >= first[name][k] >= 0 for k in first[name]), name


def test_system(polls) -> None:
    [system] = of(polls[1], "system")
    assert system.fields["n_cpus"] >= 1 and system.fields["uptime"] > 0
    assert all(system.fields[k] >= 0 for k in ("load1", "load5", "load15"))


def test_cpu_usage_from_two_snapshots() -> None:
    before = {"user": 10.0, "system": 5.0, "idle": 80.0, "iowait": 5.0, "guest": 1.0}
    now = {"user": 13.0, "system": 6.0, "idle": 85.0, "iowait": 6.0, "guest": 2.0}
    usage = cpu_usage(before, now)
    # total 10 s (guest time is already inside user): user 3, system 1, idle 5, iowait 1
    assert (usage["usage_user"], usage["usage_system"], usage["usage_idle"],
            usage["usage_iowait"], usage["usage_active"]) == (30.0, 10.0, 50.0, 10.0, 50.0)
    assert cpu_usage(now, now) == {}
    assert cpu_usage(now, before) == {}, "counters going backwards give no point"
    dipped = cpu_usage(before, {**now, "iowait": 4.9})     # Linux's iowait may step back
    assert dipped["usage_iowait"] == 0.0 and all(0 <= v <= 100 for v in dipped.values())


class _HungMountCollector(HostCollector):
    """Stand-in for a host whose mount hangs (a stale NFS mount cannot be made here):
    gathering blocks until released."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def _gather(self, device_id: str, tags: dict[str, str], at: datetime) -> Any:
        self.release.wait(30)
        return super()._gather(device_id, tags, at)


def test_a_hung_gather_times_out_without_blocking_the_loop() -> None:
    release = threading.Event()

    async def run() -> tuple[PollResult, PollResult]:
        hung = _HungMountCollector(release)
        fine = HostCollector()
        try:
            stuck = asyncio.create_task(hung.collect(host_device("hung", timeout=0.5,
                                                                  retries=0)))
            other = await fine.collect(host_device("fine"))
            assert not stuck.done(), "the healthy poll finished while the hung one waited"
            return await stuck, other
        finally:
            release.set()
            await hung.aclose()
            await fine.aclose()

    stuck, other = asyncio.run(run())
    assert other.code is ResultCode.SUCCESS
    assert stuck.code is ResultCode.TIMEOUT
    assert stuck.error == "host metrics not gathered within 0.5s (a hung mount?)"
    assert [s.measurement for s in stuck.samples] == ["lifeline_poll"]


def test_lifeline_poll_table_shows_the_host(write) -> None:
    path = write("lifeline.yaml", """\
        agent: {name: test}
        devices:
          - {id: noc-host, name: host, category: server, site: hall, poll: {protocol: host}}
          - {id: spare, name: unpolled, category: server}
        """)
    done = run_lifeline("poll", path, "--device", "noc-host", "--device", "spare")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:-1]}
    assert rows["noc-host"][1:3] == ["success", "yes"]
    assert rows["spare"][1] == "skipped"

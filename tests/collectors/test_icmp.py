"""The ICMP collector with real packets: addresses on 127.0.0.0/8 and ::1 answer; a host
in a network namespace this test makes (tests/peers/netns.py) answers, then goes quiet
when its link goes down or its namespace is deleted. No other address is ever a target."""
from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator

import pytest

from collectors.base import PollResult, ResultCode
from collectors.catalogue import read, undeclared
from collectors.icmp import IcmpCollector, PingResult
from inventory.model import Device, PollSpec

from peers.netns import NetnsHost, netns_available, netns_host

pytestmark = pytest.mark.peer   # real ICMP sockets (root or CAP_NET_RAW here)


def camera(address: str, device_id: str = "cam-1", **poll: float) -> Device:
    poll.setdefault("timeout", 0.5)
    poll.setdefault("ping_interval", 0.1)
    return Device(id=device_id, name="camera", category="cctv_camera", site="cctv-center",
                  poll=PollSpec(protocol="icmp", address=address, interval=10.0,
                                **poll))  # type: ignore[arg-type]


def ping(*devices: Device) -> list[PollResult]:
    async def run() -> list[PollResult]:
        collector = IcmpCollector()
        try:
            return list(await asyncio.gather(*(collector.collect(d) for d in devices)))
        finally:
            await collector.aclose()
    return asyncio.run(run())


def fields(result: PollResult) -> dict[str, object]:
    return dict(next(s for s in result.samples if s.measurement == "ping").fields)


@pytest.fixture
def far_host() -> Iterator[NetnsHost]:
    why = netns_available()
    if why:
        pytest.skip(why)
    with netns_host() as host:
        yield host


def test_loopback_targets_answer_every_echo_with_telegrafs_fields() -> None:
    results = ping(*(camera(f"127.0.0.{i}", f"cam-{i}") for i in range(1, 6)))
    for result in results:
        assert result.code is ResultCode.SUCCESS, result.error
        f = fields(result)
        assert f["packets_transmitted"] == 3 and f["packets_received"] == 3
        assert f["percent_packet_loss"] == 0.0 and f["result_code"] == PingResult.SUCCESS
        assert 0 <= f["minimum_response_ms"] <= f["average_response_ms"]  # type: ignore[operator]
        assert f["average_response_ms"] <= f["maximum_response_ms"]  # type: ignore[operator]
        assert f["maximum_response_ms"] < 500  # type: ignore[operator]
        sample = next(s for s in result.samples if s.measurement == "ping")
        assert sample.tags["url"] == sample.tags["agent_host"] == result.device_id.replace(
            "cam-", "127.0.0.")
    assert undeclared([s for r in results for s in r.samples], read()) == []


def test_ipv6_loopback_answers() -> None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.connect(("::1", 9))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    (result,) = ping(camera("::1"))
    assert result.code is ResultCode.SUCCESS, result.error
    assert fields(result)["packets_received"] == 3


def test_one_socket_serves_every_target() -> None:
    before = len(os.listdir("/proc/self/fd"))

    async def run() -> tuple[int, list[PollResult]]:
        collector = IcmpCollector()
        tasks = [asyncio.ensure_future(collector.collect(camera(f"127.0.{i // 250}.{i % 250 + 1}",
                                                                f"cam-{i}", count=2)))
                 for i in range(300)]
        await asyncio.sleep(0.05)                  # every ping in flight now
        during = len(os.listdir("/proc/self/fd"))
        results = list(await asyncio.gather(*tasks))
        assert collector.socket_kind() in ("raw", "datagram")
        await collector.aclose()
        return during, results

    during, results = asyncio.run(run())
    assert all(r.code is ResultCode.SUCCESS for r in results), {r.error for r in results}
    # the event loop's own descriptors, plus one ICMP socket, not 300
    assert during - before <= 4, (before, during)


def test_a_host_in_a_namespace_answers_then_goes_quiet_when_its_link_goes_down(
        far_host: NetnsHost) -> None:
    (result,) = ping(camera(far_host.address))
    assert result.code is ResultCode.SUCCESS, result.error

    far_host.down()
    (result,) = ping(camera(far_host.address))
    assert result.code is ResultCode.TIMEOUT and not result.reachable
    assert result.error is not None and "no echo reply: 3 requests" in result.error
    f = fields(result)
    assert f["packets_transmitted"] == 3 and f["packets_received"] == 0
    assert f["percent_packet_loss"] == 100.0 and f["result_code"] == PingResult.PING_ERROR
    assert "average_response_ms" not in f

    far_host.up()
    (result,) = ping(camera(far_host.address, timeout=2.0))
    assert result.code is ResultCode.SUCCESS, result.error


def test_a_deleted_namespace_is_a_timeout_and_other_targets_are_not_held_up(
        far_host: NetnsHost) -> None:
    far_host.remove()
    gone, alive = ping(camera(far_host.address, "gone"), camera("127.0.0.1", "alive"))
    assert gone.code in (ResultCode.TIMEOUT, ResultCode.CONNECTION_ERROR), gone.error
    assert not gone.reachable
    assert alive.code is ResultCode.SUCCESS
    assert alive.duration < gone.duration


def test_a_poll_takes_count_echoes_spaced_by_ping_interval() -> None:
    (result,) = ping(camera("127.0.0.1", count=4, ping_interval=0.2))
    assert fields(result)["packets_transmitted"] == 4
    assert 0.55 <= result.duration < 2.0, result.duration

"""The shared v1/v2c socket after the loop stalled (collectors/snmp/udp.py): answers that
arrived while the loop was held all count, read in one go before the timers of their
requests run, instead of one per loop round while the timers expire the rest; and the
socket gets the receive buffer it asks for (root: past net.core.rmem_max)."""
from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from collectors.snmp import ber
from collectors.snmp.errors import SnmpError
from collectors.snmp.target import resolve
from collectors.snmp.transport import CommunitySession
from collectors.snmp.udp import RECEIVE_BUFFER_BYTES, UdpDispatcher, size_receive_buffer

from peers.snmp import Peer

pytestmark = pytest.mark.peer    # real snmpd

REQUESTS = 40
SYS_NAME = ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 5, 0))


def _queued_bytes(sock: socket.socket) -> int:
    """What the kernel holds for the socket now (rx_queue of /proc/net/udp)."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] == inode:
            return int(fields[4].split(":")[1], 16)
    raise AssertionError("the dispatcher's socket is not in /proc/net/udp")


def _hold_loop_until(condition: object, *, at_least: float) -> None:
    """Block the loop thread (a stall) until `condition()` and `at_least` seconds."""
    ends = time.monotonic() + at_least
    while not condition() or time.monotonic() < ends:     # type: ignore[operator]
        time.sleep(0.02)


def test_answers_that_arrived_during_a_stall_all_count(snmpd: Peer) -> None:
    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        dispatcher = await UdpDispatcher.open(loop)
        sock = dispatcher._sock
        assert sock is not None
        session = CommunitySession(dispatcher, await resolve(snmpd.address), version="2c",
                                   community="public", timeout=1.0, retries=0)

        async def ask() -> object:
            try:
                return await session.request(ber.GET, [SYS_NAME], deadline=loop.time() + 30)
            except SnmpError as exc:
                return exc

        # One answer first, to learn what one answer takes of the buffer.
        first = asyncio.ensure_future(ask())
        await asyncio.sleep(0)
        _hold_loop_until(lambda: _queued_bytes(sock) > 0, at_least=0)
        one = _queued_bytes(sock)
        await first
        tasks = [asyncio.ensure_future(ask()) for _ in range(REQUESTS)]
        await asyncio.sleep(0)          # every request sent
        # The stall: every answer in the buffer, and every request's timeout passed.
        _hold_loop_until(lambda: _queued_bytes(sock) >= REQUESTS * one, at_least=1.2)
        results = await asyncio.gather(*tasks)
        dispatcher.close()
        return results

    results = asyncio.run(main())
    failed = [r for r in results if isinstance(r, Exception)]
    assert failed == [] and len(results) == REQUESTS


def test_the_socket_gets_the_receive_buffer_it_asks_for() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        granted = size_receive_buffer(sock, RECEIVE_BUFFER_BYTES)
        assert granted == sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        if os.geteuid() == 0:        # SO_RCVBUFFORCE: rmem_max does not cap it
            assert granted >= RECEIVE_BUFFER_BYTES

"""One UDP socket for every v1/v2c request of the process (`UdpDispatcher`), answers
matched to their request by request-id and source address.

A request is re-sent with the same message and request-id on each retry, so a late
answer to the first attempt still counts. Each request has its own attempts and timeout;
the deadline it is also given is the whole poll's, which only cuts the last wait short.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import socket
from typing import cast

from collectors.snmp import ber
from collectors.snmp.errors import PollBudgetSpentError, SnmpError, SnmpTimeoutError
from collectors.snmp.target import Address, address_text

log = logging.getLogger(__name__)

_JITTER = 0.005     # seconds: loop time read twice for "the same moment"
# The receive buffer asked for: the answers of a burst of polls, kept while the loop is
# busy (a core taken by another process, a long callback). An answer the kernel drops for
# want of room is a timeout and a retry; ~2.3 KiB of buffer per answer of a switch poll on
# loopback, so 8 MiB holds about 3,500, some 7 s of answers at 30,000 polls a minute.
RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024
# Answers read per readiness callback: asyncio reads one datagram per loop iteration, so
# after a stall the backlog would drain one answer per round of every other callback, and
# timers would expire requests whose answers sat unread in the buffer.
DRAIN_MAX = 512
_SO_RCVBUFFORCE = 33    # Linux's socket option; Python's socket module does not name it


class _Exchange:
    """One outstanding request: its message, the attempts left, the future it resolves."""

    __slots__ = (
        "address",
        "attempt_timeout",
        "attempts_left",
        "cut_by_deadline",
        "deadline",
        "dispatcher",
        "future",
        "garbled",
        "message",
        "timer",
    )

    def __init__(self, dispatcher: UdpDispatcher, message: bytes, address: Address,
                 attempts: int, attempt_timeout: float, deadline: float) -> None:
        self.dispatcher = dispatcher
        self.future: asyncio.Future[bytes] = dispatcher.loop.create_future()
        self.message = message
        self.address = address
        self.attempts_left = attempts
        self.attempt_timeout = attempt_timeout
        self.deadline = deadline
        self.cut_by_deadline = False    # the last wait was shorter than a whole attempt
        self.garbled = 0                # datagrams from the address that were not SNMP
        self.timer: asyncio.TimerHandle | None = None

    def send(self) -> None:
        loop = self.dispatcher.loop
        remaining = self.deadline - loop.time()
        if self.attempts_left <= 0 and not self.cut_by_deadline:
            # Every attempt waited its whole timeout, even when the poll's time ends at
            # the same moment (a budget of exactly timeout x attempts): the device's. One
            # that sent back only what is not SNMP did answer, badly: a bad response.
            where = address_text(self.address)
            self._fail(SnmpError(f"{where} answered only with what is not SNMP ("
                                 f"{self.garbled} undecodable datagram"
                                 f"{'s' if self.garbled > 1 else ''})")
                       if self.garbled else SnmpTimeoutError(f"no answer from {where}"))
            return
        if self.cut_by_deadline or remaining <= 0:
            # The poll's time ran out, not the device's attempts: say which.
            self._fail(PollBudgetSpentError(
                f"{address_text(self.address)}: the poll's time ran out while a request waited"))
            return
        self.attempts_left -= 1
        self.dispatcher.sendto(self.message, self.address)
        # A wait shorter than an attempt by more than the clock's jitter was cut short.
        self.cut_by_deadline = remaining < self.attempt_timeout - _JITTER
        # Retry from a timer callback rather than a loop of awaits: one future per request.
        self.timer = loop.call_later(min(self.attempt_timeout, remaining), self.send)

    def _fail(self, error: SnmpError) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class UdpDispatcher(asyncio.DatagramProtocol):
    """One UDP socket for every v1/v2c request of the process, demultiplexed by request-id."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, _Exchange] = {}
        self._ids = itertools.count(1)
        self.stray = 0          # answers nobody waited for (late, spoofed or malformed)
        self._sock: socket.socket | None = None
        self.receive_buffer = 0     # bytes the kernel granted (it reports twice the ask)

    @classmethod
    async def open(cls, loop: asyncio.AbstractEventLoop) -> UdpDispatcher:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        granted = size_receive_buffer(sock, RECEIVE_BUFFER_BYTES)
        sock.bind(("0.0.0.0", 0))
        sock.setblocking(False)
        _, protocol = await loop.create_datagram_endpoint(lambda: cls(loop), sock=sock)
        protocol._sock = sock
        protocol.receive_buffer = granted
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio types the argument as the base class; a datagram endpoint passes this one.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def next_request_id(self) -> int:
        rid = next(self._ids)
        if rid >= 0x7FFFFFFF:
            self._ids = itertools.count(1)
        return rid

    def sendto(self, message: bytes, address: Address) -> None:
        assert self.transport is not None
        self.transport.sendto(message, address)

    def datagram_received(self, data: bytes, addr: tuple[object, ...]) -> None:
        self._take(data, addr)
        # Then what else is waiting, up to DRAIN_MAX: the socket is ours and non-blocking.
        sock = self._sock
        if sock is None:
            return
        for _ in range(DRAIN_MAX):
            try:
                data, addr = sock.recvfrom(65536)
            except OSError:         # BlockingIOError: drained; anything else: asyncio's turn
                return
            self._take(data, addr)

    def _take(self, data: bytes, addr: tuple[object, ...]) -> None:
        try:
            _, _, request_id = ber.peek_header(data)
        except ber.BerError:
            self.stray += 1
            # No request id to match it by: every request waiting on that address learns
            # that it answered, badly (rare, so the scan costs nothing in the normal case).
            for waiting in self.pending.values():
                if waiting.address == addr[:2]:
                    waiting.garbled += 1
            return
        exchange = self.pending.get(request_id)
        # Only the address we asked may answer: a stray datagram must not resolve a request.
        if exchange is None or exchange.future.done() or addr[:2] != exchange.address:
            self.stray += 1
            return
        exchange.future.set_result(data)

    async def exchange(self, message: bytes, request_id: int, address: Address,
                       attempts: int, attempt_timeout: float, deadline: float) -> bytes:
        ex = _Exchange(self, message, address, attempts, attempt_timeout, deadline)
        self.pending[request_id] = ex
        try:
            ex.send()
            return await ex.future
        finally:
            if ex.timer is not None:
                ex.timer.cancel()
            del self.pending[request_id]

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def size_receive_buffer(sock: socket.socket, wanted: int) -> int:
    """Ask for a `wanted`-byte receive buffer: SO_RCVBUFFORCE first (root or
    CAP_NET_ADMIN: past net.core.rmem_max), else SO_RCVBUF (capped at rmem_max). Returns
    what the kernel granted; less than asked is logged once, with the sysctl that raises
    it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, wanted)
    except OSError:                       # no privilege (or not Linux): the capped way
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2   # Linux doubles it
    if granted < wanted:
        log.warning("SNMP socket receive buffer %d KiB of the %d KiB asked for: answers to "
                    "a burst of polls may be dropped while the agent is busy; raise "
                    "net.core.rmem_max to %d (sysctl)", granted // 1024, wanted // 1024,
                    wanted)
    return granted


__all__ = ["UdpDispatcher", "size_receive_buffer"]

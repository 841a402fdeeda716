"""ICMP echo over one socket per address family, for every target at once.

`EchoSocket.open(family)` opens a privileged raw socket (root, or CAP_NET_RAW) and, when
that is refused, an unprivileged datagram ("ping") socket, which Linux allows to the
groups in `net.ipv4.ping_group_range` (for IPv4 and IPv6 alike). When neither opens,
`IcmpUnavailableError` says what to grant. The socket is read by the event loop
(`add_reader`); `send(address)` returns an `Echo` whose future is resolved by the reply,
by an ICMP error about it (raw sockets only: a datagram socket is not told of them), or
never (the caller stops waiting at its timeout and calls `forget`).

Replies are matched by sequence number, source address and an 8-byte token of this
socket carried in every request's payload, so replies meant for another process on the
same host (a raw socket sees every echo reply the host receives: fping's too) are never
counted. On a raw socket the identifier is ours as well; on a datagram socket the kernel
sets it and delivers only our own replies.
"""
from __future__ import annotations

import asyncio
import errno
import os
import secrets
import socket
import struct
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

PAYLOAD_SIZE = 56                 # ping's default: 64 bytes of ICMP
_ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
_ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
# ICMP errors that quote one of our requests: destination unreachable, time exceeded.
_ERRORS = {socket.AF_INET: {3: "destination unreachable", 11: "time exceeded"},
           socket.AF_INET6: {1: "destination unreachable", 3: "time exceeded"}}
_PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}
_SOL_RAW, _ICMP_FILTER, _ICMP6_FILTER = 255, 1, 1     # Linux <linux/icmp.h>, <netinet/icmp6.h>
_READ_BATCH = 256                 # datagrams read per wake-up before yielding to the loop
PING_GROUP_RANGE = Path("/proc/sys/net/ipv4/ping_group_range")

GRANT = ("grant the agent CAP_NET_RAW (systemd: AmbientCapabilities=CAP_NET_RAW, as "
         "config/systemd/lifeline.service does; by hand: setcap cap_net_raw+ep on the "
         "Python binary the agent runs, readlink -f .venv/bin/python), or let its group "
         "open unprivileged ICMP sockets: sysctl -w net.ipv4.ping_group_range=\"{gid} {gid}\"")


class IcmpUnavailableError(Exception):
    """Neither a raw nor a datagram ICMP socket could be opened; the message names the fix."""


@dataclass(slots=True, eq=False)
class Echo:
    """One echo request in flight. `future` ends with the round trip in seconds, or with
    the text of an ICMP error about the request."""

    address: str
    seq: int
    sent: float                                   # time.monotonic()
    future: asyncio.Future[float | str]
    error: str | None = None                      # sending failed (no future result then)


@dataclass(slots=True)
class EchoSocket:
    """One ICMP socket of one family serving every target; see the module's docstring."""

    family: socket.AddressFamily
    sock: socket.socket
    privileged: bool
    ident: int
    token: bytes = field(default_factory=lambda: secrets.token_bytes(8))
    pending: dict[int, Echo] = field(default_factory=dict)
    next_seq: int = field(default_factory=lambda: secrets.randbelow(0x10000))
    loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def open(cls, family: socket.AddressFamily) -> EchoSocket:
        """A raw socket when allowed, else a datagram one; IcmpUnavailableError else."""
        proto = _PROTO[family]
        try:
            sock = socket.socket(family, socket.SOCK_RAW, proto)
            privileged = True
        except PermissionError as raw_error:
            try:
                sock = socket.socket(family, socket.SOCK_DGRAM, proto)
                privileged = False
            except PermissionError:
                raise IcmpUnavailableError(_unavailable(raw_error)) from None
        sock.setblocking(False)
        if privileged:
            _filter_replies(sock, family)
        return cls(family, sock, privileged, secrets.randbelow(0x10000))

    @property
    def kind(self) -> str:
        return "raw" if self.privileged else "datagram"

    def send(self, address: str) -> Echo:
        """Send one echo request to `address` (a numeric address of this family)."""
        loop = self._attach()
        seq = self._sequence()
        packet = _request(self.family, self.ident, seq, self.token)
        echo = Echo(address, seq, time.monotonic(), loop.create_future())
        try:
            self.sock.sendto(packet, (address, 0))
        except OSError as exc:
            echo.error = os.strerror(exc.errno) if exc.errno else str(exc)
            return echo
        self.pending[seq] = echo
        return echo

    def forget(self, echoes: list[Echo]) -> None:
        """Stop matching these echoes (answered or given up on)."""
        for echo in echoes:
            if self.pending.get(echo.seq) is echo:
                del self.pending[echo.seq]
            if not echo.future.done():
                echo.future.cancel()

    def close(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        for echo in self.pending.values():
            if not echo.future.done():
                echo.future.cancel()
        self.pending.clear()

    # --- internals -----------------------------------------------------------------------

    def _attach(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
            self.loop.add_reader(self.sock.fileno(), self._readable)
        return self.loop

    def _sequence(self) -> int:
        for _ in range(0x10000):
            self.next_seq = (self.next_seq + 1) & 0xFFFF
            if self.next_seq not in self.pending:
                return self.next_seq
        raise RuntimeError("65536 echo requests in flight on one socket")

    def _readable(self) -> None:
        now = time.monotonic()
        for _ in range(_READ_BATCH):
            try:
                data, source = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return          # a queued error (ICMP error on a datagram socket): ignore
            self._received(data, source[0], now)

    def _received(self, data: bytes, source: str, now: float) -> None:
        if self.privileged and self.family == socket.AF_INET:
            data = data[(data[0] & 0x0F) * 4:] if data else data   # strip the IPv4 header
        if len(data) < 8:
            return
        kind, seq = data[0], struct.unpack_from("!H", data, 6)[0]
        if kind == _ECHO_REPLY[self.family]:
            echo = self.pending.get(seq)
            if (echo is not None and echo.address == source.partition("%")[0]
                    and data[8:16] == self.token
                    and (not self.privileged or struct.unpack_from("!H", data, 4)[0]
                         == self.ident)):
                self._settle(echo, now - echo.sent)
        elif self.privileged and kind in _ERRORS[self.family]:
            self._error(kind, data, source)

    def _error(self, kind: int, data: bytes, source: str) -> None:
        """An ICMP error quoting one of our requests: that echo failed, and why."""
        inner = data[8:]
        if self.family == socket.AF_INET:
            if len(inner) < 28:
                return
            quoted, target = inner[(inner[0] & 0x0F) * 4:], socket.inet_ntop(
                socket.AF_INET, inner[16:20])
        else:
            if len(inner) < 48:
                return
            quoted, target = inner[40:], socket.inet_ntop(socket.AF_INET6, inner[24:40])
        if len(quoted) < 8 or quoted[0] != _ECHO_REQUEST[self.family]:
            return
        ident, seq = struct.unpack_from("!HH", quoted, 4)
        echo = self.pending.get(seq)
        if echo is not None and ident == self.ident and echo.address == target:
            self._settle(echo, f"{_ERRORS[self.family][kind]} (code {data[1]}, from {source})")

    def _settle(self, echo: Echo, outcome: float | str) -> None:
        del self.pending[echo.seq]
        if not echo.future.done():
            echo.future.set_result(outcome)


def _request(family: socket.AddressFamily, ident: int, seq: int, token: bytes) -> bytes:
    payload = token + bytes(PAYLOAD_SIZE - len(token))
    header = struct.pack("!BBHHH", _ECHO_REQUEST[family], 0, 0, ident, seq)
    if family == socket.AF_INET6:
        return header + payload        # the kernel sums ICMPv6 (it covers the IPv6 header)
    checksum = _checksum(header + payload)
    return struct.pack("!BBHHH", 8, 0, checksum, ident, seq) + payload


def _checksum(data: bytes) -> int:
    """RFC 1071's ones'-complement sum (data of even length, as ours always is)."""
    words = array("H", data)
    total = sum(words)
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return socket.htons(~total & 0xFFFF)


def _filter_replies(sock: socket.socket, family: socket.AddressFamily) -> None:
    """Let only echo replies and the errors we read reach a raw socket: it would
    otherwise be woken by every ICMP message the host receives."""
    wanted = [_ECHO_REPLY[family], *_ERRORS[family]]
    try:
        if family == socket.AF_INET:
            mask = 0xFFFFFFFF
            for kind in wanted:
                mask &= ~(1 << kind)
            sock.setsockopt(_SOL_RAW, _ICMP_FILTER, struct.pack("I", mask))
        else:
            words = [0xFFFFFFFF] * 8
            for kind in wanted:
                words[kind >> 5] &= ~(1 << (kind & 31))
            sock.setsockopt(socket.IPPROTO_ICMPV6, _ICMP6_FILTER, struct.pack("8I", *words))
    except OSError:
        pass        # a filter is an optimisation: matching does not rely on it


def _unavailable(raw_error: OSError) -> str:
    gid = os.getgid()
    try:
        allowed = PING_GROUP_RANGE.read_text(encoding="ascii").split()
        groups = f"net.ipv4.ping_group_range is {' '.join(allowed)}, without group {gid}"
    except OSError:
        groups = "unprivileged ICMP sockets are not available"
    why = raw_error.strerror or errno.errorcode.get(raw_error.errno or 0, "refused")
    return (f"cannot open an ICMP socket: raw sockets: {why} (needs root or CAP_NET_RAW); "
            f"datagram sockets: {groups}. To ping, " + GRANT.format(gid=gid))


def check_permission() -> str | None:
    """None when this process can ping over IPv4, else what to grant (for a start-up
    check: the agent refuses to start rather than report every target down)."""
    try:
        EchoSocket.open(socket.AF_INET).sock.close()
    except IcmpUnavailableError as exc:
        return str(exc)
    return None

"""Sessions: one request/response exchange with one agent, with timeout and retries.

Two implementations behind one small interface (`Session.request`):

- `CommunitySession` (v1, v2c): messages built and parsed by `ber`, sent over one
  shared UDP socket (`UdpDispatcher`) and matched to their request by request-id and
  source address. Retries re-send the same message with the same request-id, so a late
  answer to the first attempt still counts.
- `UsmSession` (v3): pysnmp's command generator on the process-wide `SnmpEngine`, which
  does USM discovery, authentication and privacy. SNMPv3 report PDUs (unknown user,
  wrong digest, decryption error) become `SnmpAuthError`, distinct from a timeout.

Both return a `ber.Response`-shaped result (error-status, error-index, varbinds as
`(encoded oid, tag, value)` tuples), so the walker above them is the same for every version.
"""
from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from collectors.snmp import ber
from collectors.snmp.errors import (
    SnmpAuthError,
    SnmpConfigError,
    SnmpConnectionError,
    SnmpError,
    SnmpTimeout,
)

if TYPE_CHECKING:
    from collectors.snmp.engine import EngineHolder

Address = tuple[str, int]


class Session(Protocol):
    """One agent, one set of credentials, a timeout and a number of retries."""

    address: str

    async def request(self, pdu: int, oids: Sequence[bytes], *, non_repeaters: int = 0,
                      max_repetitions: int = 0, deadline: float) -> ber.Response:
        """Send one PDU and return the agent's response. `deadline` is loop time after
        which no further attempt starts. Raises SnmpError subclasses, never others."""
        ...


# --- v1 / v2c over the shared socket ------------------------------------------------

class _Exchange:
    """One outstanding request: its message, the attempts left, the future it resolves."""

    __slots__ = (
        "address",
        "attempts_left",
        "deadline",
        "dispatcher",
        "future",
        "message",
        "timeout",
        "timer",
    )

    def __init__(self, dispatcher: UdpDispatcher, message: bytes, address: Address,
                 attempts: int, timeout: float, deadline: float) -> None:
        self.dispatcher = dispatcher
        self.future: asyncio.Future[bytes] = dispatcher.loop.create_future()
        self.message = message
        self.address = address
        self.attempts_left = attempts
        self.timeout = timeout
        self.deadline = deadline
        self.timer: asyncio.TimerHandle | None = None

    def send(self) -> None:
        loop = self.dispatcher.loop
        remaining = self.deadline - loop.time()
        if self.attempts_left <= 0 or remaining <= 0:
            if not self.future.done():
                self.future.set_exception(SnmpTimeout(f"no answer from {_fmt(self.address)}"))
            return
        self.attempts_left -= 1
        self.dispatcher.sendto(self.message, self.address)
        # Retry from a timer callback rather than a loop of awaits: one future per request.
        self.timer = loop.call_later(min(self.timeout, remaining), self.send)


class UdpDispatcher(asyncio.DatagramProtocol):
    """One UDP socket for every v1/v2c request of the process, demultiplexed by request-id."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, _Exchange] = {}
        self._ids = itertools.count(1)
        self.stray = 0          # answers nobody waited for (late, spoofed or malformed)

    @classmethod
    async def open(cls, loop: asyncio.AbstractEventLoop) -> UdpDispatcher:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Many agents answering at once: a larger buffer avoids drops that look like timeouts.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind(("0.0.0.0", 0))
        sock.setblocking(False)
        _, protocol = await loop.create_datagram_endpoint(lambda: cls(loop), sock=sock)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def next_request_id(self) -> int:
        rid = next(self._ids)
        if rid >= 0x7FFFFFFF:
            self._ids = itertools.count(1)
        return rid

    def sendto(self, message: bytes, address: Address) -> None:
        assert self.transport is not None
        self.transport.sendto(message, address)

    def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[override]
        try:
            _, _, request_id = ber.peek_header(data)
        except ber.BerError:
            self.stray += 1
            return
        exchange = self.pending.get(request_id)
        # Only the address we asked may answer: a stray datagram must not resolve a request.
        if exchange is None or exchange.future.done() or addr[:2] != exchange.address:
            self.stray += 1
            return
        exchange.future.set_result(data)

    async def exchange(self, message: bytes, request_id: int, address: Address,
                       attempts: int, timeout: float, deadline: float) -> bytes:
        ex = _Exchange(self, message, address, attempts, timeout, deadline)
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


class CommunitySession:
    """SNMP v1 or v2c with a community, over the shared dispatcher."""

    __slots__ = (
        "_attempts",
        "_community",
        "_target",
        "_timeout",
        "_version",
        "address",
        "dispatcher",
    )

    def __init__(self, dispatcher: UdpDispatcher, target: Address, *, version: str,
                 community: str, timeout: float, retries: int) -> None:
        self.dispatcher = dispatcher
        self.address = _fmt(target)
        self._target = target
        self._version = ber.VERSION_1 if version == "1" else ber.VERSION_2C
        self._community = community.encode()
        self._timeout = timeout
        self._attempts = retries + 1

    def __repr__(self) -> str:  # the community stays out of every repr
        return f"CommunitySession({self.address}, v{'1' if self._version == 0 else '2c'})"

    async def request(self, pdu: int, oids: Sequence[bytes], *, non_repeaters: int = 0,
                      max_repetitions: int = 0, deadline: float) -> ber.Response:
        request_id = self.dispatcher.next_request_id()
        message = ber.encode_request(self._version, self._community, pdu, request_id,
                                      ber.null_varbinds(oids), non_repeaters, max_repetitions)
        data = await self.dispatcher.exchange(message, request_id, self._target,
                                              self._attempts, self._timeout, deadline)
        try:
            community, response = ber.decode_response(data)
        except ber.BerError as exc:
            raise SnmpError(f"{self.address} sent a malformed response: {exc}") from None
        if community != self._community:
            raise SnmpError(f"{self.address} answered with another community")
        return response


# --- v3 through pysnmp ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UsmParams:
    """Resolved SNMPv3 parameters; built from SnmpCredentials at poll time."""

    user: str
    auth_protocol: str | None
    auth_key: str | None
    priv_protocol: str | None
    priv_key: str | None
    context: str

    def __repr__(self) -> str:
        return (f"UsmParams(user={self.user!r}, auth={self.auth_protocol}, "
                f"priv={self.priv_protocol}, context={self.context!r})")


class UsmSession:
    """SNMPv3 via pysnmp's command generator on the shared engine."""

    def __init__(self, holder: EngineHolder, target: Address, params: UsmParams, *,
                 timeout: float, retries: int) -> None:
        self.address = _fmt(target)
        self._holder = holder
        self._target = target
        self._params = params
        self._timeout = timeout
        self._retries = retries
        self._transport = None

    def __repr__(self) -> str:
        return f"UsmSession({self.address}, {self._params!r})"

    async def request(self, pdu: int, oids: Sequence[bytes], *, non_repeaters: int = 0,
                      max_repetitions: int = 0, deadline: float) -> ber.Response:
        from collectors.snmp import _pysnmp

        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise SnmpTimeout(f"no answer from {self.address}")
        if self._transport is None:
            self._transport = await _pysnmp.make_target(self._target, self._timeout,
                                                        self._retries)
        try:
            # pysnmp keeps its own timers; the outer bound keeps our deadline exact.
            return await asyncio.wait_for(
                _pysnmp.request(self._holder, self._transport, self._params, pdu, oids,
                                non_repeaters, max_repetitions, self.address),
                timeout=remaining + 0.05)
        except TimeoutError:
            raise self._timeout_error() from None
        except SnmpTimeout:
            raise self._timeout_error() from None
        except SnmpError:
            raise
        except Exception as exc:  # pysnmp raises its own errors from deep inside
            raise SnmpError(f"{self.address}: {type(exc).__name__}: {exc}") from None


    def _timeout_error(self) -> SnmpTimeout:
        # net-snmp drops a message it cannot decrypt without a report: say so.
        hint = " (a wrong SNMPv3 privacy key looks the same)" if self._params.priv_protocol else ""
        return SnmpTimeout(f"no answer from {self.address}{hint}")


async def resolve(address: str, default_port: int = 161) -> Address:
    """'host', 'host:port' or '[v6]:port' to a numeric (ip, port). IPv4 only for now."""
    host, _, port_text = address.rpartition(":") if ":" in address else (address, "", "")
    if not host:
        host, port_text = address, ""
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise SnmpConfigError(f"bad port in address {address!r}") from None
    try:
        socket.inet_aton(host)
        return host, port
    except OSError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise SnmpConnectionError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    return infos[0][4][0], port


def _fmt(address: Address) -> str:
    return f"{address[0]}:{address[1]}"


__all__ = ["CommunitySession", "Session", "SnmpAuthError", "UdpDispatcher", "UsmParams",
           "UsmSession", "resolve"]

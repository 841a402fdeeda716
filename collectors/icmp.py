"""The ICMP collector (`poll.protocol: icmp`): echo requests, Telegraf's `ping` measurement.

Public API: `IcmpCollector.from_config(config)`, a `collectors.base.Collector`;
`ENTRIES` and `TAGS`, this collector's part of the metric catalogue; `check_permission()`
for the agent's start-up check.

One poll sends `poll.count` echo requests `poll.ping_interval` apart and waits for each
at most `poll.timeout`. Every target shares one socket per address family
(`collectors._echo`): a district pings hundreds of cameras at once, and a socket (and a
file descriptor) per target would cost more than the pings. `poll.retries` does not
apply: the `count` echoes are the attempts.

Outcomes: at least one reply is `success` (the loss is a field, for the packet-loss
rule); every echo unanswered is `timeout` (so `device_down` counts it like any failed
poll); a name that does not resolve, or requests that could not be sent, are
`connection_error`; no ICMP socket at all is `config_error`, its error naming the fix.

Why not icmplib: its `async_multiping` opens a socket per target and per call, and
matches replies by a per-socket identifier; one socket for every target is the point
here, and the packet code it would save is fifty lines (`collectors/_echo.py`).
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import statistics
import time as _time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING

from collectors._echo import Echo, EchoSocket, IcmpUnavailableError, check_permission
from collectors.base import FieldValue, PollResult, ResultCode, Sample, device_tags, poll_sample
from collectors.catalogue_entry import Entry, MeasurementTags

if TYPE_CHECKING:
    from inventory.model import Config, Device, PollSpec

MEASUREMENT = "ping"


class PingResult(IntEnum):
    """Telegraf's `ping` result_code."""

    SUCCESS = 0
    NO_SUCH_HOST = 1
    PING_ERROR = 2


ENTRIES: tuple[Entry, ...] = (
    Entry(MEASUREMENT, "packets_transmitted", "gauge", "packets",
          "echo requests sent in this poll (poll.count, less any the host refused to send)"),
    Entry(MEASUREMENT, "packets_received", "gauge", "packets",
          "echo replies received within poll.timeout of their request"),
    Entry(MEASUREMENT, "percent_packet_loss", "gauge", "percent",
          "(transmitted - received) / transmitted x 100"),
    Entry(MEASUREMENT, "minimum_response_ms", "gauge", "milliseconds",
          "shortest round trip (absent when nothing answered)"),
    Entry(MEASUREMENT, "average_response_ms", "gauge", "milliseconds",
          "mean round trip (absent when nothing answered)"),
    Entry(MEASUREMENT, "maximum_response_ms", "gauge", "milliseconds",
          "longest round trip (absent when nothing answered)"),
    Entry(MEASUREMENT, "standard_deviation_ms", "gauge", "milliseconds",
          "population standard deviation of the round trips (absent when nothing answered)"),
    Entry(MEASUREMENT, "result_code", "enum", "",
          "0 success (at least one reply), 1 no such host (the name did not resolve), "
          "2 ping error (no reply at all, or nothing could be sent)"),
)
TAGS: MeasurementTags = {MEASUREMENT: ["url"]}


class IcmpCollector:
    """Pings devices. One per process; sockets open on first use, close in `aclose`."""

    def __init__(self, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._now = now
        self._sockets: dict[socket.AddressFamily, EchoSocket] = {}

    @classmethod
    def from_config(cls, config: Config) -> IcmpCollector:
        return cls()

    async def aclose(self) -> None:
        for echo_socket in self._sockets.values():
            echo_socket.close()
        self._sockets.clear()

    def socket_kind(self, family: socket.AddressFamily = socket.AF_INET) -> str | None:
        """"raw" or "datagram" once that family's socket is open, else None."""
        found = self._sockets.get(family)
        return found.kind if found else None

    async def collect(self, device: Device) -> PollResult:
        """Ping once (`count` echoes); every failure comes back as a code and an error."""
        started = self._now()
        t0 = _time.perf_counter()
        spec = device.poll
        host = spec.address if spec is not None and spec.address else ""
        code, result, error, rtts, sent = await self._ping(spec, host)
        duration = _time.perf_counter() - t0
        tags = device_tags(device, agent_host=host or None, hostname=None)
        fields: dict[str, FieldValue] = {"result_code": int(result)}
        if sent is not None:
            fields |= _statistics(sent, rtts)
        samples = (Sample(MEASUREMENT, {**tags, "url": host}, fields, started),
                   poll_sample(code, duration, tags, started))
        return PollResult(device_id=device.id, code=code, started=started, duration=duration,
                          error=error, samples=samples)

    async def _ping(self, spec: PollSpec | None, host: str
                    ) -> tuple[ResultCode, PingResult, str | None, list[float], int | None]:
        """(code, Telegraf result, error, round trips, requests sent or None)."""
        if spec is None or spec.protocol != "icmp" or not host:
            return (ResultCode.CONFIG_ERROR, PingResult.PING_ERROR,
                    "no icmp poll settings (address)", [], None)
        target = await _resolve(host)
        if isinstance(target, str):
            return ResultCode.CONNECTION_ERROR, PingResult.NO_SUCH_HOST, target, [], None
        try:
            echo_socket = self._socket(target[0])
        except IcmpUnavailableError as exc:
            return ResultCode.CONFIG_ERROR, PingResult.PING_ERROR, str(exc), [], None
        echoes = await _exchange(echo_socket, target[1], spec)
        return _verdict(echoes, spec)

    def _socket(self, family: socket.AddressFamily) -> EchoSocket:
        found = self._sockets.get(family)
        if found is None:
            found = self._sockets[family] = EchoSocket.open(family)
        return found


async def _resolve(host: str) -> tuple[socket.AddressFamily, str] | str:
    """(family, numeric address), or why the name does not resolve."""
    try:
        parsed = ipaddress.ip_address(host)
        family = socket.AF_INET6 if parsed.version == 6 else socket.AF_INET
        return family, str(parsed)
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, None, type=socket.SOCK_RAW)
    except (OSError, UnicodeError) as exc:
        return f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}"
    family, _, _, _, sockaddr = found[0]
    return socket.AddressFamily(family), str(sockaddr[0])


async def _exchange(echo_socket: EchoSocket, address: str, spec: PollSpec) -> list[Echo]:
    """Send `count` echoes `ping_interval` apart; wait for each at most `timeout`."""
    loop = asyncio.get_running_loop()
    begin = loop.time()
    echoes: list[Echo] = []
    try:
        for index in range(spec.count):
            if index:
                await asyncio.sleep(max(0.0, begin + index * spec.ping_interval - loop.time()))
            echoes.append(echo_socket.send(address))
        waiting = [e.future for e in echoes if e.error is None]
        if waiting:
            last = max(e.sent for e in echoes)
            await asyncio.wait(waiting, timeout=max(0.0, last + spec.timeout - _time.monotonic()))
    finally:
        echo_socket.forget(echoes)
    return echoes


def _verdict(echoes: list[Echo], spec: PollSpec
             ) -> tuple[ResultCode, PingResult, str | None, list[float], int | None]:
    rtts: list[float] = []
    errors: list[str] = []
    for echo in echoes:
        if echo.error is not None:
            errors.append(echo.error)
        elif echo.future.done() and not echo.future.cancelled():
            outcome = echo.future.result()
            if isinstance(outcome, str):
                errors.append(outcome)
            elif outcome <= spec.timeout:
                rtts.append(outcome)
    sent = sum(1 for e in echoes if e.error is None)
    if sent == 0:
        return (ResultCode.CONNECTION_ERROR, PingResult.PING_ERROR,
                f"cannot send an echo request: {errors[0]}", [], 0)
    if rtts:
        return ResultCode.SUCCESS, PingResult.SUCCESS, None, rtts, sent
    why = f"; {errors[0]}" if errors else ""
    return (ResultCode.TIMEOUT, PingResult.PING_ERROR,
            f"no echo reply: {sent} request{'s' if sent != 1 else ''}, none answered "
            f"within {spec.timeout:g} s{why}", [], sent)


def _statistics(sent: int, rtts: list[float]) -> dict[str, FieldValue]:
    fields: dict[str, FieldValue] = {
        "packets_transmitted": sent, "packets_received": len(rtts),
        "percent_packet_loss": round((sent - len(rtts)) / sent * 100, 3) if sent else 100.0}
    if rtts:
        ms = [r * 1000 for r in rtts]
        fields |= {"minimum_response_ms": round(min(ms), 3),
                   "average_response_ms": round(statistics.fmean(ms), 3),
                   "maximum_response_ms": round(max(ms), 3),
                   "standard_deviation_ms": round(statistics.pstdev(ms), 3)}
    return fields


__all__ = ["ENTRIES", "MEASUREMENT", "TAGS", "IcmpCollector", "PingResult", "check_permission"]

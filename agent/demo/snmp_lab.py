"""The demo lab's SNMP devices: a small asyncio UDP responder serving `.snmprec` recordings.

Built on the collector's own BER codec (collectors/snmp/ber.py), so it needs nothing
outside the project. Each simulated device has its own UDP port on 127.0.0.1 and answers
v1/v2c GET, GETNEXT and GETBULK for one community, the way net-snmp and snmpsim do
(v2c exceptions noSuchObject/noSuchInstance/endOfMibView; v1 noSuchName). The lab is
controlled in-process: a device can stop answering (`set_answering`), be given another
recording (`swap`, e.g. the UPS on battery), or send a v2c trap (`send_trap`) from the
socket it answers on, so the trap comes from the device's own address, as a real one's
does (the agent matches traps to devices by that address).

`.snmprec` lines are `OID|tag|value` (snmpsim's format): tags 2 INTEGER, 4 OCTET STRING
(`4x`: hex), 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64;
`TAG:numeric|rate=R,initial=I` is a value moving by R per second from I (counters wrap).
"""
from __future__ import annotations

import asyncio
import bisect
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from collectors.snmp import ber

MAX_VARBINDS = 100             # net-snmp's cap on the varbinds of one GETBULK response
MAX_MESSAGE = 60000            # stay under a UDP datagram's limit
_WRAP = {ber.COUNTER32: 2**32, ber.GAUGE32: 2**32, ber.TIMETICKS: 2**32,
         ber.COUNTER64: 2**64, ber.INTEGER: 2**31}

Value = Callable[[float], "int | bytes | None"]


class RecordingError(ValueError):
    """A `.snmprec` line that cannot be served; says file and line."""


@dataclass(frozen=True, slots=True)
class Recording:
    """A device's MIB view: OIDs sorted, each with its tag and a value at a time."""

    name: str
    keys: tuple[tuple[int, ...], ...]
    entries: tuple[tuple[bytes, int, Value], ...]      # encoded OID, tag, value(now)
    index: Mapping[bytes, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, overrides: Mapping[str, tuple[int, bytes | int]] | None = None
             ) -> Recording:
        """Reads a `.snmprec`; `overrides` (OID text -> (tag, value)) replace or add
        objects, e.g. sysName set to the device id."""
        rows: dict[tuple[int, ...], tuple[int, Value]] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            try:
                oid, tag, value = _parse_line(line)
            except (ValueError, KeyError) as exc:
                raise RecordingError(f"{path}:{number}: {exc}") from None
            rows[oid] = (tag, value)
        for text, (tag, raw) in (overrides or {}).items():
            rows[ber.parse_oid(text)] = (tag, _constant(raw))
        keys = tuple(sorted(rows))
        entries = tuple((ber.encode_oid(k), rows[k][0], rows[k][1]) for k in keys)
        return cls(path.stem, keys, entries, {e[0]: i for i, e in enumerate(entries)})

    def get(self, oid: bytes, now: float) -> ber.Varbind:
        i = self.index.get(oid)
        if i is None:
            return oid, ber.NO_SUCH_OBJECT, None
        return self._varbind(i, now)

    def next(self, oid: bytes, now: float) -> ber.Varbind:
        """The first object after `oid` in OID order, or endOfMibView."""
        try:
            key = ber.decode_oid(oid)
        except ber.BerError:
            key = ()
        i = bisect.bisect_right(self.keys, key)
        if i >= len(self.keys):
            return oid, ber.END_OF_MIB_VIEW, None
        return self._varbind(i, now)

    def _varbind(self, i: int, now: float) -> ber.Varbind:
        encoded, tag, value = self.entries[i]
        return encoded, tag, value(now)


def _constant(value: bytes | int) -> Value:
    return lambda now: value


def _parse_line(line: str) -> tuple[tuple[int, ...], int, Value]:
    oid_text, tag_text, value_text = line.split("|", 2)
    oid = ber.parse_oid(oid_text)
    numeric = tag_text.endswith(":numeric")
    tag_text = tag_text.removesuffix(":numeric")
    hexed = tag_text.endswith("x")
    tag = int(tag_text.removesuffix("x"))
    if numeric:
        return oid, tag, _moving(tag, value_text)
    if tag in (ber.OCTET_STRING, ber.OPAQUE):
        raw = bytes.fromhex(value_text) if hexed else value_text.encode()
        return oid, tag, _constant(raw)
    if tag == ber.OBJECT_ID:
        return oid, tag, _constant(ber.encode_oid(ber.parse_oid(value_text)))
    if tag == ber.IP_ADDRESS:
        return oid, tag, _constant(bytes(int(p) for p in value_text.split(".")))
    if tag == ber.INTEGER or tag in ber.UNSIGNED_TAGS:
        return oid, tag, _constant(int(value_text))
    raise ValueError(f"tag {tag_text} is not served")


def _moving(tag: int, params: str) -> Value:
    """`rate=R,initial=I[,wrap=1]`: I + R per second since the lab started."""
    spec = dict(part.split("=", 1) for part in params.split(",") if part)
    initial, rate = int(spec.get("initial", 0)), float(spec.get("rate", 0))
    modulus = _WRAP.get(tag, 2**32)
    start = time.monotonic()
    return lambda now: int(initial + rate * (now - start)) % modulus


class SimulatedDevice(asyncio.DatagramProtocol):
    """One device: answers requests carrying its community from its current recording."""

    def __init__(self, name: str, recording: Recording, community: bytes) -> None:
        self.name, self.recording, self.community = name, recording, community
        self.answering = True
        self.requests = 0
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport      # type: ignore[assignment]  # a datagram transport
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.answering or self.transport is None:
            return
        try:
            request = ber.decode_request(data)
        except ber.BerError:
            return                         # as a real agent: garbage is dropped
        if request.community != self.community:
            return                         # a wrong community looks like a timeout
        self.requests += 1
        self.transport.sendto(answer(self.recording, request, time.monotonic()), addr)


def answer(recording: Recording, request: ber.Request, now: float) -> bytes:
    """The response message to one request."""
    v1 = request.version == ber.VERSION_1
    if request.pdu == ber.GET:
        varbinds = [recording.get(oid, now) for oid in request.oids]
    elif request.pdu == ber.GETNEXT:
        varbinds = [recording.next(oid, now) for oid in request.oids]
    else:
        varbinds = _bulk(recording, request, now)
    if v1:
        for i, (_, tag, _) in enumerate(varbinds):
            if tag in ber.EXCEPTION_TAGS:       # v1 has no exceptions: noSuchName(2)
                return ber.encode_response(request.version, request.community,
                                            request.request_id,
                                            [(o, ber.NULL, None) for o in request.oids], 2, i + 1)
    message = ber.encode_response(request.version, request.community, request.request_id,
                                   varbinds)
    while len(message) > MAX_MESSAGE and len(varbinds) > len(request.oids):
        varbinds = varbinds[:len(varbinds) * 3 // 4]
        message = ber.encode_response(request.version, request.community,
                                       request.request_id, varbinds)
    return message


def trap_message(community: bytes, request_id: int, uptime: int, trap_oid: str,
                 varbinds: Sequence[ber.Varbind] = ()) -> bytes:
    """A whole SNMPv2c Trap: sysUpTime.0 and snmpTrapOID.0 first (RFC 3416), then
    `varbinds` (values as `ber.encode_value` takes them)."""
    listed: list[ber.Varbind] = [
        (ber.SYS_UPTIME, ber.TIMETICKS, uptime),
        (ber.SNMP_TRAP_OID, ber.OBJECT_ID, ber.encode_oid(ber.parse_oid(trap_oid))),
        *varbinds]
    return ber.encode_request(ber.VERSION_2C, community, ber.TRAP_V2, request_id,
                              ber.encode_varbinds(listed))


def _bulk(recording: Recording, request: ber.Request, now: float) -> list[ber.Varbind]:
    non_repeaters = min(request.non_repeaters, len(request.oids))
    out = [recording.next(oid, now) for oid in request.oids[:non_repeaters]]
    cursors = list(request.oids[non_repeaters:])
    for _ in range(request.max_repetitions):
        if not cursors or len(out) + len(cursors) > MAX_VARBINDS:
            break
        row = [recording.next(oid, now) for oid in cursors]
        out.extend(row)
        if all(tag == ber.END_OF_MIB_VIEW for _, tag, _ in row):
            break
        cursors = [oid for oid, _, _ in row]
    return out


class SnmpLab:
    """Simulated devices on loopback, served by one asyncio loop in a thread of its own.

    `add` binds a device on a free (or given) UDP port of 127.0.0.1 (or another loopback
    address) and returns the port;
    `set_answering` and `swap` change it while the agent polls, `send_trap` has it send a
    trap; `close` unbinds them all.
    """

    def __init__(self, community: str) -> None:
        self.community = community.encode()
        self.devices: dict[str, SimulatedDevice] = {}
        self._traps_sent = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="demo-snmp",
                                        daemon=True)
        self._thread.start()

    def add(self, name: str, recording: Recording, port: int = 0,
            host: str = "127.0.0.1") -> int:
        device = SimulatedDevice(name, recording, self.community)

        async def bind() -> int:
            transport, _ = await self._loop.create_datagram_endpoint(
                lambda: device, local_addr=(host, port))
            return int(transport.get_extra_info("sockname")[1])

        bound = asyncio.run_coroutine_threadsafe(bind(), self._loop).result(timeout=10)
        self.devices[name] = device
        return bound

    def set_answering(self, name: str, answering: bool) -> None:
        self.devices[name].answering = answering     # one attribute: atomic for the loop

    def swap(self, name: str, recording: Recording) -> None:
        self.devices[name].recording = recording

    def send_trap(self, name: str, to: tuple[str, int], trap_oid: str,
                  varbinds: Sequence[ber.Varbind] = ()) -> None:
        """The device sends a v2c trap to `to`, from the address and port it answers on."""
        device = self.devices[name]
        _, _, uptime = device.recording.get(ber.SYS_UPTIME, time.monotonic())
        self._traps_sent += 1
        message = trap_message(self.community, self._traps_sent,
                               uptime if isinstance(uptime, int) else 0, trap_oid, varbinds)
        transport = device.transport
        if transport is not None:       # sendto from the loop's own thread
            self._loop.call_soon_threadsafe(transport.sendto, message, to)

    def close(self) -> None:
        async def unbind() -> None:
            for device in self.devices.values():
                if device.transport is not None:
                    device.transport.close()

        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(unbind(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

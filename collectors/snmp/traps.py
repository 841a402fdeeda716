"""Listening as well as asking: the SNMP trap and inform receiver.

`TrapReceiver` is an asyncio datagram protocol on the agent's loop. Each datagram goes,
cheapest check first:

1. the source's token bucket (`SourceLimiter`: `rate_per_source` a second, `burst` at
   once): a flood from one address is dropped before it costs a decode, and counted;
2. the BER decode (collectors/snmp/ber.py `decode_notification`: v1 traps, v2c traps and
   informs); anything else is `malformed`;
3. the source address against the inventory: a device whose `poll.address` is that IP
   address; none is `unknown_source` (logged once per source, never alerted on);
4. the community against the credentials of those devices (`bad_community` otherwise;
   a device without v1/v2c credentials accepts none);
5. an inform is acknowledged with a Response echoing its varbinds; the trap is named
   from the profiles' `traps:` (`TrapCatalogue`) and handed to `on_trap`, once per
   matching device.

SNMPv3 is decoded (`usm.decode_message`: `malformed`), matched to its devices by the
sender's engine id or else its address (`unknown_source` when neither names a device),
then opened by collectors/snmp/trap_v3.py with the USM users of
those devices (`bad_keys`, `stale`, `engine_discovery`, `malformed` or `unsupported`
there); a reply it makes (a report, an inform's Response) is sent back. Without an
engine (`use_engine`, which the agent gives from its state directory) v3 is
`unsupported`. A trap whose keys check out but whose time does not (`stale`) is still
handed on, marked untimely: the agent polls its device and trusts nothing it says.

Every datagram lands in exactly one of the `TrapCounts` outcomes. The callback runs on the
loop thread and does no I/O besides the inform's answer: what a trap leads to (a stored
point, an immediate poll) is the agent's (agent/traps.py).
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import cast

from collectors.catalogue_entry import Entry, MeasurementTags
from collectors.snmp import ber, usm
from collectors.snmp.profiles import ProfileSet, TrapSpec
from collectors.snmp.trap_v3 import V3Notifications, V3Outcome
from config.model import Credentials, SecretError, SnmpCredentials
from inventory.model import Device

log = logging.getLogger("lifeline.traps")

MEASUREMENT = "snmp_trap"
ENTRIES: tuple[Entry, ...] = (
    Entry(MEASUREMENT, "received", "gauge", "traps",
          "1 per accepted trap or inform (tags: trap_oid, source, version, and trap_name and "
          "meaning when a profile's traps: knows the OID)"),
)
TAGS: MeasurementTags = {MEASUREMENT: ["trap_oid", "source", "version", "trap_name",
                                       "meaning"]}

MAX_SOURCES = 4096      # sources whose bucket and "logged once" mark are remembered
_RECEIVE_BUFFER = 4 * 1024 * 1024   # bytes: a burst waits in the kernel, not dropped there


@dataclass(frozen=True, slots=True)
class TrapDefinition:
    """What a notification OID means, from the profiles' `traps:` (first profile wins).
    `alarms`: the encoded alarm OIDs an alarm trap may carry, with their shared names."""

    oid: str
    name: str
    meaning: str
    alarms: Mapping[bytes, str] = field(default_factory=dict)


class TrapCatalogue:
    """Every notification the profiles know, by encoded OID."""

    def __init__(self, definitions: Iterable[TrapDefinition]) -> None:
        self._by_oid: dict[bytes, TrapDefinition] = {}
        for d in definitions:
            self._by_oid.setdefault(ber.encode_oid(ber.parse_oid(d.oid)), d)

    @classmethod
    def from_profiles(cls, profiles: ProfileSet) -> TrapCatalogue:
        return cls(TrapDefinition(t.oid.lstrip("."), t.name, t.meaning,
                                  {_encoded(oid): alarm for oid, alarm in t.alarms.items()})
                   for name in sorted(profiles) for t in profiles[name].traps)

    def get(self, oid: bytes) -> TrapDefinition | None:
        return self._by_oid.get(oid)

    def __len__(self) -> int:
        return len(self._by_oid)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrapSays:
    """What one trap asserts, for the alert rules (alerts/evaluation/rules.py `trap`).

    A port trap (linkDown, linkUp) names its port by ifIndex, and by ifName or ifDescr
    only when the device adds them: `ports` holds the names known (the agent adds those
    its last poll saw for that ifIndex). An alarm trap names its alarm by an OID, which
    the profile's `alarms:` turns into the shared name the rules read (`alarm`)."""

    meaning: str
    if_index: int | None = None
    ports: tuple[str, ...] = ()
    admin_up: bool | None = None        # the trap's ifAdminStatus, when it carries one
    alarm: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Trap:
    """One accepted notification, for one device."""

    device_id: str
    source: str                 # the sender's IP address
    version: str                # "1", "2c" or "3"
    inform: bool
    oid: str                    # the v2 form (RFC 3584) for v1 traps too
    name: str | None            # from the catalogue; None for a notification none knows
    says: TrapSays | None       # None for a notification none knows
    received: datetime
    # False: a v3 trap whose keys checked out but which is outside its sender's time window
    # (a replay, or a sender that restarted without keeping its engine boots): counted as
    # stale, its meaning not trusted; the agent only polls the device.
    timely: bool = True

    @property
    def meaning(self) -> str | None:
        return self.says.meaning if self.says is not None else None


@dataclass(slots=True)
class TrapCounts:
    """Datagrams received since start, and what became of each (one outcome each)."""

    received: int = 0
    accepted: int = 0           # matched a device and its community or USM user
    rate_limited: int = 0       # over the source's rate: dropped before decoding
    malformed: int = 0          # not a v1 trap, v2c trap or inform, or v3 message
    unsupported: int = 0        # a v3 PDU that is neither a trap nor an inform
    unknown_source: int = 0     # no device polls that address (v3: nor answered with its
                                # engine id, or several devices at different addresses did)
    bad_community: int = 0      # the community is not the device's
    bad_keys: int = 0           # v3: not a user of the device, or wrong keys or level
    stale: int = 0              # v3: outside the time window (a replay, a clock gone back)
    engine_discovery: int = 0   # v3: an inform's sender asking our engine id (answered)
    informs_acknowledged: int = 0   # of the accepted, v2c and v3 informs answered

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def add(self, outcome: V3Outcome) -> None:
        """One more datagram with this outcome of the v3 path."""
        setattr(self, outcome, getattr(self, outcome) + 1)


class SourceLimiter:
    """A token bucket per source address: `rate` a second, `burst` at once. At most
    MAX_SOURCES buckets are kept; past that the oldest is forgotten (it starts full again:
    spoofed addresses cannot grow memory)."""

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}     # source -> (tokens, at)

    def allow(self, source: str) -> bool:
        now = self._clock()
        tokens, at = self._buckets.pop(source, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        if len(self._buckets) >= MAX_SOURCES:
            del self._buckets[next(iter(self._buckets))]
        allowed = tokens >= 1.0
        self._buckets[source] = (tokens - 1.0 if allowed else tokens, now)
        return allowed


@dataclass(frozen=True, slots=True)
class _Target:
    device_id: str
    agent: str                  # where it is polled: "IP-or-name:port" (one SNMP agent)
    communities: frozenset[bytes]
    users: tuple[usm.UsmUser, ...] = ()


# The devices whose polls last answered with an SNMPv3 engine id (the agent's
# agent/device_states.py `with_engine`).
EngineDevices = Callable[[bytes], Collection[str]]


class TrapReceiver(asyncio.DatagramProtocol):
    """The trap receiver (see the module). `adopt` gives it the devices to match."""

    def __init__(self, *, on_trap: Callable[[Trap], None], catalogue: TrapCatalogue,
                 rate: float, burst: int, clock: Callable[[], datetime],
                 engine_devices: EngineDevices = lambda engine_id: ()) -> None:
        self._on_trap = on_trap
        self._engine_devices = engine_devices
        self._catalogue = catalogue
        self._rate = rate
        self._limiter = SourceLimiter(rate, burst)
        self._clock = clock
        self._targets: dict[str, tuple[_Target, ...]] = {}
        self._v3_targets: dict[str, _Target] = {}       # device id -> target, v3 users only
        self._logged: dict[tuple[str, str], None] = {}
        self._v3: V3Notifications | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.counts = TrapCounts()

    def use_engine(self, engine: usm.LocalEngine) -> None:
        """Receive SNMPv3 from now on, with `engine` as ours for informs."""
        self._v3 = V3Notifications(engine)

    def adopt(self, devices: Iterable[Device], credentials: Mapping[str, Credentials]) -> None:
        """Match traps to these devices from now on: by the IP address they are polled at
        (a host name is not resolved), and SNMPv3 traps also by the engine id their polls
        answered with (`engine_devices`), wherever the device is polled."""
        targets: dict[str, list[_Target]] = {}
        v3_targets: dict[str, _Target] = {}
        for device in devices:
            if device.poll is None or not device.poll.address:
                continue
            address = _ip(device)
            target = _Target(device.id, f"{address or device.poll.address}:{device.poll.port}",
                             _communities(device, credentials), _users(device, credentials))
            if target.users:
                v3_targets[device.id] = target
            if address is not None:
                targets.setdefault(address, []).append(target)
        self._targets = {address: tuple(found) for address, found in targets.items()}
        self._v3_targets = v3_targets

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
            except OSError:     # capped by net.core.rmem_max: the default then
                pass

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        counts = self.counts
        counts.received += 1
        source = str(addr[0])
        if not self._limiter.allow(source):
            counts.rate_limited += 1
            self._once(source, "rate", "traps from %s over %.4g a second: the excess is "
                       "dropped (traps.rate_per_source)", source, self._rate)
            return
        if ber.peek_version(data) == ber.VERSION_3:
            self._receive_v3(data, source, addr)
            return
        try:
            note = ber.decode_notification(data)
        except ber.BerError as exc:
            self._malformed(source, exc)
            return
        targets = self._known(source)
        if not targets:
            return
        matched = [t.device_id for t in targets if note.community in t.communities]
        if not matched:
            counts.bad_community += 1
            self._once(source, "community", "trap from %s with a community that is not its "
                       "device's: dropped", source)
            return
        counts.accepted += 1
        if note.pdu == ber.INFORM and self.transport is not None:
            self.transport.sendto(ber.encode_response(note.version, note.community,
                                                      note.request_id, note.varbinds), addr)
            counts.informs_acknowledged += 1
        self._deliver(note, source, matched)

    def _known(self, source: str, engine_id: bytes | None = None) -> tuple[_Target, ...]:
        """The devices polled at `source`; none is counted and logged (once) here (with
        the engine id of a v3 trap, which matched no device either)."""
        targets = self._targets.get(source, ())
        if not targets:
            self.counts.unknown_source += 1
            engine = ("" if engine_id is None else f" (engine id {engine_id.hex() or 'none'}, "
                      "which no device's polls answered with either)")
            self._once(source, "unknown", "trap from %s, which no device is polled at%s: "
                       "counted, not alerted on", source, engine)
        return targets

    def _malformed(self, source: str, exc: ber.BerError) -> None:
        self.counts.malformed += 1
        self._once(source, "malformed", "malformed trap from %s dropped: %s", source, exc)

    def _receive_v3(self, data: bytes, source: str, addr: tuple[str | int, int]) -> None:
        counts = self.counts
        if self._v3 is None:
            counts.unsupported += 1
            return
        try:
            message = usm.decode_message(data)
        except ber.BerError as exc:
            self._malformed(source, exc)
            return
        targets = self._v3_match(source, message.security.engine_id)
        if not targets:
            return
        got = self._v3.receive_message(message, source, [u for t in targets for u in t.users])
        if got.reply is not None and self.transport is not None:
            self.transport.sendto(got.reply, addr)
        if got.outcome != "accepted" or got.note is None or got.user is None:
            counts.add(got.outcome)
            if got.outcome in _V3_WORDS:    # a discovery is an inform's first step: quiet
                self._once(source, got.outcome, "SNMPv3 notification from %s: %s", source,
                           _V3_WORDS[got.outcome])
            if got.outcome == "stale" and got.note is not None and got.user is not None:
                self._deliver(got.note, source, [t.device_id for t in targets
                                                 if got.user in t.users], timely=False)
            return
        counts.accepted += 1
        if got.note.pdu == ber.INFORM:
            counts.informs_acknowledged += 1
        self._deliver(got.note, source, [t.device_id for t in targets if got.user in t.users])

    def _v3_match(self, source: str, engine_id: bytes) -> tuple[_Target, ...]:
        """The devices a v3 message may come from: those whose polls answered with its
        engine id, if they are one agent (one poll address and port); else those polled at
        `source`. An engine id several agents answered with is logged once and never
        chosen between. None found is `unknown_source`, logged once per source. (An
        inform carries our engine id, not its sender's: it is matched by its address.)"""
        claimed = [t for d in self._engine_devices(engine_id) if engine_id
                   and (t := self._v3_targets.get(d)) is not None]
        agents = sorted({t.agent for t in claimed})
        if len(agents) == 1:
            return tuple(claimed)
        if len(agents) > 1:
            self._once(engine_id.hex(), "ambiguous", "SNMPv3 engine id %s is answered by "
                       "devices at %s (%s): its traps are not matched by engine id, only by "
                       "their address", engine_id.hex(), ", ".join(agents),
                       ", ".join(sorted(t.device_id for t in claimed)))
        return self._known(source, engine_id)

    def _deliver(self, note: ber.Notification, source: str, device_ids: list[str], *,
                 timely: bool = True) -> None:
        definition = self._catalogue.get(note.trap_oid)
        oid = ber.oid_text(note.trap_oid)
        received = self._clock()
        says = what_it_says(definition, note.varbinds) if definition else None
        for device_id in device_ids:
            self._hand_on(Trap(device_id=device_id, source=source,
                               version=_VERSIONS.get(note.version, "2c"),
                               inform=note.pdu == ber.INFORM, oid=oid,
                               name=definition.name if definition else None, says=says,
                               received=received, timely=timely))

    def _hand_on(self, trap: Trap) -> None:
        try:
            self._on_trap(trap)
        except Exception:       # the agent's side failing must not stop the receiver
            log.exception("handling a trap failed", extra={"device_id": trap.device_id})

    def _once(self, source: str, what: str, message: str, *args: object) -> None:
        """Log `message` the first time `what` happens for `source` (bounded memory)."""
        key = (source, what)
        if key in self._logged:
            return
        if len(self._logged) >= MAX_SOURCES:
            del self._logged[next(iter(self._logged))]
        self._logged[key] = None
        log.warning(message, *args)


_VERSIONS = {ber.VERSION_1: "1", ber.VERSION_2C: "2c", ber.VERSION_3: "3"}
# What a dropped v3 notification is, in the log (never its keys).
_V3_WORDS = {"bad_keys": "not a USM user of a device polled there, or wrong keys or "
                         "security level: dropped",
             "stale": "authentic, but outside its sender's time window (a replay, or a "
                      "sender that restarted without keeping its engine boots): what it "
                      "says is dropped, its device polled",
             "malformed": "malformed: dropped",
             "unsupported": "neither a trap nor an inform: dropped"}


# IF-MIB: a port trap's varbinds are columns of ifEntry/ifXEntry, indexed by ifIndex.
_IF_ENTRY = ber.encode_oid((1, 3, 6, 1, 2, 1, 2, 2, 1))
_IFX_ENTRY = ber.encode_oid((1, 3, 6, 1, 2, 1, 31, 1, 1, 1))
_IF_DESCR = _IF_ENTRY + b"\x02"
_IF_ADMIN_STATUS = _IF_ENTRY + b"\x07"
_IF_NAME = _IFX_ENTRY + b"\x01"
_IF_UP = 1
_PORT_MEANINGS = ("link_down", "link_up")
_ALARM_MEANINGS = ("alarm", "alarm_cleared")


def what_it_says(definition: TrapDefinition, varbinds: Iterable[ber.Varbind]) -> TrapSays:
    """The meaning of a known trap, with the port or the alarm its varbinds name."""
    meaning = definition.meaning
    if meaning in _ALARM_MEANINGS:
        alarm = next((definition.alarms[value] for _, tag, value in varbinds
                      if tag == ber.OBJECT_ID and isinstance(value, bytes)
                      and value in definition.alarms), None)
        return TrapSays(meaning=meaning, alarm=alarm)
    if meaning not in _PORT_MEANINGS:
        return TrapSays(meaning=meaning)
    if_index: int | None = None
    names: list[str] = []
    admin_up: bool | None = None
    for name, _, value in varbinds:
        index = _port_index(name)
        if index is None:
            continue
        if_index, column = index
        if column in (_IF_DESCR, _IF_NAME) and isinstance(value, bytes) and value:
            names.append(value.decode("utf-8", "replace").strip())
        elif column == _IF_ADMIN_STATUS and isinstance(value, int):
            admin_up = value == _IF_UP
    return TrapSays(meaning=meaning, if_index=if_index, ports=tuple(n for n in names if n),
                    admin_up=admin_up)


def _port_index(name: bytes) -> tuple[int, bytes] | None:
    """(ifIndex, column) of an ifEntry or ifXEntry varbind name, else None."""
    for entry in (_IF_ENTRY, _IFX_ENTRY):
        if name.startswith(entry) and len(name) > len(entry) + 1:
            column = name[:len(entry) + 1]      # column numbers are below 128: one octet
            try:
                suffix = ber.decode_subids(name[len(entry) + 1:])
            except ber.BerError:
                return None
            return (suffix[0], column) if len(suffix) == 1 else None
    return None


def _encoded(oid: str) -> bytes:
    return ber.encode_oid(ber.parse_oid(oid))


def profile_traps_markdown(profiles: ProfileSet) -> str:
    """The README's table of the traps each profile understands (its own and those it
    inherits), by meaning: what every profile shares first (`generic`'s), then each group
    of profiles that adds the same ones. Generated by `python -m collectors.catalogue
    --write`."""
    def listed(traps: Iterable[TrapSpec]) -> str:
        return ", ".join(f"{t.name} ({t.meaning})" for t in traps)

    shared = {t.oid for t in profiles["generic"].traps} if "generic" in profiles else set()
    groups: dict[tuple[str, ...], list[str]] = {}
    extra: dict[tuple[str, ...], tuple[TrapSpec, ...]] = {}
    for name in sorted(profiles):
        own = tuple(t for t in profiles[name].traps if t.oid not in shared)
        key = tuple(t.oid for t in own)
        if own:
            groups.setdefault(key, []).append(f"`{name}`")
            extra[key] = own
    rows = ["| profiles | traps understood (meaning) |", "|---|---|"]
    if "generic" in profiles:
        rows.append(f"| every profile | {listed(profiles['generic'].traps)} |")
    rows += [f"| {', '.join(names)} | also {listed(extra[key])} |"
             for key, names in groups.items()]
    return "\n".join(rows)


def _ip(device: Device) -> str | None:
    poll = device.poll
    if poll is None or not poll.address:
        return None
    host = "127.0.0.1" if poll.address == "localhost" else poll.address
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        return None


def _users(device: Device, credentials: Mapping[str, Credentials]) -> tuple[usm.UsmUser, ...]:
    """The USM user a device's v3 traps and informs come from: its v3 credentials'. The
    keys are read now (at start and on reload)."""
    cred = credentials.get(device.poll.credentials or "") if device.poll else None
    if not isinstance(cred, SnmpCredentials) or cred.version != "3" or not cred.user:
        return ()
    try:
        return (usm.UsmUser(cred.user, cred.auth_protocol,
                            cred.auth_key.reveal() if cred.auth_key else None,
                            cred.priv_protocol,
                            cred.priv_key.reveal() if cred.priv_key else None),)
    except (SecretError, ValueError) as exc:
        log.warning("v3 traps from %s cannot be checked: %s", device.id, exc)
        return ()


def _communities(device: Device, credentials: Mapping[str, Credentials]) -> frozenset[bytes]:
    """The communities a device's traps may carry: its v1/v2c credentials'."""
    cred = credentials.get(device.poll.credentials or "") if device.poll else None
    if not isinstance(cred, SnmpCredentials) or cred.community is None:
        return frozenset()
    try:
        return frozenset({cred.community.reveal().encode()})
    except SecretError as exc:
        log.warning("traps from %s cannot be checked: %s", device.id, exc)
        return frozenset()

"""SNMPv3 traps and informs received, on the BER path (collectors/snmp/usm.py).

Who is authoritative decides whose keys and clock apply (RFC 3414 1.5.1):

- a **trap**: the sender. Its engine id is in the message; the user's keys are localized
  to it. Its clock is learnt from its first authenticated trap and kept per (address,
  engine id) (`usm.EngineClock`): a later trap outside the 150 s window (a replay, or a
  sender that restarted without keeping its boots: net-snmp's `snmptrap` sends boots 1
  and the host's uptime in centiseconds, which go back when its host reboots) is
  `stale`, as snmptrapd has it too (RFC 3414 3.2 step 7b); the receiver then only has
  its device polled.
- an **inform**: we are, with our own engine (`usm.LocalEngine`: its id and boots come
  from the agent's state directory, agent/traps.py). The sender first probes with an
  empty engine id; the answer is an unknownEngineID report carrying our id, boots and time
  (`engine_discovery`). The inform itself must carry our id and a time within our window
  (else a notInTimeWindow report, `stale`), and is acknowledged with a Response under the
  sender's keys localized to our id.

A message whose user is none of the device's, or whose digest or encryption does not
check out with its keys, or whose security level is not the user's, is `bad_keys`; one
USM cannot parse is `malformed`; a v3 PDU that is neither a trap nor an inform is
`unsupported`. `receive` never raises for what a datagram holds.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from collectors.snmp import ber, usm

MAX_CLOCKS = 4096               # (address, engine id) clocks kept; the oldest forgotten
# What becomes of a v3 datagram: each a field of collectors/snmp/traps.py `TrapCounts`.
V3Outcome = Literal["accepted", "malformed", "unsupported", "bad_keys", "stale",
                    "engine_discovery"]


@dataclass(frozen=True, slots=True)
class V3Received:
    """What became of one v3 datagram: an outcome (a `TrapCounts` field), the trap or
    inform when accepted with the user whose keys opened it (a `stale` trap too: its
    keys checked out, its time did not), and the answer to send back (a report, or the
    inform's Response), if any."""

    outcome: V3Outcome
    note: ber.Notification | None = None
    user: usm.UsmUser | None = None
    reply: bytes | None = None


class V3Notifications:
    """Opens v3 traps and informs for the receiver (collectors/snmp/traps.py)."""

    def __init__(self, engine: usm.LocalEngine,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self._clock = clock
        self._clocks: dict[tuple[str, bytes], usm.EngineClock] = {}
        self._reports: dict[usm.Report, int] = {}

    def receive(self, data: bytes, source: str, users: Sequence[usm.UsmUser]) -> V3Received:
        """One v3 datagram from `source`, whose devices' USM users are `users`."""
        try:
            message = usm.decode_message(data)
        except ber.BerError:
            return V3Received("malformed")
        return self.receive_message(message, source, users)

    def receive_message(self, message: usm.Message, source: str,
                        users: Sequence[usm.UsmUser]) -> V3Received:
        """One decoded v3 message (`usm.decode_message`) from `source`: the receiver reads
        its engine id first to find the devices, hence the users, it may come from."""
        at = self._clock()
        engine_id = message.security.engine_id
        if not engine_id:                   # an inform's sender asking for our engine
            return self._discovery(message, at)
        opened = _open(message, users)
        if opened is None:
            return V3Received("bad_keys")
        user, keys, scoped = opened
        pdu = scoped.pdu
        if pdu.tag == ber.TRAP_V2:
            note = _notification(pdu)
            if note is None:
                return V3Received("malformed")
            # Authentic but not timely: a replay, or a sender that lost its boots. The
            # receiver trusts none of what it says (it only has its device polled).
            return V3Received("accepted" if self._timely(source, message, at) else "stale",
                              note, user)
        if pdu.tag != ber.INFORM:
            return V3Received("unsupported")
        if engine_id != self.engine.engine_id:
            # Authentic, but for an engine we are not (the sender kept our id from before
            # the state_dir was lost, or was given another with -e): RFC 3414 3.2 (3), an
            # unknownEngineID report, unauthenticated and carrying ours, so it discovers
            # us and sends again instead of retrying the old id for ever.
            reply = usm.encode_report(message, pdu.request_id, usm.Report.UNKNOWN_ENGINE_ID,
                                      self._count(usm.Report.UNKNOWN_ENGINE_ID),
                                      engine=self.engine, at=at, keys=None)
            return V3Received("engine_discovery", reply=reply)
        if not self.engine.in_window(message.security.boots, message.security.time, at):
            reply = usm.encode_report(message, pdu.request_id, usm.Report.NOT_IN_TIME_WINDOW,
                                      self._count(usm.Report.NOT_IN_TIME_WINDOW),
                                      engine=self.engine, at=at, keys=keys)
            return V3Received("stale", reply=reply)
        note = _notification(pdu)
        if note is None:
            return V3Received("malformed")
        return V3Received("accepted", note, user, self._response(message, scoped, keys, at))

    def _discovery(self, message: usm.Message, at: float) -> V3Received:
        """RFC 3414 4: answer a reportable probe with our engine id, boots and time."""
        if not message.reportable or message.flags & usm.FLAG_AUTH:
            return V3Received("malformed")
        try:
            request_id = usm.open_message(message, None).pdu.request_id
        except (ber.BerError, usm.UsmError):
            return V3Received("malformed")
        reply = usm.encode_report(message, request_id, usm.Report.UNKNOWN_ENGINE_ID,
                                  self._count(usm.Report.UNKNOWN_ENGINE_ID),
                                  engine=self.engine, at=at, keys=None)
        return V3Received("engine_discovery", reply=reply)

    def _response(self, message: usm.Message, scoped: usm.ScopedPdu,
                  keys: usm.LocalKeys | None, at: float) -> bytes:
        """The inform's Response: its request id and varbinds, under our engine."""
        boots, now = self.engine.clock(at)
        pdu = ber.encode_pdu(ber.RESPONSE, scoped.pdu.request_id,
                             ber.encode_varbinds(scoped.pdu.varbinds))
        return usm.encode_message(msg_id=message.msg_id, engine_id=self.engine.engine_id,
                                  boots=boots, time=now, keys=keys,
                                  user=message.security.user,
                                  context_engine_id=scoped.context_engine_id,
                                  context_name=scoped.context_name, pdu=pdu,
                                  reportable=False)

    def _timely(self, source: str, message: usm.Message, at: float) -> bool:
        """RFC 3414 3.2.7 b for a trap, against the sender's clock as we know it."""
        security = message.security
        key = (source, security.engine_id)
        clock = self._clocks.get(key)
        if clock is None:
            if len(self._clocks) >= MAX_CLOCKS:
                del self._clocks[next(iter(self._clocks))]
            self._clocks[key] = usm.EngineClock(security.boots, security.time, at,
                                                security.time)
            return True
        return clock.accept(security.boots, security.time, at)

    def _count(self, report: usm.Report) -> int:
        self._reports[report] = self._reports.get(report, 0) + 1
        return self._reports[report]


def _open(message: usm.Message, users: Sequence[usm.UsmUser]
          ) -> tuple[usm.UsmUser, usm.LocalKeys | None, usm.ScopedPdu] | None:
    """The first of the users named by the message whose keys check out, with its keys
    (localized to the message's engine id; None for a noAuthNoPriv user) and the opened
    scoped PDU."""
    for user in users:
        if user.name.encode() != message.security.user:
            continue
        keys = usm.localize(user, message.security.engine_id) if user.auth_protocol else None
        try:
            return user, keys, usm.open_message(message, keys)
        except (usm.UsmError, ber.BerError):
            continue
    return None


def _notification(pdu: ber.Pdu) -> ber.Notification | None:
    """A v2 trap or inform PDU as the receiver's record; None without snmpTrapOID.0 as
    its second varbind (RFC 3416 4.2.6)."""
    varbinds = pdu.varbinds
    if len(varbinds) < 2 or varbinds[1][0] != ber.SNMP_TRAP_OID or varbinds[1][1] != ber.OBJECT_ID:
        return None
    trap_oid = varbinds[1][2]
    if not isinstance(trap_oid, bytes):
        return None
    return ber.Notification(ber.VERSION_3, b"", pdu.tag, pdu.request_id, trap_oid, varbinds)

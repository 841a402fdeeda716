"""SNMPv3 through pysnmp: the reference implementation the tests and the benchmark compare
Lifeline's own v3 path (`usm`, `v3_session`) against; polls use that path, not this one
(`SnmpCollector(reference_v3=True)` switches to this).

`PysnmpSession` is a `transport.Session` on pysnmp's command generator with the engine,
USM users and targets of `UsmEngine`. Imported lazily (pysnmp takes ~150 ms to import and
build an engine): a process that never asks for the reference never loads it. This
module imports nothing of Lifeline's that imports it back.

USM state is kept per (user name, engine id, keys), never per user name alone: each
agent's engine id is discovered first (RFC 3414 4: a probe the agent answers with a report
carrying its id), and the user entry is then made for that engine id with the keys
localized to it. pysnmp's own way, one entry per user name that it copies for each engine
it meets, lets two credential sets with the same user name overwrite each other's keys
(issue 13, item 6). Same user and engine id with other keys wait their turn
(`usm_keys.KeySlots`).

An agent's engine id is forgotten after a request it did not answer, or a report that it
does not know ours: the next request discovers it again, so a device restarted with a new
engine id (factory reset, replaced chassis, HA failover) is polled again without a
restart of Lifeline. If the poll has time left, the rediscovery happens at once and the
request is sent again to the new id.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import (
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as _auth
from pysnmp.proto import errind, rfc1902, rfc1905
from pysnmp.proto.mpmod.rfc3412 import SnmpV3MessageProcessingModel

from collectors.snmp import ber, usm
from collectors.snmp.engine import EngineHolder
from collectors.snmp.errors import (
    PollBudgetSpentError,
    SnmpAuthError,
    SnmpError,
    SnmpTimeoutError,
)
from collectors.snmp.target import Address, UsmParams, address_text
from collectors.snmp.usm_keys import KeySlots
from collectors.snmp.v3_session import report_error

log = logging.getLogger(__name__)

AUTH_PROTOCOLS = {
    None: _auth.USM_AUTH_NONE,
    "MD5": _auth.USM_AUTH_HMAC96_MD5,
    "SHA": _auth.USM_AUTH_HMAC96_SHA,
    "SHA224": _auth.USM_AUTH_HMAC128_SHA224,
    "SHA256": _auth.USM_AUTH_HMAC192_SHA256,
    "SHA384": _auth.USM_AUTH_HMAC256_SHA384,
    "SHA512": _auth.USM_AUTH_HMAC384_SHA512,
}
# AES-192/256 with the key extension net-snmp's snmpd uses (Blumenthal; pysnmp's plain
# USM_PRIV_CFB192_AES is Reeder's, which that snmpd refuses wherever the auth hash is
# shorter than the cipher key): the same choice as usm.KEY_EXTENSION.
PRIV_PROTOCOLS = {
    None: _auth.USM_PRIV_NONE,
    "DES": _auth.USM_PRIV_CBC56_DES,
    "AES": _auth.USM_PRIV_CFB128_AES,
    "AES192": _auth.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES256": _auth.USM_PRIV_CFB256_AES_BLUMENTHAL,
}

# Report PDUs (and local refusals) that mean "your credentials are wrong", as pysnmp names
# them; `_error` says which in the poll path's words.
_AUTH_INDICATIONS = (errind.UnknownUserName, errind.WrongDigest, errind.DecryptionError,
                     errind.UnsupportedSecurityLevel, errind.AuthenticationError,
                     errind.AuthenticationFailure, errind.NoAuthentication,
                     errind.NoEncryption)
# What says the agent's engine id may have changed under us: no answer, a report that it
# does not know our engine id, or pysnmp having learnt an id we made no user entry for.
_REDISCOVER = (errind.RequestTimedOut, errind.UnknownEngineID, errind.UnknownSecurityName)

# Discovery sends a probe the agent answers with a report carrying its engine id. The
# probe goes out as a request of this user, whose entry exists only for an engine id no
# agent has: once the id is learnt pysnmp finds no entry for it and stops there, sending
# nothing more (no user name ever reaches the agent).
_PROBE_USER = "lifeline-engine-discovery"
_PROBE_ENGINE_ID = b"\x80\x00\x00\x00\x04lifeline-no-such-engine"
_PROBE_OID = ber.encode_oid((1, 3, 6, 1, 6, 3, 10, 2, 1, 1, 0))   # snmpEngineID.0, never asked

_TAGS = {
    rfc1902.Integer32.tagSet: ber.INTEGER,
    rfc1902.Integer.tagSet: ber.INTEGER,
    rfc1902.OctetString.tagSet: ber.OCTET_STRING,
    rfc1902.ObjectName.tagSet: ber.OBJECT_ID,
    rfc1902.IpAddress.tagSet: ber.IP_ADDRESS,
    rfc1902.Counter32.tagSet: ber.COUNTER32,
    rfc1902.Gauge32.tagSet: ber.GAUGE32,
    rfc1902.Unsigned32.tagSet: ber.GAUGE32,
    rfc1902.TimeTicks.tagSet: ber.TIMETICKS,
    rfc1902.Opaque.tagSet: ber.OPAQUE,
    rfc1902.Counter64.tagSet: ber.COUNTER64,
    rfc1905.NoSuchObject.tagSet: ber.NO_SUCH_OBJECT,
    rfc1905.NoSuchInstance.tagSet: ber.NO_SUCH_INSTANCE,
    rfc1905.EndOfMibView.tagSet: ber.END_OF_MIB_VIEW,
}

# Where pysnmp's observer sees the authoritative engine id of an answering agent.
_ENGINE_ID_POINTS = ("rfc3412.prepareDataElements:response",
                     "rfc3412.prepareDataElements:internal")

_object_types: dict[bytes, ObjectType] = {}


@dataclass(frozen=True, slots=True)
class UsmTarget:
    """One agent as pysnmp addresses it: for requests (the session's timeout and retries)
    and for a rediscovery squeezed into a poll after a failed request (one attempt)."""

    requests: UdpTransportTarget
    probe: UdpTransportTarget
    address: str


def reference_engine(holder: EngineHolder) -> UsmEngine:
    """The holder's pysnmp engine, built on the first reference request and closed with
    the holder (`EngineHolder.close`)."""
    engine = holder.reference_v3
    if not isinstance(engine, UsmEngine):
        engine = UsmEngine(on_engine_id=holder.engine_ids.record)
        holder.reference_v3 = engine
    return engine


class UsmEngine:
    """pysnmp's `SnmpEngine` for one event loop, with the USM users built for it. Every
    agent's engine id, as it answers, goes to `on_engine_id(address, engine_id)`."""

    def __init__(self, on_engine_id: Callable[[str, bytes], None]) -> None:
        self._on_engine_id = on_engine_id
        self._engine = SnmpEngine()
        self._engine.observer.register_observer(self._observe, *_ENGINE_ID_POINTS)
        self._mp = self._engine.message_processing_subsystems[
            SnmpV3MessageProcessingModel.MESSAGE_PROCESSING_MODEL_ID]
        self._users: dict[tuple[UsmParams, bytes], UsmUserData] = {}
        self._slots = KeySlots()
        # (address, engine id, credentials) that got an answer: their silence is an outage.
        self._answered: set[tuple[str, bytes, UsmParams]] = set()
        self._probe_user = UsmUserData(_PROBE_USER, securityEngineId=_PROBE_ENGINE_ID)

    async def target(self, address: Address, attempt_timeout: float,
                     retries: int) -> UsmTarget:
        requests = await UdpTransportTarget.create(address, timeout=attempt_timeout,
                                                   retries=retries)
        probe = await UdpTransportTarget.create(address, timeout=attempt_timeout, retries=0)
        return UsmTarget(requests, probe, address_text(address))

    async def request(self, target: UsmTarget, params: UsmParams, pdu: int,
                      oids: Sequence[bytes], non_repeaters: int, max_repetitions: int,
                      deadline: float) -> ber.Response:
        """One GET, GETNEXT or GETBULK; failures raised as SnmpError subclasses. The
        agent's engine id is discovered first if unknown; a rediscovery after a failure
        happens only if one attempt still fits before `deadline` (loop time)."""
        known = self._engine_id(target)
        engine_id = known or await self._discover(target, target.requests)
        indication, response = await self._send(target, params, engine_id, pdu, oids,
                                                non_repeaters, max_repetitions)
        if indication is None:
            return response
        if not isinstance(indication, _REDISCOVER):
            raise _error(indication, target.address, params)
        # The id pysnmp holds now, if it learnt another itself (its cache of ids expires).
        learnt = self._engine_id(target)
        self._forget(target)
        if learnt is None or learnt == engine_id:
            if known is None:           # discovered within this request, then silent
                learnt = engine_id
            elif deadline - asyncio.get_running_loop().time() >= target.probe.timeout:
                learnt = await self._discover(target, target.probe)
            else:
                raise _error(indication, target.address, params)
            if learnt == engine_id:
                raise self._silent(indication, target, params, engine_id)
        log.info("%s: SNMPv3 engine id %s is now %s; polling the new one", target.address,
                 engine_id.hex(), learnt.hex())
        indication, response = await self._send(target, params, learnt, pdu, oids,
                                                non_repeaters, max_repetitions)
        if indication is None:
            return response
        if isinstance(indication, _REDISCOVER):
            self._forget(target)
        raise _error(indication, target.address, params)

    def close(self) -> None:
        self._engine.observer.unregister_observer(self._observe)
        self._engine.close_dispatcher()
        self._users.clear()
        self._answered.clear()

    async def _send(self, target: UsmTarget, params: UsmParams, engine_id: bytes, pdu: int,
                    oids: Sequence[bytes], non_repeaters: int, max_repetitions: int
                    ) -> tuple[object, ber.Response]:
        async with self._slots.holding(params.user, engine_id, params.keys):
            auth = self._user(params, engine_id)
            context = ContextData(contextName=params.context)
            varbinds = [_object_type(o) for o in oids]
            if pdu == ber.GETBULK:
                result = await bulk_cmd(self._engine, auth, target.requests, context,
                                        non_repeaters, max_repetitions, *varbinds,
                                        lookupMib=False)
            elif pdu == ber.GETNEXT:
                result = await next_cmd(self._engine, auth, target.requests, context,
                                        *varbinds, lookupMib=False)
            else:
                result = await get_cmd(self._engine, auth, target.requests, context,
                                       *varbinds, lookupMib=False)
        indication, status, index, answered = result
        if indication:
            return indication, _NO_RESPONSE
        self._answered.add((target.address, engine_id, params))
        return None, ber.Response(0, int(status), int(index), [_varbind(vb) for vb in answered])

    def _silent(self, indication: object, target: UsmTarget, params: UsmParams,
                engine_id: bytes) -> SnmpError:
        """The agent answers discovery, with the engine id we used, but not our request."""
        if (not isinstance(indication, errind.RequestTimedOut)
                or (target.address, engine_id, params) in self._answered):
            return _error(indication, target.address, params)   # it did answer these keys
        if params.priv_protocol:
            # net-snmp drops a request it cannot decrypt, without a report.
            return SnmpAuthError(
                f"{target.address}: probably a wrong SNMPv3 privacy key for user "
                f"{params.user} (the agent answers engine discovery but drops our "
                f"encrypted requests: check the privacy key and protocol)")
        return SnmpTimeoutError(f"{target.address} answers SNMPv3 engine discovery, but "
                                f"none of our requests")

    async def _discover(self, target: UsmTarget, via: UdpTransportTarget) -> bytes:
        """The agent's engine id, asked with a discovery probe (RFC 3414 4)."""
        indication, *_ = await get_cmd(self._engine, self._probe_user, via, ContextData(),
                                       _object_type(_PROBE_OID),
                                       lookupMib=False)
        engine_id = self._engine_id(target)
        if engine_id is None:
            if isinstance(indication, errind.RequestTimedOut):
                raise SnmpTimeoutError(f"no answer from {target.address}")
            raise SnmpError(f"{target.address}: SNMPv3 engine discovery failed: {indication}")
        return engine_id

    def _engine_id(self, target: UsmTarget) -> bytes | None:
        """The agent's engine id as pysnmp's message processing holds it, if it does."""
        engine_id, _, _ = self._mp.get_peer_engine_info(*target.requests.get_transport_info())
        return bytes(engine_id) if engine_id is not None else None

    def _forget(self, target: UsmTarget) -> None:
        # pysnmp has no call for this: its cache of peer engine ids (RFC 3412 7.2.5,
        # kept 300 s) and the expiry queue that would later delete the entry again.
        key = target.requests.get_transport_info()
        cache = getattr(self._mp, "_SnmpV3MessageProcessingModel__engineIdCache", None)
        expiring = getattr(self._mp, "_SnmpV3MessageProcessingModel__engineIdCacheExpQueue",
                           None)
        if not isinstance(cache, dict) or not isinstance(expiring, dict):
            raise RuntimeError("pysnmp's engine id cache is not where Lifeline expects it")
        cache.pop(key, None)
        for keys in expiring.values():
            while key in keys:
                keys.remove(key)

    def _user(self, params: UsmParams, engine_id: bytes) -> UsmUserData:
        user = self._users.get((params, engine_id))
        if user is None:
            user = self._users[(params, engine_id)] = UsmUserData(
                params.user,
                authKey=params.auth_key, privKey=params.priv_key,
                authProtocol=AUTH_PROTOCOLS[params.auth_protocol],
                privProtocol=PRIV_PROTOCOLS[params.priv_protocol],
                securityEngineId=engine_id,
            )
        return user

    def _observe(self, engine: SnmpEngine, point: str, variables: Mapping[str, Any],
                 context: object) -> None:
        # Any: pysnmp is untyped; these are its transport address tuple and OctetString.
        address = variables.get("transportAddress")
        engine_id = variables.get("securityEngineId")
        if address is None or engine_id is None:
            return
        self._on_engine_id(address_text(address), bytes(engine_id))


_NO_RESPONSE = ber.Response(0, 0, 0, [])


class PysnmpSession:
    """SNMPv3 via pysnmp's command generator on the shared engine (the reference)."""

    def __init__(self, holder: EngineHolder, target: Address, params: UsmParams, *,
                 timeout: float, retries: int) -> None:
        self.address = address_text(target)
        self._holder = holder
        self._target = target
        self._params = params
        self.timeout = timeout
        self.retries = retries
        self._transport: UsmTarget | None = None

    def __repr__(self) -> str:
        return f"PysnmpSession({self.address}, {self._params!r})"

    async def request(self, pdu: int, oids: Sequence[bytes], *, non_repeaters: int = 0,
                      max_repetitions: int = 0, deadline: float) -> ber.Response:
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise self._budget_spent()
        engine = reference_engine(self._holder)
        if self._transport is None:
            self._transport = await engine.target(self._target, self.timeout, self.retries)
        try:
            # pysnmp keeps its own timers (timeout and retries per request); the outer
            # bound keeps the poll's deadline exact.
            return await asyncio.wait_for(
                engine.request(self._transport, self._params, pdu, oids, non_repeaters,
                            max_repetitions, deadline),
                timeout=remaining + 0.05)
        except TimeoutError:
            raise self._budget_spent() from None
        except SnmpError:
            raise
        except Exception as exc:  # pysnmp raises its own errors from deep inside
            raise SnmpError(f"{self.address}: {type(exc).__name__}: {exc}") from None

    def _budget_spent(self) -> PollBudgetSpentError:
        return PollBudgetSpentError(
            f"{self.address}: the poll's time ran out while a request waited")


def _object_type(oid: bytes) -> ObjectType:
    # Building and resolving an ObjectType costs ~1.5 ms: keep one per OID.
    cached = _object_types.get(oid)
    if cached is None:
        if len(_object_types) > 50_000:
            _object_types.clear()
        cached = ObjectType(ObjectIdentity(ber.decode_oid(oid)))
        _object_types[oid] = cached
    return cached


def _error(indication: object, address: str, params: UsmParams) -> SnmpError:
    if isinstance(indication, errind.RequestTimedOut):
        return SnmpTimeoutError(f"no answer from {address}")
    for kind, report in _REPORTS:
        if isinstance(indication, kind):
            return report_error(report, address, params)
    if isinstance(indication, _AUTH_INDICATIONS):
        return SnmpAuthError(f"{address} rejected our SNMPv3 credentials for user "
                             f"{params.user}: {indication}")
    return SnmpError(f"{address}: {indication}")


# pysnmp's names for the reports, worded by the poll path's `report_error`.
_REPORTS = ((errind.WrongDigest, usm.Report.WRONG_DIGEST),
            (errind.UnknownUserName, usm.Report.UNKNOWN_USER_NAME),
            (errind.DecryptionError, usm.Report.DECRYPTION_ERROR),
            (errind.UnsupportedSecurityLevel, usm.Report.UNSUPPORTED_SEC_LEVEL),
            (errind.NotInTimeWindow, usm.Report.NOT_IN_TIME_WINDOW))


def _varbind(vb: ObjectType) -> ber.Varbind:
    name, value = vb[0], vb[1]
    oid = ber.encode_oid(tuple(name))
    tag = _TAGS.get(value.tagSet)
    if tag is None:
        return oid, ber.NULL, None
    if tag in (ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW):
        return oid, tag, None
    if tag == ber.OBJECT_ID:
        return oid, tag, ber.encode_oid(tuple(value))
    if tag in (ber.OCTET_STRING, ber.IP_ADDRESS, ber.OPAQUE):
        return oid, tag, bytes(value.asOctets())
    return oid, tag, int(value)

"""The pysnmp side of SNMPv3: the engine, USM users and targets, one request, value mapping.

Imported lazily, by `engine.EngineHolder.usm()` (pysnmp takes ~150 ms to import and build
an engine): a process that polls only v1/v2c devices never loads it. This module imports
nothing of Lifeline's that imports it back.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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

from collectors.snmp import ber
from collectors.snmp.errors import SnmpAuthError, SnmpError, SnmpTimeoutError
from collectors.snmp.target import Address, UsmParams, address_text

AUTH_PROTOCOLS = {
    None: _auth.USM_AUTH_NONE,
    "MD5": _auth.USM_AUTH_HMAC96_MD5,
    "SHA": _auth.USM_AUTH_HMAC96_SHA,
    "SHA224": _auth.USM_AUTH_HMAC128_SHA224,
    "SHA256": _auth.USM_AUTH_HMAC192_SHA256,
    "SHA384": _auth.USM_AUTH_HMAC256_SHA384,
    "SHA512": _auth.USM_AUTH_HMAC384_SHA512,
}
# AES-192/256 with the key extension net-snmp and Cisco use (draft-reeder), not Blumenthal.
PRIV_PROTOCOLS = {
    None: _auth.USM_PRIV_NONE,
    "DES": _auth.USM_PRIV_CBC56_DES,
    "AES": _auth.USM_PRIV_CFB128_AES,
    "AES192": _auth.USM_PRIV_CFB192_AES,
    "AES256": _auth.USM_PRIV_CFB256_AES,
}

# Report PDUs that mean "your credentials are wrong", as pysnmp names them.
_AUTH_INDICATIONS = (errind.UnknownUserName, errind.WrongDigest, errind.DecryptionError,
                     errind.UnsupportedSecurityLevel, errind.AuthenticationError,
                     errind.AuthenticationFailure, errind.UnknownSecurityName,
                     errind.NoAuthentication, errind.NoEncryption)

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


class UsmEngine:
    """pysnmp's `SnmpEngine` for one event loop, with the USM users built for it. Every
    agent's engine id, as it answers, goes to `on_engine_id(address, engine_id)`."""

    def __init__(self, on_engine_id: Callable[[str, bytes], None]) -> None:
        self._on_engine_id = on_engine_id
        self._engine = SnmpEngine()
        self._engine.observer.register_observer(self._observe, *_ENGINE_ID_POINTS)
        self._users: dict[UsmParams, UsmUserData] = {}

    async def target(self, address: Address, attempt_timeout: float,
                     retries: int) -> UdpTransportTarget:
        return await UdpTransportTarget.create(address, timeout=attempt_timeout,
                                               retries=retries)

    async def request(self, target: UdpTransportTarget, params: UsmParams, pdu: int,
                      oids: Sequence[bytes], non_repeaters: int, max_repetitions: int,
                      address: str) -> ber.Response:
        """One GET, GETNEXT or GETBULK; failures raised as SnmpError subclasses."""
        auth = self._user(params)
        context = ContextData(contextName=params.context)
        varbinds = [_object_type(o) for o in oids]
        if pdu == ber.GETBULK:
            result = await bulk_cmd(self._engine, auth, target, context, non_repeaters,
                                    max_repetitions, *varbinds, lookupMib=False)
        elif pdu == ber.GETNEXT:
            result = await next_cmd(self._engine, auth, target, context, *varbinds,
                                    lookupMib=False)
        else:
            result = await get_cmd(self._engine, auth, target, context, *varbinds,
                                   lookupMib=False)
        indication, status, index, answered = result
        if indication:
            raise _error(indication, address)
        return ber.Response(0, int(status), int(index), [_varbind(vb) for vb in answered])

    def close(self) -> None:
        self._engine.observer.unregister_observer(self._observe)
        self._engine.close_dispatcher()
        self._users.clear()

    def _user(self, params: UsmParams) -> UsmUserData:
        user = self._users.get(params)
        if user is None:
            user = self._users[params] = UsmUserData(
                params.user,
                authKey=params.auth_key, privKey=params.priv_key,
                authProtocol=AUTH_PROTOCOLS[params.auth_protocol],
                privProtocol=PRIV_PROTOCOLS[params.priv_protocol],
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


def _object_type(oid: bytes) -> ObjectType:
    # Building and resolving an ObjectType costs ~1.5 ms: keep one per OID.
    cached = _object_types.get(oid)
    if cached is None:
        if len(_object_types) > 50_000:
            _object_types.clear()
        cached = ObjectType(ObjectIdentity(ber.decode_oid(oid)))
        _object_types[oid] = cached
    return cached


def _error(indication: object, address: str) -> SnmpError:
    if isinstance(indication, errind.RequestTimedOut):
        return SnmpTimeoutError(f"no answer from {address}")
    if isinstance(indication, _AUTH_INDICATIONS):
        return SnmpAuthError(f"{address} rejected our SNMPv3 credentials: {indication}")
    if isinstance(indication, errind.NotInTimeWindow):
        return SnmpAuthError(f"{address}: not in time window (engine boots/time mismatch, "
                             f"often two devices sharing one engine id)")
    return SnmpError(f"{address}: {indication}")


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

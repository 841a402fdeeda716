"""SNMPv3 on the BER path: the v3 message (RFC 3412) and the User-based Security Model
(RFC 3414, RFC 3826, RFC 7860), for both directions.

pysnmp spends 8-10 ms of CPU on an authPriv poll, almost all of it in pyasn1; the message
has a fixed shape, so it is encoded and decoded here the way `ber` does v1/v2c, with the
hashing and ciphers in `hashlib`, `hmac` and `cryptography`.

Who is authoritative (RFC 3414 1.5.1): the engine that receives a request or an inform
and sends responses and reports. Its engine id, boots and time are the ones every message
of the exchange carries, and the keys are localized to its engine id.

- Our requests (polls): the device is authoritative. Learn its engine id and clock with a
  discovery probe (`discovery_message`, answered by an unknownEngineID report), keep its
  clock in an `EngineClock`, `localize` the user's keys to its id, `encode_message` the
  request, and `decode_message` + `open_message` the response or report (`report_of`
  says which report). `EngineClock.accept` is RFC 3414 3.2.7 b for the answer.
- Traps received: the sender is authoritative: `decode_message`, `localize` the user's keys
  to `message.security.engine_id`, `open_message`; an `EngineClock` per sender if
  timeliness is to be checked.
- Informs received: we are authoritative, with our own `LocalEngine` (id, boots, time).
  A sender first probes with an empty engine id: answer with a report built by
  `encode_report(..., Report.UNKNOWN_ENGINE_ID)` (unauthenticated, carrying our id, boots
  and time); a message outside our window (`LocalEngine.in_window`, RFC 3414 3.2.7 a) is
  answered with a NOT_IN_TIME_WINDOW report, authenticated; the inform itself with a
  RESPONSE PDU in `encode_message` with our engine id, boots and time and the sender's
  user keys localized to *our* id.

`open_message` raises `UsmError(report)` for what RFC 3414 3.2 refuses (the `Report` an
authoritative engine answers it with); `decode_message` raises `ber.BerError` for anything
that is not a well-formed USM message. Decoding is bounded like `ber`'s: every length
checked against its enclosing TLV, integers at most 32 bits, engine ids and user names at
most 32 octets, authentication parameters at most 48.

Keys: `UsmUser` holds the passwords (never in a repr); `localize(user, engine_id)` gives
`LocalKeys` (RFC 3414 A.2 password-to-key, then localization; cached per (user, engine
id), so the 1 MB hash runs once per password and engine). AES-192/256 extend a localized
key too short for them the way net-snmp's snmpd does (`KEY_EXTENSION`, `extend_key`).
"""
from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import itertools
import secrets
from dataclasses import dataclass, field

# DES and CFB are "decrepit" in cryptography's terms; SNMPv3 (RFC 3414, RFC 3826) is
# defined with them.
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from collectors.snmp import ber
from collectors.snmp.ber import OCTET_STRING, SEQUENCE, BerError, encode_int, tlv

USM = 3                        # msgSecurityModel of the User-based Security Model
MAX_MESSAGE = 65507            # msgMaxSize we announce: the largest UDP payload over IPv4
MIN_MESSAGE = 484              # RFC 3412: the least msgMaxSize an engine may announce
MAX_INT = 2**31 - 1            # boots and time are 0..2^31-1; boots at MAX_INT is latched
TIME_WINDOW = 150              # seconds (RFC 3414 3.2.7)
MAX_ENGINE_ID = 32             # octets (RFC 3411 SnmpEngineID 5..32; empty in a probe)
MAX_NAME = 32                  # octets of a user name or context name (SnmpAdminString)
_MAX_SECURITY_FIELD = 64       # octets of authentication or privacy parameters at most

FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04

# Which AES-192/256 key extension (used when the localized key is shorter than the cipher
# key: SHA-1 gives 20 octets, AES-256 needs 32). net-snmp 5.9's snmpd ("AES-192",
# "AES-256") uses Blumenthal's (draft-blumenthal-aes-usm-04: append the hash of the key so
# far); Cisco's "AES192C" uses Reeder's (draft-reeder-snmpv3-usm-3desede: run the
# password-to-key steps again on the localized key). Checked against the snmpd on this
# machine in tests/collectors/snmp/test_snmp_v3_usm.py.
KEY_EXTENSION = "blumenthal"


# --- protocols and keys ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AuthProtocol:
    """An HMAC authentication protocol: `mac_length` octets of the digest are sent."""

    name: str
    hash: str               # hashlib's name
    mac_length: int


@dataclass(frozen=True, slots=True)
class PrivProtocol:
    """A privacy protocol: its cipher key length in octets (DES also takes a pre-IV)."""

    name: str
    key_length: int

    @property
    def des(self) -> bool:
        return self.name == "DES"


AUTH_PROTOCOLS = {p.name: p for p in (
    AuthProtocol("MD5", "md5", 12),             # RFC 3414 usmHMACMD5AuthProtocol
    AuthProtocol("SHA", "sha1", 12),            # RFC 3414 usmHMACSHAAuthProtocol
    AuthProtocol("SHA224", "sha224", 16),       # RFC 7860 usmHMAC128SHA224AuthProtocol
    AuthProtocol("SHA256", "sha256", 24),       # ... usmHMAC192SHA256AuthProtocol
    AuthProtocol("SHA384", "sha384", 32),       # ... usmHMAC256SHA384AuthProtocol
    AuthProtocol("SHA512", "sha512", 48),       # ... usmHMAC384SHA512AuthProtocol
)}
PRIV_PROTOCOLS = {p.name: p for p in (
    PrivProtocol("DES", 8),                     # RFC 3414 8: DES-CBC
    PrivProtocol("AES", 16),                    # RFC 3826: AES-128-CFB
    PrivProtocol("AES192", 24),                 # the same with longer keys (see KEY_EXTENSION)
    PrivProtocol("AES256", 32),
)}


@dataclass(frozen=True, slots=True)
class UsmUser:
    """A USM user as the credentials give it: protocol names of AUTH_PROTOCOLS and
    PRIV_PROTOCOLS (or None) and the passwords. ValueError on construction for an unknown
    protocol, privacy without authentication, or a password RFC 3414 11.2 refuses (fewer
    than 8 characters)."""

    name: str
    auth_protocol: str | None = None
    auth_password: str | None = field(default=None, repr=False)
    priv_protocol: str | None = None
    priv_password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if len(self.name.encode()) > MAX_NAME:
            raise ValueError(f"user name longer than {MAX_NAME} octets")
        if self.auth_protocol is not None and self.auth_protocol not in AUTH_PROTOCOLS:
            raise ValueError(f"unknown authentication protocol {self.auth_protocol!r}")
        if self.priv_protocol is not None and self.priv_protocol not in PRIV_PROTOCOLS:
            raise ValueError(f"unknown privacy protocol {self.priv_protocol!r}")
        if self.priv_protocol and not self.auth_protocol:
            raise ValueError("privacy needs authentication too (authPriv)")
        for what, protocol, password in (("authentication", self.auth_protocol,
                                          self.auth_password),
                                         ("privacy", self.priv_protocol, self.priv_password)):
            if protocol and len(password or "") < 8:
                raise ValueError(f"the {what} key is shorter than 8 characters, "
                                 f"which SNMPv3 agents refuse (RFC 3414 11.2)")


@dataclass(frozen=True, slots=True, repr=False)
class LocalKeys:
    """A user's keys localized to one authoritative engine id. `priv_key` is the cipher
    key, and for DES the pre-IV after it (16 octets)."""

    user: bytes
    engine_id: bytes
    auth: AuthProtocol | None
    auth_key: bytes
    priv: PrivProtocol | None
    priv_key: bytes

    def __repr__(self) -> str:      # the keys stay out of every repr
        return (f"LocalKeys(user={self.user!r}, engine_id={self.engine_id.hex()}, "
                f"auth={self.auth.name if self.auth else None}, "
                f"priv={self.priv.name if self.priv else None})")

    @property
    def flags(self) -> int:
        return (FLAG_AUTH if self.auth else 0) | (FLAG_PRIV if self.priv else 0)

    def without_privacy(self) -> LocalKeys:
        """The same keys for an authNoPriv message of an authPriv user: the
        notInTimeWindow report an agent answers with (RFC 3414 3.2.7 a)."""
        return LocalKeys(self.user, self.engine_id, self.auth, self.auth_key, None, b"")


def password_to_key(auth: AuthProtocol, password: bytes) -> bytes:
    """RFC 3414 A.2 (and RFC 7860 for SHA-2): the hash of 1 MiB of the password repeated."""
    if not password:
        raise ValueError("empty password")
    return _password_to_key(auth.hash, password)


@functools.lru_cache(maxsize=1024)
def _password_to_key(hash_name: str, password: bytes) -> bytes:
    stream = (password * (1_048_576 // len(password) + 1))[:1_048_576]
    return hashlib.new(hash_name, stream).digest()


def localize_key(auth: AuthProtocol, key: bytes, engine_id: bytes) -> bytes:
    """RFC 3414 2.6: Kul = H(Ku || engineID || Ku)."""
    return hashlib.new(auth.hash, key + engine_id + key).digest()


@functools.lru_cache(maxsize=4096)
def localize(user: UsmUser, engine_id: bytes) -> LocalKeys:
    """The user's keys for the authoritative engine `engine_id`; cached per (user, engine
    id): several devices sharing an engine id and user share the work, never the state."""
    auth = AUTH_PROTOCOLS[user.auth_protocol] if user.auth_protocol else None
    priv = PRIV_PROTOCOLS[user.priv_protocol] if user.priv_protocol else None
    auth_key = priv_key = b""
    if auth is not None:
        auth_key = localize_key(auth, password_to_key(auth, (user.auth_password or "").encode()),
                                engine_id)
        if priv is not None:
            # The privacy key is made with the authentication protocol's hash (RFC 3414 2.6).
            priv_key = localize_key(
                auth, password_to_key(auth, (user.priv_password or "").encode()), engine_id)
            priv_key = extend_key(auth, priv_key, engine_id,
                                  16 if priv.des else priv.key_length)
    return LocalKeys(user.name.encode(), engine_id, auth, auth_key, priv, priv_key)


def extend_key(auth: AuthProtocol, key: bytes, engine_id: bytes, length: int,
               extension: str = KEY_EXTENSION) -> bytes:
    """A localized key cut to `length` octets, extended first if it is shorter
    ("blumenthal" or "reeder", see KEY_EXTENSION)."""
    while len(key) < length:
        if extension == "reeder":
            key += localize_key(auth, password_to_key(auth, key), engine_id)
        else:
            key += hashlib.new(auth.hash, key).digest()
    return key[:length]


# --- the message ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SecurityParameters:
    """UsmSecurityParameters: the authoritative engine's id, boots and time, the user,
    and the raw authentication and privacy parameters (MAC and salt)."""

    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_params: bytes
    priv_params: bytes


@dataclass(frozen=True, slots=True)
class ScopedPdu:
    """The scoped PDU: context engine id and name, and the PDU (ber.Pdu)."""

    context_engine_id: bytes
    context_name: bytes
    pdu: ber.Pdu


@dataclass(frozen=True, slots=True)
class Message:
    """A v3 message as it arrived, its security not yet checked (`open_message` does).
    `data` is the scoped PDU's TLV (plaintext) or the ciphertext (FLAG_PRIV); `whole` and
    `auth_at` are the datagram and where its MAC starts, to check it."""

    msg_id: int
    max_size: int
    flags: int
    security: SecurityParameters
    data: bytes
    whole: bytes
    auth_at: int

    @property
    def reportable(self) -> bool:
        return bool(self.flags & FLAG_REPORTABLE)


def decode_message(data: bytes) -> Message:
    """The structure of a whole v3 message (RFC 3412 6, RFC 3414 2.4). Raises BerError for
    anything that is not a well-formed USM message. Checks nothing cryptographic."""
    start, end = ber.tlv_at(data, 0, SEQUENCE)
    if end != len(data):
        raise BerError("bytes after the message")
    version, i = ber.int_at(data, start)
    if version != ber.VERSION_3:
        raise BerError(f"not an SNMPv3 message: version {version}")
    hstart, hend = ber.tlv_at(data, i, SEQUENCE)
    msg_id, j = ber.int_at(data, hstart)
    max_size, j = ber.int_at(data, j)
    fstart, fend = ber.tlv_at(data, j, OCTET_STRING)
    model, j = ber.int_at(data, fend)
    if j != hend or fend - fstart != 1:
        raise BerError("malformed msgGlobalData")
    flags = data[fstart]
    if msg_id < 0 or max_size < MIN_MESSAGE:
        raise BerError("msgID or msgMaxSize out of range")
    if flags & FLAG_PRIV and not flags & FLAG_AUTH:
        raise BerError("privacy without authentication (RFC 3412 7.2 e)")
    if model != USM:
        raise BerError(f"security model {model} is not USM")
    ostart, oend = ber.tlv_at(data, hend, OCTET_STRING)
    security, auth_at = _security(data, ostart, oend)
    if flags & FLAG_PRIV:
        dstart, dend = ber.tlv_at(data, oend, OCTET_STRING)
    else:
        dstart, dend = ber.tlv_at(data, oend, SEQUENCE)
        dstart = oend
    if dend != end:
        raise BerError("bytes after the scoped PDU")
    return Message(msg_id, max_size, flags, security, data[dstart:dend], data, auth_at)


def _security(data: bytes, start: int, end: int) -> tuple[SecurityParameters, int]:
    sstart, send = ber.tlv_at(data, start, SEQUENCE)
    if send != end:
        raise BerError("malformed msgSecurityParameters")
    estart, eend = ber.tlv_at(data, sstart, OCTET_STRING)
    boots, i = ber.int_at(data, eend)
    time, i = ber.int_at(data, i)
    ustart, uend = ber.tlv_at(data, i, OCTET_STRING)
    astart, aend = ber.tlv_at(data, uend, OCTET_STRING)
    pstart, pend = ber.tlv_at(data, aend, OCTET_STRING)
    if pend != send:
        raise BerError("malformed msgSecurityParameters")
    if (eend - estart > MAX_ENGINE_ID or uend - ustart > MAX_NAME
            or aend - astart > _MAX_SECURITY_FIELD or pend - pstart > _MAX_SECURITY_FIELD):
        raise BerError("msgSecurityParameters field too long")
    if boots < 0 or time < 0:
        raise BerError("negative engine boots or time")
    return SecurityParameters(data[estart:eend], boots, time, data[ustart:uend],
                              data[astart:aend], data[pstart:pend]), astart


def open_message(message: Message, keys: LocalKeys | None) -> ScopedPdu:
    """Check the MAC and decrypt (RFC 3414 3.2 steps 6-8) with `keys` (localized to the
    message's authoritative engine; None for noAuthNoPriv), then decode the scoped PDU.
    Raises UsmError with the report an authoritative engine would answer: wrong digest,
    decryption error, unsupported security level (the message's level is not the
    user's). Checks neither the user name nor the time window: the caller knows whose
    keys it chose, and whose clock applies."""
    flags = message.flags & (FLAG_AUTH | FLAG_PRIV)
    if flags != (keys.flags if keys is not None else 0):
        raise UsmError(Report.UNSUPPORTED_SEC_LEVEL)
    if keys is not None and keys.auth is not None and not hmac.compare_digest(
            message.security.auth_params,
            _mac(keys, message.whole, message.auth_at, len(message.security.auth_params))):
        raise UsmError(Report.WRONG_DIGEST)
    data = message.data
    if keys is not None and keys.priv is not None:
        data = _decrypt(keys, message.security, data)
    try:
        return _scoped(data, plaintext=keys is None or keys.priv is None)
    except BerError:
        if keys is not None and keys.priv is not None:
            # Garbage out of the cipher: the key, not the sender, is what is wrong.
            raise UsmError(Report.DECRYPTION_ERROR) from None
        raise


def _mac(keys: LocalKeys, whole: bytes, at: int, length: int) -> bytes:
    """The MAC of a whole message with its authentication parameters zeroed; b"" (which
    never matches a real MAC) when they are not the protocol's length."""
    assert keys.auth is not None
    if length != keys.auth.mac_length:
        return b""
    zeroed = whole[:at] + bytes(length) + whole[at + length:]
    return hmac.digest(keys.auth_key, zeroed, keys.auth.hash)[:length]


def _scoped(data: bytes, *, plaintext: bool) -> ScopedPdu:
    start, end = ber.tlv_at(data, 0, SEQUENCE)
    if plaintext and end != len(data):
        raise BerError("bytes after the scoped PDU")    # after decryption: padding, allowed
    estart, eend = ber.tlv_at(data, start, OCTET_STRING)
    nstart, nend = ber.tlv_at(data, eend, OCTET_STRING)
    if eend - estart > MAX_ENGINE_ID or nend - nstart > MAX_NAME:
        raise BerError("context engine id or name too long")
    pdu, pend = ber.decode_pdu(data, nend, end)
    if pend != end:
        raise BerError("bytes after the PDU")
    return ScopedPdu(data[estart:eend], data[nstart:nend], pdu)


def encode_message(*, msg_id: int, engine_id: bytes, boots: int, time: int,
                   keys: LocalKeys | None, user: bytes = b"", context_engine_id: bytes,
                   context_name: bytes = b"", pdu: bytes, reportable: bool,
                   encrypt: bool = True, max_size: int = MAX_MESSAGE) -> bytes:
    """A whole v3 message carrying `pdu` (an encoded PDU: `ber.encode_pdu`). With `keys`
    it is authenticated (and encrypted if they have privacy and `encrypt`: a
    notInTimeWindow report goes authNoPriv); without, noAuthNoPriv as `user`. `engine_id`,
    `boots` and `time` are the authoritative engine's."""
    scoped = tlv(SEQUENCE, tlv(OCTET_STRING, context_engine_id)
                 + tlv(OCTET_STRING, context_name) + pdu)
    flags = FLAG_REPORTABLE if reportable else 0
    mac_length = 0
    priv_params = b""
    if keys is not None:
        user = keys.user
        if keys.auth is not None:
            flags |= FLAG_AUTH
            mac_length = keys.auth.mac_length
        if keys.priv is not None and encrypt:
            flags |= FLAG_PRIV
            priv_params, scoped = _encrypt(keys, boots, time, scoped)
            scoped = tlv(OCTET_STRING, scoped)
    head = (tlv(OCTET_STRING, engine_id) + encode_int(boots) + encode_int(time)
            + tlv(OCTET_STRING, user) + bytes((OCTET_STRING, mac_length)))
    security = tlv(SEQUENCE, head + bytes(mac_length) + tlv(OCTET_STRING, priv_params))
    front = (encode_int(ber.VERSION_3)
             + tlv(SEQUENCE, encode_int(msg_id) + encode_int(max_size)
                   + tlv(OCTET_STRING, bytes((flags,))) + encode_int(USM))
             + tlv(OCTET_STRING, security))
    whole = tlv(SEQUENCE, front + scoped)
    if not mac_length:
        return whole
    assert keys is not None and keys.auth is not None
    # The zeroed MAC ends where the privacy parameters start, the last field before the
    # scoped PDU (the security parameters' TLVs all end there together).
    at = len(whole) - len(scoped) - len(tlv(OCTET_STRING, priv_params)) - mac_length
    mac = hmac.digest(keys.auth_key, whole, keys.auth.hash)[:mac_length]
    return whole[:at] + mac + whole[at + mac_length:]


# --- privacy ----------------------------------------------------------------------------

# Salts must not repeat under one key (RFC 3414 8.1.1.1, RFC 3826 3.1.2.1): one counter
# per process, started at random, is what net-snmp does too.
_des_salts = itertools.count(secrets.randbits(32))
_aes_salts = itertools.count(secrets.randbits(64))


def _encrypt(keys: LocalKeys, boots: int, time: int, plaintext: bytes) -> tuple[bytes, bytes]:
    """(msgPrivacyParameters, ciphertext) of a scoped PDU."""
    assert keys.priv is not None
    if keys.priv.des:
        salt = boots.to_bytes(4, "big") + (next(_des_salts) & 0xFFFFFFFF).to_bytes(4, "big")
        iv = bytes(a ^ b for a, b in zip(keys.priv_key[8:16], salt, strict=True))
        padded = plaintext + bytes(-len(plaintext) % 8)
        enc = Cipher(TripleDES(keys.priv_key[:8] * 3), modes.CBC(iv)).encryptor()
        return salt, enc.update(padded) + enc.finalize()
    salt = (next(_aes_salts) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt
    enc = Cipher(algorithms.AES(keys.priv_key), CFB(iv)).encryptor()
    return salt, enc.update(plaintext) + enc.finalize()


def _decrypt(keys: LocalKeys, security: SecurityParameters, ciphertext: bytes) -> bytes:
    assert keys.priv is not None
    salt = security.priv_params
    if len(salt) != 8:
        raise UsmError(Report.DECRYPTION_ERROR)
    if keys.priv.des:
        if len(ciphertext) % 8:
            raise UsmError(Report.DECRYPTION_ERROR)
        iv = bytes(a ^ b for a, b in zip(keys.priv_key[8:16], salt, strict=True))
        dec = Cipher(TripleDES(keys.priv_key[:8] * 3), modes.CBC(iv)).decryptor()
    else:
        iv = security.boots.to_bytes(4, "big") + security.time.to_bytes(4, "big") + salt
        dec = Cipher(algorithms.AES(keys.priv_key), CFB(iv)).decryptor()
    return dec.update(ciphertext) + dec.finalize()


# --- reports ----------------------------------------------------------------------------

class Report(enum.Enum):
    """What a report PDU says, by the counter OID in its first varbind (RFC 3414 usmStats,
    RFC 3412 snmpMPDStats, RFC 3413 snmpTargetSpinLock's neighbours for contexts)."""

    UNSUPPORTED_SEC_LEVEL = (1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0)
    NOT_IN_TIME_WINDOW = (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0)
    UNKNOWN_USER_NAME = (1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0)
    UNKNOWN_ENGINE_ID = (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0)
    WRONG_DIGEST = (1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0)
    DECRYPTION_ERROR = (1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0)
    UNKNOWN_SECURITY_MODEL = (1, 3, 6, 1, 6, 3, 11, 2, 1, 1, 0)
    INVALID_MESSAGE = (1, 3, 6, 1, 6, 3, 11, 2, 1, 2, 0)
    UNKNOWN_PDU_HANDLER = (1, 3, 6, 1, 6, 3, 11, 2, 1, 3, 0)
    UNAVAILABLE_CONTEXT = (1, 3, 6, 1, 6, 3, 12, 1, 4, 0)
    UNKNOWN_CONTEXT = (1, 3, 6, 1, 6, 3, 12, 1, 5, 0)

    @property
    def oid(self) -> bytes:
        return _REPORT_OIDS[self]


_REPORT_OIDS = {r: ber.encode_oid(r.value) for r in Report}
_REPORTS_BY_OID = {oid: r for r, oid in _REPORT_OIDS.items()}


class UsmError(Exception):
    """A message USM refuses, with the report that says why."""

    def __init__(self, report: Report) -> None:
        super().__init__(report.name.lower())
        self.report = report


def report_of(pdu: ber.Pdu) -> Report | None:
    """Which report a REPORT PDU is (None: not a report, or a counter we do not know)."""
    if pdu.tag != ber.REPORT or not pdu.varbinds:
        return None
    return _REPORTS_BY_OID.get(pdu.varbinds[0][0])


def report_pdu(report: Report, count: int, request_id: int) -> bytes:
    """An encoded REPORT PDU with the counter `report` names (a Counter32 of `count`)."""
    varbinds = ber.encode_varbinds([(report.oid, ber.COUNTER32, count & 0xFFFFFFFF)])
    return ber.encode_pdu(ber.REPORT, request_id, varbinds)


def discovery_message(msg_id: int, request_id: int) -> bytes:
    """RFC 3414 4: the probe that asks an agent for its engine id, boots and time:
    noAuthNoPriv, reportable, no engine id, no user, an empty GET. The agent answers
    with an UNKNOWN_ENGINE_ID report carrying them."""
    return encode_message(msg_id=msg_id, engine_id=b"", boots=0, time=0, keys=None,
                          context_engine_id=b"", reportable=True,
                          pdu=ber.encode_pdu(ber.GET, request_id, ber.encode_varbinds([])))


def encode_report(request: Message, request_id: int, report: Report, count: int, *,
                  engine: LocalEngine, at: float, keys: LocalKeys | None) -> bytes:
    """The authoritative side's report on `request` (an inform we could not accept):
    UNKNOWN_ENGINE_ID (discovery) and the like unauthenticated (`keys` None);
    NOT_IN_TIME_WINDOW authenticated with the sender's keys, not encrypted."""
    boots, time = engine.clock(at)
    return encode_message(msg_id=request.msg_id, engine_id=engine.engine_id, boots=boots,
                          time=time, keys=keys, user=request.security.user,
                          context_engine_id=engine.engine_id, reportable=False,
                          encrypt=False, pdu=report_pdu(report, count, request_id))


# --- time (RFC 3414 2.3, 3.2.7) --------------------------------------------------------------

@dataclass(slots=True)
class EngineClock:
    """Our notion of a remote authoritative engine's clock (RFC 3414 2.3): its boots,
    its time when we learnt it, our clock then (`synced`, any monotonic seconds) and
    latestReceivedEngineTime. Mutable state: one per (address, engine id)."""

    boots: int
    time: int
    synced: float
    latest: int = 0

    def now(self, at: float) -> tuple[int, int]:
        """(boots, time) to send at our clock `at`."""
        return self.boots, min(MAX_INT, self.time + max(0, int(at - self.synced)))

    def accept(self, boots: int, time: int, at: float) -> bool:
        """RFC 3414 3.2.7 b, for an authenticated message from the engine: learn newer
        boots/time; False if the message is outside the time window (stale or replayed)."""
        if boots > self.boots or (boots == self.boots and time > self.latest):
            self.boots, self.time, self.latest, self.synced = boots, time, time, at
        return not (self.boots == MAX_INT or boots < self.boots
                    or (boots == self.boots and time < self.now(at)[1] - TIME_WINDOW))


@dataclass(frozen=True, slots=True)
class LocalEngine:
    """Our own engine when we are authoritative (informs): its id, boots, and when it
    started (`started`, the same monotonic clock callers pass as `at`)."""

    engine_id: bytes
    boots: int
    started: float

    def clock(self, at: float) -> tuple[int, int]:
        return self.boots, min(MAX_INT, max(0, int(at - self.started)))

    def in_window(self, boots: int, time: int, at: float) -> bool:
        """RFC 3414 3.2.7 a: the message's boots are ours and its time within 150 s."""
        own_boots, own_time = self.clock(at)
        return not (own_boots == MAX_INT or boots != own_boots
                    or abs(time - own_time) > TIME_WINDOW)


def text_engine_id(text: str, enterprise: int = 8072) -> bytes:
    """An RFC 3411 engine id of format 4 (text) under `enterprise` (net-snmp's by
    default), as snmpd's `engineID TEXT` makes it."""
    body = text.encode()[:MAX_ENGINE_ID - 5]
    return (0x80000000 | enterprise).to_bytes(4, "big") + b"\x04" + body


__all__ = [
    "AUTH_PROTOCOLS", "PRIV_PROTOCOLS", "AuthProtocol", "EngineClock", "LocalEngine",
    "LocalKeys", "Message", "PrivProtocol", "Report", "ScopedPdu", "SecurityParameters",
    "UsmError", "UsmUser", "decode_message", "discovery_message", "encode_message",
    "encode_report", "extend_key", "localize", "localize_key", "open_message", "password_to_key",
    "report_of", "report_pdu", "text_engine_id",
]

"""A minimal BER codec for SNMP v1/v2c messages: the CPU-cheap path.

pysnmp decodes every varbind through pyasn1 (about 0.2 ms each on this machine), which
alone would put a switch poll at several times prometheus-snmp-exporter's cost. SNMP
v1/v2c messages have a fixed, small shape, so this module encodes requests and decodes
responses directly. SNMPv3 wraps the same PDUs in its own message (`usm.py`), which uses
the PDU codec here (`Pdu`, `encode_pdu`, `decode_pdu`).

OIDs stay in their encoded form (`bytes`) on the hot path: BER encodes each sub-identifier
self-delimited, so "OID a is a prefix of OID b" is exactly `b.startswith(a)` on the
encoded forms. Only the table index suffix is ever decoded to integers.

A varbind is a plain tuple `(oid: bytes, tag: int, value)` where the value is an `int`
(INTEGER, Counter32/64, Gauge32, TimeTicks), `bytes` (OCTET STRING, IpAddress, Opaque,
an OID in encoded form) or `None` (NULL and the v2 exceptions).

Decoding is bounded: a number wider than its SNMP type (INTEGER: Integer32, 4
octets; Counter32, Gauge32, TimeTicks: 4, or 5 with a leading 0x00; Counter64: 8, or 9)
and an OID value with a sub-identifier above 2^32-1, more than 128 sub-identifiers or an
end inside a sub-identifier become a `BadValue` under the tag `BAD_VALUE`: that varbind
only, the others of the response stay. A varbind *name* broken that way makes the whole
response a `BerError`: the walker places values by their names and continues each column
from the last one, so a name that is not an OID leaves nothing to place or continue from.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Universal and application tags (RFC 3416) as they appear on the wire.
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_ID = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82

# PDU tags.
GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
GETBULK = 0xA5
TRAP_V1 = 0xA4
INFORM = 0xA6
TRAP_V2 = 0xA7
REPORT = 0xA8

UNSIGNED_TAGS = frozenset({COUNTER32, GAUGE32, TIMETICKS, COUNTER64})
# Octets each unsigned type's value may take (one more when the first is a leading 0x00).
_UNSIGNED_WIDTH = {COUNTER32: 4, GAUGE32: 4, TIMETICKS: 4, COUNTER64: 8}
# Not a wire tag (those are one octet): the tag of a varbind whose value did not decode.
BAD_VALUE = 0x100
EXCEPTION_TAGS = frozenset({NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW})

VERSION_1 = 0
VERSION_2C = 1
VERSION_3 = 3

Varbind = tuple[bytes, int, "int | bytes | None"]

MAX_SUBID = 2**32 - 1          # RFC 2578 section 7.1.3: sub-identifiers are 32-bit unsigned
MAX_SUBIDS = 128               # ... and an OID has at most 128 of them
_TYPE_NAME = {INTEGER: "INTEGER", COUNTER32: "Counter32", GAUGE32: "Gauge32",
              TIMETICKS: "TimeTicks", COUNTER64: "Counter64"}
# A sub-identifier of six or more octets, or of five whose first carries more than the top
# four bits of 32: either is above 2^32-1. (A five-octet match preceded by a continuation
# octet is part of a run the first alternative already finds.)
_WIDE_SUBID = re.compile(rb"[\x80-\xff]{5}|[\x90-\xff][\x80-\xff]{3}[\x00-\x7f]")
_SUBID_ENDS = bytes(range(0x80))


class BerError(ValueError):
    """A message that is not well-formed SNMP."""


class BadValue(bytes):
    """The value of a varbind that did not decode (tag `BAD_VALUE`), with the reason.

    Its octets are empty on purpose: every reader of varbind values takes `int`, `bytes`
    or `None`, finds no number here, and as text finds nothing, so a bad value can never
    become a field, a tag or an identity; `reason` says what was wrong, for reports.
    """

    reason: str

    def __new__(cls, reason: str) -> BadValue:
        value = super().__new__(cls)
        value.reason = reason
        return value

    def __repr__(self) -> str:
        return f"BadValue({self.reason!r})"


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded response PDU. `community` is kept only to match it to its request."""

    request_id: int
    error_status: int
    error_index: int
    varbinds: list[Varbind]


# --- encoding -------------------------------------------------------------------------

def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def encode_int(value: int) -> bytes:
    # The fewest octets, as BER asks: -2^31 is 4 octets (its bit_length says 32).
    bits = (value if value >= 0 else ~value).bit_length()
    return tlv(INTEGER, value.to_bytes(bits // 8 + 1, "big", signed=True))


def encode_oid(oid: Sequence[int]) -> bytes:
    """The content octets of an OID (no tag, no length)."""
    if len(oid) < 2:
        raise ValueError(f"an OID needs at least two sub-identifiers: {oid!r}")
    out = bytearray(_subid(oid[0] * 40 + oid[1]))
    for sub in oid[2:]:
        out += _subid(sub)
    return bytes(out)


def _subid(sub: int) -> bytes:
    if sub < 0x80:
        return bytes((sub,))
    if sub < 0:
        raise ValueError("negative sub-identifier")
    parts = [sub & 0x7F]
    sub >>= 7
    while sub:
        parts.append(0x80 | (sub & 0x7F))
        sub >>= 7
    return bytes(reversed(parts))


def parse_oid(text: str) -> tuple[int, ...]:
    """'1.3.6.1.2.1.1.3.0' (a leading dot allowed) -> (1, 3, 6, ...). ValueError otherwise."""
    parts = text.strip().lstrip(".").split(".")
    try:
        oid = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"not a numeric OID: {text!r}") from None
    if (len(oid) < 2 or len(oid) > MAX_SUBIDS or oid[0] > 2
            or any(p < 0 or p > MAX_SUBID for p in oid)):
        raise ValueError(f"not a numeric OID: {text!r}")
    return oid


def null_varbinds(oids: Sequence[bytes]) -> bytes:
    """The varbind list of a request: each OID with a NULL value."""
    return tlv(SEQUENCE, b"".join([
        # Every request's OIDs: one formatting for the short form (OIDs under 124 octets).
        b"\x30%c\x06%c%b\x05\x00" % (len(o) + 4, len(o), o) if len(o) < 124
        else tlv(SEQUENCE, tlv(OBJECT_ID, o) + b"\x05\x00") for o in oids]))


def encode_pdu(pdu_tag: int, request_id: int, varbind_list: bytes, first: int = 0,
               second: int = 0) -> bytes:
    """One PDU (any of the v2 shapes): request-id, error-status and error-index (for
    GETBULK, non-repeaters and max-repetitions), then the varbind list TLV."""
    return tlv(pdu_tag, encode_int(request_id) + encode_int(first) + encode_int(second)
               + varbind_list)


def encode_request(version: int, community: bytes, pdu_tag: int, request_id: int,
                   varbind_list: bytes, non_repeaters: int = 0, max_repetitions: int = 0) -> bytes:
    """A whole v1/v2c message. For GETBULK the two error fields carry the bulk counts."""
    pdu = encode_pdu(pdu_tag, request_id, varbind_list, non_repeaters, max_repetitions)
    return tlv(SEQUENCE, encode_int(version) + tlv(OCTET_STRING, community) + pdu)


# --- decoding -------------------------------------------------------------------------

def _read_len(data: bytes, i: int) -> tuple[int, int]:
    first = data[i]
    if first < 0x80:
        return first, i + 1
    n = first & 0x7F
    if n == 0 or n > 4:
        raise BerError("unsupported length encoding")
    return int.from_bytes(data[i + 1:i + 1 + n], "big"), i + 1 + n


def _expect(data: bytes, i: int, tag: int) -> tuple[int, int]:
    """Checks the tag at i; returns (content start, content end)."""
    if data[i] != tag:
        raise BerError(f"expected tag 0x{tag:02x}, found 0x{data[i]:02x} at {i}")
    length, start = _read_len(data, i + 1)
    end = start + length
    if end > len(data):
        raise BerError("truncated message")
    return start, end


def tlv_at(data: bytes, i: int, tag: int) -> tuple[int, int]:
    """(content start, content end) of the TLV at `data[i]`, which must have `tag` and end
    within `data`. Raises BerError (also for a TLV cut off). For the v3 message codec."""
    try:
        return _expect(data, i, tag)
    except IndexError:
        raise BerError("truncated message") from None


def int_at(data: bytes, i: int) -> tuple[int, int]:
    """(value, end) of the Integer32 at `data[i]`. Raises BerError."""
    try:
        return _int_at(data, i)
    except IndexError:
        raise BerError("truncated message") from None


def _int_at(data: bytes, i: int) -> tuple[int, int]:
    """An Integer32 of the header (version, request id, error status and index)."""
    start, end = _expect(data, i, INTEGER)
    if end - start > 4:
        raise BerError(f"INTEGER of {end - start} octets at {i}")
    return int.from_bytes(data[start:end], "big", signed=True), end


def peek_header(data: bytes) -> tuple[int, bytes, int]:
    """(version, community, request id) of a message, without decoding the varbinds.

    Used by the datagram callback to route a response to its waiting request cheaply.
    For SNMPv3 it is (3, b"", msgID): the request-id is inside the scoped PDU, encrypted
    with privacy, and RFC 3412 matches a response (or a report) to its request by msgID.
    """
    try:
        start, _ = _expect(data, 0, SEQUENCE)
        version, i = _int_at(data, start)
        if version == VERSION_3:
            hstart, _ = _expect(data, i, SEQUENCE)
            return version, b"", _int_at(data, hstart)[0]
        cstart, cend = _expect(data, i, OCTET_STRING)
        _, pdu_start = _read_len(data, cend + 1)
        request_id, _ = _int_at(data, pdu_start)
    except IndexError:
        raise BerError("truncated message") from None
    return version, data[cstart:cend], request_id


def decode_response(data: bytes) -> tuple[bytes, Response]:
    """(community, response) of a whole v1/v2c response message. Raises BerError."""
    try:
        return _decode_response(data)
    except IndexError:
        raise BerError("truncated message") from None


def _decode_response(data: bytes) -> tuple[bytes, Response]:
    start, _ = _expect(data, 0, SEQUENCE)
    _, i = _int_at(data, start)
    cstart, cend = _expect(data, i, OCTET_STRING)
    pdu_start, _ = _expect(data, cend, RESPONSE)
    request_id, i = _int_at(data, pdu_start)
    error_status, i = _int_at(data, i)
    error_index, i = _int_at(data, i)
    vstart, vend = _expect(data, i, SEQUENCE)
    return data[cstart:cend], Response(request_id, error_status, error_index,
                                       _varbinds(data, vstart, vend))


@dataclass(frozen=True, slots=True)
class Pdu:
    """A decoded PDU of the v2 shape (everything but the v1 Trap): for GETBULK, `first`
    and `second` are non-repeaters and max-repetitions, otherwise error-status and
    error-index."""

    tag: int
    request_id: int
    first: int
    second: int
    varbinds: list[Varbind]

    def response(self) -> Response:
        return Response(self.request_id, self.first, self.second, self.varbinds)


V2_PDUS = frozenset({GET, GETNEXT, RESPONSE, GETBULK, INFORM, TRAP_V2, REPORT})


def decode_pdu(data: bytes, i: int, end: int) -> tuple[Pdu, int]:
    """The PDU starting at `data[i]`, which must end by `end`; returns it and where it
    ends. Raises BerError (the v1 Trap PDU, another tag, anything malformed)."""
    try:
        tag = data[i]
        if tag not in V2_PDUS:
            raise BerError(f"not an SNMP PDU: tag 0x{tag:02x}")
        pdu_start, pdu_end = _expect(data, i, tag)
        if pdu_end > end:
            raise BerError("truncated PDU")
        request_id, j = _int_at(data, pdu_start)
        first, j = _int_at(data, j)
        second, j = _int_at(data, j)
        vstart, vend = _expect(data, j, SEQUENCE)
        if vend > pdu_end:
            raise BerError("truncated varbind list")
        return Pdu(tag, request_id, first, second, _varbinds(data, vstart, vend)), pdu_end
    except IndexError:
        raise BerError("truncated message") from None


def _varbinds(data: bytes, i: int, end: int) -> list[Varbind]:
    # The hot loop of every poll: each length is read inline in its short form (under 128
    # octets, nearly every varbind); the long form goes through `_read_len`.
    out: list[Varbind] = []
    append = out.append
    from_bytes = int.from_bytes
    widths = _UNSIGNED_WIDTH
    while i < end:
        # Each varbind: SEQUENCE { OID, value }.
        if data[i] != SEQUENCE:
            raise BerError(f"varbind is not a SEQUENCE at {i}")
        i = i + 2 if data[i + 1] < 0x80 else _read_len(data, i + 1)[1]
        if data[i] != OBJECT_ID:
            raise BerError(f"varbind name is not an OID at {i}")
        at = i
        olen = data[i + 1]
        if olen < 0x80:
            i += 2
        else:
            olen, i = _read_len(data, i + 1)
        oid = data[i:i + olen]
        if olen >= MAX_SUBIDS or (olen and oid[-1] & 0x80):  # cheap; the rest at the end
            _check_name(oid, at)
        i += olen
        tag = data[i]
        vlen = data[i + 1]
        if vlen < 0x80:
            vstart = i + 2
        else:
            vlen, vstart = _read_len(data, i + 1)
        i = vstart + vlen
        if i > end:
            raise BerError("truncated varbind")
        value: int | bytes | None
        if tag == INTEGER:
            value = from_bytes(data[vstart:i], "big", signed=True) if vlen <= 4 else None
        elif (width := widths.get(tag)) is not None:
            value = (from_bytes(data[vstart:i], "big")
                     if vlen <= width or (vlen == width + 1 and data[vstart] == 0) else None)
        elif tag == NULL or tag in EXCEPTION_TAGS:
            value = None
        elif tag == OBJECT_ID:
            value = data[vstart:i]
            if (why := oid_problem(value)) is not None:
                tag, value = BAD_VALUE, BadValue(f"OBJECT IDENTIFIER: {why}")
        else:
            value = data[vstart:i]
        if value is None and (tag == INTEGER or tag in UNSIGNED_TAGS):
            tag, value = BAD_VALUE, BadValue(
                f"{_TYPE_NAME[tag]} of {vlen} octets is wider than its type")
        append((oid, tag, value))
    # One search over all names: a 0x00 between two names ends a sub-identifier, so no
    # match can span them.
    if _WIDE_SUBID.search(b"\0".join([vb[0] for vb in out])):
        for vb in out:
            _check_name(vb[0], None)
    return out


def _check_name(oid: bytes, at: int | None) -> None:
    if (why := oid_problem(oid)) is not None:
        where = "" if at is None else f" at {at}"
        raise BerError(f"varbind name{where}: {why}")


def oid_problem(encoded: bytes) -> str | None:
    """Why the content octets of an OID are outside SNMP's bounds, or None if they are not.

    The first encoded sub-identifier carries the first two (BER folds them), so 127
    encoded make the 128 allowed. Cheap enough for every varbind name: a regular
    expression and two length checks."""
    if encoded and encoded[-1] & 0x80:
        return "ends inside a sub-identifier"
    if _WIDE_SUBID.search(encoded):
        return f"a sub-identifier above {MAX_SUBID}"
    if (len(encoded) >= MAX_SUBIDS
            and len(encoded) - len(encoded.translate(None, _SUBID_ENDS)) >= MAX_SUBIDS):
        return f"more than {MAX_SUBIDS} sub-identifiers"
    return None


def decode_subids(encoded: bytes) -> tuple[int, ...]:
    """Sub-identifiers of encoded OID content that does not start at the OID's root
    (an index suffix): plain base-128 groups, no first-octet folding. Raises BerError for
    content outside SNMP's bounds (see `oid_problem`)."""
    if (why := oid_problem(encoded)) is not None:
        raise BerError(f"OID {why}")
    out = []
    acc = 0
    for byte in encoded:
        acc = (acc << 7) | (byte & 0x7F)
        if byte < 0x80:
            out.append(acc)
            acc = 0
    return tuple(out)


def decode_oid(encoded: bytes) -> tuple[int, ...]:
    """A whole encoded OID back to its sub-identifiers."""
    subs = decode_subids(encoded)
    if not subs:
        return ()
    first = subs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return head + subs[1:]


def oid_text(encoded: bytes) -> str:
    return ".".join(map(str, decode_oid(encoded)))


# --- notifications: v1 traps, v2c traps and informs (the trap receiver's side) ----------

# RFC 3584 section 3.1: a v1 generic trap 0-5 is snmpTraps.(generic + 1) in v2 terms;
# an enterpriseSpecific one (6) is enterprise.0.specific.
_SNMP_TRAPS = (1, 3, 6, 1, 6, 3, 1, 1, 5)
SNMP_TRAP_OID = encode_oid((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0))   # snmpTrapOID.0
SYS_UPTIME = encode_oid((1, 3, 6, 1, 2, 1, 1, 3, 0))            # sysUpTime.0


@dataclass(frozen=True, slots=True)
class Notification:
    """A decoded v1 Trap, v2c Trapv2 or v2c InformRequest.

    `trap_oid` is the v2 form for every version (RFC 3584: a v1 trap's generic and
    specific numbers become one OID), encoded. `request_id` is 0 for a v1 trap.
    `agent_address` is the v1 PDU's agent-addr (4 octets), empty for v2c."""

    version: int
    community: bytes
    pdu: int
    request_id: int
    trap_oid: bytes
    varbinds: list[Varbind]
    agent_address: bytes = b""


def peek_version(data: bytes) -> int | None:
    """The msgVersion of a message (0 v1, 1 v2c, 3 v3), or None if it has none."""
    try:
        start, _ = _expect(data, 0, SEQUENCE)
        return _int_at(data, start)[0]
    except (BerError, IndexError):
        return None


def decode_notification(data: bytes) -> Notification:
    """A whole v1 trap, v2c trap or v2c inform message. Raises BerError for anything
    else, including a v2 notification without snmpTrapOID.0 as its second varbind."""
    try:
        return _decode_notification(data)
    except IndexError:
        raise BerError("truncated message") from None


def _decode_notification(data: bytes) -> Notification:
    start, _ = _expect(data, 0, SEQUENCE)
    version, i = _int_at(data, start)
    cstart, cend = _expect(data, i, OCTET_STRING)
    community = data[cstart:cend]
    pdu = data[cend]
    if version == VERSION_1 and pdu == TRAP_V1:
        return _decode_v1_trap(data, cend, community)
    if version != VERSION_2C or pdu not in (TRAP_V2, INFORM):
        raise BerError(f"not a v1 trap or a v2c trap or inform: version {version}, "
                       f"PDU 0x{pdu:02x}")
    pdu_start, _ = _expect(data, cend, pdu)
    request_id, i = _int_at(data, pdu_start)
    _, i = _int_at(data, i)                       # error-status and error-index: 0
    _, i = _int_at(data, i)
    vstart, vend = _expect(data, i, SEQUENCE)
    varbinds = _varbinds(data, vstart, vend)
    if len(varbinds) < 2 or varbinds[1][0] != SNMP_TRAP_OID or varbinds[1][1] != OBJECT_ID:
        raise BerError("a v2 notification's second varbind must be snmpTrapOID.0")
    trap_oid = varbinds[1][2]
    assert isinstance(trap_oid, bytes)
    return Notification(version, community, pdu, request_id, trap_oid, varbinds)


def _decode_v1_trap(data: bytes, at: int, community: bytes) -> Notification:
    pdu_start, _ = _expect(data, at, TRAP_V1)
    estart, eend = _expect(data, pdu_start, OBJECT_ID)
    enterprise = data[estart:eend]
    if (why := oid_problem(enterprise)) is not None or not enterprise:
        raise BerError(f"v1 trap enterprise: {why or 'empty'}")
    astart, aend = _expect(data, eend, IP_ADDRESS)
    generic, i = _int_at(data, aend)
    specific, i = _int_at(data, i)
    _, i = _expect(data, i, TIMETICKS)            # time-stamp: skipped
    vstart, vend = _expect(data, i, SEQUENCE)
    varbinds = _varbinds(data, vstart, vend)
    if 0 <= generic <= 5:
        trap_oid = encode_oid((*_SNMP_TRAPS, generic + 1))
    elif generic == 6 and specific >= 0:
        trap_oid = enterprise + b"\x00" + _subid(specific)
    else:
        raise BerError(f"v1 trap: generic-trap {generic} is not 0-6")
    return Notification(VERSION_1, community, TRAP_V1, 0, trap_oid, varbinds,
                        data[astart:aend])


# --- the agent's side: requests in, responses out (the demo lab's SNMP responder) -----

@dataclass(frozen=True, slots=True)
class Request:
    """A decoded GET, GETNEXT or GETBULK. For GETBULK, `non_repeaters` and
    `max_repetitions` are the counts the error fields carry; otherwise both are 0."""

    version: int
    community: bytes
    pdu: int
    request_id: int
    non_repeaters: int
    max_repetitions: int
    oids: list[bytes]


def decode_request(data: bytes) -> Request:
    """A whole v1/v2c request message. Raises BerError for anything else."""
    try:
        start, _ = _expect(data, 0, SEQUENCE)
        version, i = _int_at(data, start)
        cstart, cend = _expect(data, i, OCTET_STRING)
        pdu = data[cend]
        if pdu not in (GET, GETNEXT, GETBULK):
            raise BerError(f"not a GET, GETNEXT or GETBULK request: PDU 0x{pdu:02x}")
        pdu_start, _ = _expect(data, cend, pdu)
        request_id, i = _int_at(data, pdu_start)
        first, i = _int_at(data, i)
        second, i = _int_at(data, i)
        vstart, vend = _expect(data, i, SEQUENCE)
        oids = [oid for oid, _, _ in _varbinds(data, vstart, vend)]
    except IndexError:
        raise BerError("truncated message") from None
    bulk = pdu == GETBULK
    return Request(version, data[cstart:cend], pdu, request_id,
                   max(0, first) if bulk else 0, max(0, second) if bulk else 0, oids)


def encode_value(tag: int, value: int | bytes | None) -> bytes:
    """One value TLV: signed INTEGER, unsigned counters/gauges/ticks, raw bytes for
    strings, addresses and (encoded) OIDs, empty for NULL and the v2 exceptions."""
    if value is None or tag == NULL or tag in EXCEPTION_TAGS:
        return bytes((tag, 0))
    if tag == INTEGER:
        assert isinstance(value, int)
        return encode_int(value)
    if tag in UNSIGNED_TAGS:
        assert isinstance(value, int) and value >= 0
        return tlv(tag, value.to_bytes(value.bit_length() // 8 + 1, "big"))
    assert isinstance(value, bytes)
    return tlv(tag, value)


def encode_varbinds(varbinds: Sequence[Varbind]) -> bytes:
    """The varbind list TLV of these varbinds (values as `encode_value` takes them)."""
    return tlv(SEQUENCE, b"".join(tlv(SEQUENCE, tlv(OBJECT_ID, oid) + encode_value(tag, value))
                                  for oid, tag, value in varbinds))


def encode_response(version: int, community: bytes, request_id: int,
                    varbinds: Sequence[Varbind], error_status: int = 0,
                    error_index: int = 0) -> bytes:
    """A whole v1/v2c response message."""
    pdu = encode_pdu(RESPONSE, request_id, encode_varbinds(varbinds), error_status,
                     error_index)
    return tlv(SEQUENCE, encode_int(version) + tlv(OCTET_STRING, community) + pdu)

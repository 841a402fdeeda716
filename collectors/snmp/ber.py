"""A minimal BER codec for SNMP v1/v2c messages: the CPU-cheap path.

pysnmp decodes every varbind through pyasn1 (about 0.2 ms each on this machine), which
alone would put a switch poll at several times prometheus-snmp-exporter's cost. SNMP
v1/v2c messages have a fixed, small shape, so this module encodes requests and decodes
responses directly. SNMPv3 (USM authentication and privacy) stays with pysnmp.

OIDs stay in their encoded form (`bytes`) on the hot path: BER encodes each sub-identifier
self-delimited, so "OID a is a prefix of OID b" is exactly `b.startswith(a)` on the
encoded forms. Only the table index suffix is ever decoded to integers.

A varbind is a plain tuple `(oid: bytes, tag: int, value)` where the value is an `int`
(INTEGER, Counter32/64, Gauge32, TimeTicks), `bytes` (OCTET STRING, IpAddress, Opaque,
an OID in encoded form) or `None` (NULL and the v2 exceptions).
"""
from __future__ import annotations

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
REPORT = 0xA8

UNSIGNED_TAGS = frozenset({COUNTER32, GAUGE32, TIMETICKS, COUNTER64})
EXCEPTION_TAGS = frozenset({NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW})

VERSION_1 = 0
VERSION_2C = 1

Varbind = tuple[bytes, int, "int | bytes | None"]


class BerError(ValueError):
    """A message that is not well-formed SNMP."""


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
    return tlv(INTEGER, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


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
    if len(oid) < 2 or any(p < 0 for p in oid) or oid[0] > 2:
        raise ValueError(f"not a numeric OID: {text!r}")
    return oid


def null_varbinds(oids: Sequence[bytes]) -> bytes:
    """The varbind list of a request: each OID with a NULL value."""
    return tlv(SEQUENCE, b"".join(tlv(SEQUENCE, tlv(OBJECT_ID, o) + b"\x05\x00") for o in oids))


def encode_request(version: int, community: bytes, pdu_tag: int, request_id: int,
                   varbind_list: bytes, non_repeaters: int = 0, max_repetitions: int = 0) -> bytes:
    """A whole v1/v2c message. For GETBULK the two error fields carry the bulk counts."""
    pdu = tlv(pdu_tag, encode_int(request_id) + encode_int(non_repeaters)
              + encode_int(max_repetitions) + varbind_list)
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


def _int_at(data: bytes, i: int) -> tuple[int, int]:
    start, end = _expect(data, i, INTEGER)
    return int.from_bytes(data[start:end], "big", signed=True), end


def peek_header(data: bytes) -> tuple[int, bytes, int]:
    """(version, community, request id) of a message, without decoding the varbinds.

    Used by the datagram callback to route a response to its waiting request cheaply.
    """
    try:
        start, _ = _expect(data, 0, SEQUENCE)
        version, i = _int_at(data, start)
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


def _varbinds(data: bytes, i: int, end: int) -> list[Varbind]:
    out: list[Varbind] = []
    append = out.append
    from_bytes = int.from_bytes
    while i < end:
        # Each varbind: SEQUENCE { OID, value }. Lengths are inlined for speed.
        if data[i] != SEQUENCE:
            raise BerError(f"varbind is not a SEQUENCE at {i}")
        _, i = _read_len(data, i + 1)
        if data[i] != OBJECT_ID:
            raise BerError(f"varbind name is not an OID at {i}")
        olen, ostart = _read_len(data, i + 1)
        oid = data[ostart:ostart + olen]
        i = ostart + olen
        tag = data[i]
        vlen, vstart = _read_len(data, i + 1)
        i = vstart + vlen
        if i > end:
            raise BerError("truncated varbind")
        raw = data[vstart:i]
        if tag == INTEGER:
            value: int | bytes | None = from_bytes(raw, "big", signed=True)
        elif tag in UNSIGNED_TAGS:
            value = from_bytes(raw, "big")
        elif tag == NULL or tag in EXCEPTION_TAGS:
            value = None
        else:
            value = raw
        append((oid, tag, value))
    return out


def decode_subids(encoded: bytes) -> tuple[int, ...]:
    """Sub-identifiers of encoded OID content that does not start at the OID's root
    (an index suffix): plain base-128 groups, no first-octet folding."""
    out = []
    acc = 0
    for byte in encoded:
        acc = (acc << 7) | (byte & 0x7F)
        if byte < 0x80:
            out.append(acc)
            acc = 0
    if encoded and encoded[-1] >= 0x80:
        raise BerError("OID ends inside a sub-identifier")
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


def encode_response(version: int, community: bytes, request_id: int,
                    varbinds: Sequence[Varbind], error_status: int = 0,
                    error_index: int = 0) -> bytes:
    """A whole v1/v2c response message."""
    body = b"".join(tlv(SEQUENCE, tlv(OBJECT_ID, oid) + encode_value(tag, value))
                    for oid, tag, value in varbinds)
    pdu = tlv(RESPONSE, encode_int(request_id) + encode_int(error_status)
              + encode_int(error_index) + tlv(SEQUENCE, body))
    return tlv(SEQUENCE, encode_int(version) + tlv(OCTET_STRING, community) + pdu)

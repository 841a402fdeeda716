"""Fuzzing the BER decoder (issue 12): random bytes and mutated real messages.

Whatever arrives, the decoders raise nothing but `BerError`, and what they return is safe
to use downstream: every number fits its SNMP type (so `float()` of it works), every name
and OID value decodes to at most 128 sub-identifiers of 32 bits. Bounded by
`max_examples` and derandomized, so CI runs the same examples in about a second each.
"""
from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.snmp import ber

FUZZ = settings(max_examples=400, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

NAMES = [ber.encode_oid(o) for o in ((1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 2, 1, 1, 5, 0),
                                     (1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1),
                                     (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 10101))]
# Values of every tag, including ones wider than their type (a hostile agent's).
VALUES = st.one_of(
    st.tuples(st.just(ber.INTEGER), st.integers(-2**40, 2**40)),
    st.tuples(st.sampled_from([ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS]),
              st.integers(0, 2**40)),
    st.tuples(st.just(ber.COUNTER64), st.integers(0, 2**72)),
    st.tuples(st.sampled_from([ber.OCTET_STRING, ber.IP_ADDRESS, ber.OPAQUE]),
              st.binary(max_size=24)),
    st.tuples(st.just(ber.OBJECT_ID), st.lists(st.integers(0, 2**36), min_size=1,
                                               max_size=12).map(
        lambda subs: ber.encode_oid((1, 3, *subs)))),
    st.tuples(st.sampled_from([ber.NULL, *ber.EXCEPTION_TAGS]), st.none()),
)
VARBINDS = st.lists(st.tuples(st.sampled_from(NAMES), VALUES).map(
    lambda t: (t[0], t[1][0], t[1][1])), max_size=8)
RESPONSES = st.builds(lambda vbs, rid: ber.encode_response(ber.VERSION_2C, b"public", rid, vbs),
                      VARBINDS, st.integers(0, 2**31 - 1))
REQUESTS = st.builds(
    lambda names, pdu, rid: ber.encode_request(ber.VERSION_2C, b"public", pdu, rid,
                                               ber.null_varbinds(names), 0, 10),
    st.lists(st.sampled_from(NAMES), max_size=6),
    st.sampled_from([ber.GET, ber.GETNEXT, ber.GETBULK]), st.integers(0, 2**31 - 1))
MESSAGES = st.one_of(RESPONSES, REQUESTS)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real message with a few bytes flipped, replaced, inserted or cut out."""
    data = bytearray(draw(MESSAGES))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut"]))
        if edit == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "set":
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF]))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif edit == "delete":
            del data[at]
        else:
            del data[at:]
    return bytes(data)


ANY_BYTES = st.one_of(st.binary(max_size=300), mutated())

WIDTH_BITS = {ber.INTEGER: 32, ber.COUNTER32: 32, ber.GAUGE32: 32, ber.TIMETICKS: 32,
              ber.COUNTER64: 64}


def _usable(varbinds: list[ber.Varbind]) -> None:
    """What the collector does with a varbind works for every one decoded."""
    for name, tag, value in varbinds:
        assert len(ber.decode_oid(name)) <= ber.MAX_SUBIDS
        if tag in WIDTH_BITS:
            assert isinstance(value, int) and value.bit_length() <= WIDTH_BITS[tag]
            float(value)
        elif tag == ber.OBJECT_ID:
            assert isinstance(value, bytes)
            ber.oid_text(value)
        elif tag == ber.BAD_VALUE:
            assert isinstance(value, ber.BadValue) and value.reason


def _only_ber_errors(decode: Callable[[bytes], object], data: bytes) -> object | None:
    try:
        return decode(data)
    except ber.BerError:
        return None


@FUZZ
@given(ANY_BYTES)
def test_responses_decode_or_raise_ber_error_and_what_decodes_is_usable(data: bytes) -> None:
    decoded = _only_ber_errors(ber.decode_response, data)
    if decoded is not None:
        assert isinstance(decoded, tuple)
        _, response = decoded
        _usable(response.varbinds)
    _only_ber_errors(ber.peek_header, data)


@FUZZ
@given(ANY_BYTES)
def test_requests_decode_or_raise_ber_error(data: bytes) -> None:
    request = _only_ber_errors(ber.decode_request, data)
    if request is not None:
        assert isinstance(request, ber.Request)
        for name in request.oids:
            ber.decode_oid(name)


@FUZZ
@given(st.binary(max_size=200))
def test_oid_content_decodes_or_raises_ber_error(data: bytes) -> None:
    subs = _only_ber_errors(ber.decode_oid, data)
    if subs is not None:
        assert isinstance(subs, tuple) and len(subs) <= ber.MAX_SUBIDS + 1
        assert all(s <= ber.MAX_SUBID + 80 for s in subs)   # + 80: the folded first pair

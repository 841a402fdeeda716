"""The v1/v2c codec, cross-checked against pysnmp's own (pyasn1) encoder and decoder."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from collectors.snmp import ber

oids = st.tuples(st.integers(0, 2), st.integers(0, 39),
                 st.lists(st.integers(0, 2**32 - 1), max_size=12)).map(
    lambda t: (t[0], t[1], *t[2]))


@given(oids)
def test_oid_encoding_matches_pyasn1_and_round_trips(oid: tuple[int, ...]) -> None:
    reference = encoder.encode(api.v2c.ObjectIdentifier(oid))
    mine = ber.tlv(ber.OBJECT_ID, ber.encode_oid(oid))
    assert mine == reference
    assert ber.decode_oid(ber.encode_oid(oid)) == oid


@given(oids, oids)
def test_prefix_test_on_encoded_oids_is_oid_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    encoded_a, encoded_b = ber.encode_oid(a), ber.encode_oid(b)
    assert encoded_b.startswith(encoded_a) == (b[:len(a)] == a)


def test_getbulk_request_decodes_with_pysnmp() -> None:
    oid = ber.encode_oid((1, 3, 6, 1, 2, 1, 2, 2, 1, 8))
    message = ber.encode_request(ber.VERSION_2C, b"c0mm", ber.GETBULK, 4242,
                                  ber.null_varbinds([oid]), 2, 25)
    msg, rest = decoder.decode(message, asn1Spec=api.v2c.Message())
    assert not rest
    pdu = api.v2c.apiMessage.get_pdu(msg)
    assert bytes(api.v2c.apiMessage.get_community(msg)) == b"c0mm"
    assert int(api.v2c.apiPDU.get_request_id(pdu)) == 4242
    assert int(api.v2c.apiBulkPDU.get_non_repeaters(pdu)) == 2
    assert int(api.v2c.apiBulkPDU.get_max_repetitions(pdu)) == 25
    assert [tuple(n) for n, _ in api.v2c.apiPDU.get_varbinds(pdu)] == [
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)]


def test_response_built_by_pysnmp_decodes_to_the_same_values() -> None:
    v2c = api.v2c
    pdu = v2c.GetResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, 77)
    values = [((1, 3, 6, 1, 2, 1, 1, 5, 0), v2c.OctetString(b"sw-24"), ber.OCTET_STRING, b"sw-24"),
              ((1, 3, 6, 1, 2, 1, 1, 3, 0), v2c.TimeTicks(4294967295), ber.TIMETICKS, 4294967295),
              ((1, 3, 6, 1, 2, 1, 1, 2, 0), v2c.ObjectIdentifier((1, 3, 6, 1, 4, 1, 9)),
               ber.OBJECT_ID, ber.encode_oid((1, 3, 6, 1, 4, 1, 9))),
              ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 1), v2c.Integer(-5), ber.INTEGER, -5),
              ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), v2c.Counter64(2**64 - 1), ber.COUNTER64,
               2**64 - 1),
              ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 1), v2c.IpAddress("10.0.0.1"), ber.IP_ADDRESS,
               bytes([10, 0, 0, 1])),
              ((1, 3, 6, 1, 9), v2c.EndOfMibView(), ber.END_OF_MIB_VIEW, None)]
    v2c.apiPDU.set_varbinds(pdu, [(o, v) for o, v, _, _ in values])
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, "public")
    v2c.apiMessage.set_pdu(msg, pdu)
    community, response = ber.decode_response(encoder.encode(msg))
    assert community == b"public"
    assert response.request_id == 77 and response.error_status == 0
    assert response.varbinds == [(ber.encode_oid(o), tag, value) for o, _, tag, value in values]
    assert ber.peek_header(encoder.encode(msg)) == (1, b"public", 77)


def test_truncated_or_foreign_data_is_a_ber_error() -> None:
    good = ber.encode_request(ber.VERSION_2C, b"x", ber.GET, 1, ber.null_varbinds([]))
    for bad in (b"", b"\x30", good[:-1], b"\x04\x01x"):
        try:
            ber.decode_response(bad)
        except ber.BerError:
            continue
        raise AssertionError(f"{bad!r} decoded")


# --- bounds (issue 12): a value wider than its SNMP type is a bad value for its varbind ---

def _decoded(*varbinds: ber.Varbind) -> list[ber.Varbind]:
    _, response = ber.decode_response(ber.encode_response(ber.VERSION_2C, b"p", 1, varbinds))
    return response.varbinds


NAME = ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 3, 0))
# (tag, the widest value its type takes, the narrowest it does not). Our encoder writes
# the fewest octets with a sign octet, as BER does: 2^32-1 as a Counter32 is 00 FF FF FF FF.
LIMITS = [(ber.INTEGER, 2**31 - 1, 2**31), (ber.INTEGER, -2**31, -2**31 - 1),
          (ber.COUNTER32, 2**32 - 1, 2**32), (ber.GAUGE32, 2**32 - 1, 2**32),
          (ber.TIMETICKS, 2**32 - 1, 2**32), (ber.COUNTER64, 2**64 - 1, 2**64)]


@pytest.mark.parametrize(("tag", "widest", "too_wide"), LIMITS)
def test_a_number_wider_than_its_type_is_a_bad_value_and_its_neighbours_stay(
        tag: int, widest: int, too_wide: int) -> None:
    before, after = (NAME, ber.OCTET_STRING, b"sw-1"), (NAME, ber.GAUGE32, 7)
    assert _decoded(before, (NAME, tag, widest), after) == [before, (NAME, tag, widest), after]
    got = _decoded(before, (NAME, tag, too_wide), after)
    assert got[0] == before and got[2] == after
    name, bad_tag, bad = got[1]
    assert name == NAME and bad_tag == ber.BAD_VALUE
    assert isinstance(bad, ber.BadValue) and "octets" in bad.reason


def test_a_number_of_4300_digits_is_one_bad_value_not_an_int() -> None:
    [(_, tag, value)] = _decoded((NAME, ber.TIMETICKS, 10**4400))
    assert tag == ber.BAD_VALUE and isinstance(value, ber.BadValue)


def test_four_octets_with_the_top_bit_set_stay_an_unsigned_value() -> None:
    # Many agents omit BER's sign octet: FF FF FF FF is then 2^32-1, not a bad value.
    body = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_ID, NAME) + b"\x41\x04\xff\xff\xff\xff")
    message = ber.tlv(ber.SEQUENCE, ber.encode_int(1) + ber.tlv(ber.OCTET_STRING, b"p")
                      + ber.tlv(ber.RESPONSE, ber.encode_int(1) + ber.encode_int(0)
                                + ber.encode_int(0) + ber.tlv(ber.SEQUENCE, body)))
    assert ber.decode_response(message)[1].varbinds == [(NAME, ber.COUNTER32, 2**32 - 1)]


OID_VALUES = [
    ((1, 3, 6, 1, 4, 1, 2**32 - 1), None),
    ((1, 3, 6, 1, 4, 1, 2**32), "above"),
    ((1, 3, 6, 1, 4, 1, 10**1400), "above"),
    ((1, 3, *range(126)), None),                    # 128 sub-identifiers
    ((1, 3, *range(127)), "more than 128"),
]


@pytest.mark.parametrize(("oid", "problem"), OID_VALUES)
def test_an_oid_value_outside_snmps_bounds_is_a_bad_value(oid: tuple[int, ...],
                                                          problem: str | None) -> None:
    encoded = ber.encode_oid(oid)
    [(_, tag, value)] = _decoded((NAME, ber.OBJECT_ID, encoded))
    if problem is None:
        assert (tag, value) == (ber.OBJECT_ID, encoded)
        assert ber.decode_oid(encoded) == oid
    else:
        assert tag == ber.BAD_VALUE and isinstance(value, ber.BadValue)
        assert problem in value.reason


def test_an_oid_value_ending_inside_a_sub_identifier_is_a_bad_value() -> None:
    [(_, tag, value)] = _decoded((NAME, ber.OBJECT_ID, ber.encode_oid((1, 3, 6, 1)) + b"\x81"))
    assert tag == ber.BAD_VALUE and isinstance(value, ber.BadValue)
    assert "inside" in value.reason


@pytest.mark.parametrize("name", [ber.encode_oid((1, 3, 6, 1, 2**32)),
                                  ber.encode_oid((1, 3, 6, 1)) + b"\x81",
                                  ber.encode_oid((1, 3, *range(127)))])
def test_a_varbind_name_outside_snmps_bounds_makes_the_response_malformed(name: bytes) -> None:
    # The walker places values by name and continues from the last: a broken name leaves
    # nothing to place. The whole response is then one BerError, never a traceback.
    message = ber.encode_response(ber.VERSION_2C, b"p", 1, [(NAME, ber.INTEGER, 1),
                                                             (name, ber.INTEGER, 2)])
    with pytest.raises(ber.BerError):
        ber.decode_response(message)
    with pytest.raises(ber.BerError):
        ber.decode_oid(name)


def test_header_integers_wider_than_integer32_are_a_ber_error() -> None:
    for request_id, error_status in ((2**31, 0), (1, 10**4400)):
        message = ber.encode_response(ber.VERSION_2C, b"p", request_id, [],
                                      error_status=error_status)
        with pytest.raises(ber.BerError):
            ber.decode_response(message)


def test_parse_oid_refuses_what_the_decoder_would() -> None:
    assert ber.parse_oid(f"1.3.6.{2**32 - 1}") == (1, 3, 6, 2**32 - 1)
    for text in (f"1.3.6.{2**32}", ".".join(["1"] * 129)):
        with pytest.raises(ValueError):
            ber.parse_oid(text)

"""The v1/v2c codec, cross-checked against pysnmp's own (pyasn1) encoder and decoder."""
from __future__ import annotations

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

"""The responder's half of the codec (decode a request, encode a response), cross-checked
against pysnmp's decoder and against our own request encoder and response decoder."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder
from pysnmp.proto import api

from collectors.snmp import ber

OID = ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 3, 0))

values = st.one_of(
    st.tuples(st.just(ber.INTEGER), st.integers(-2**31, 2**31 - 1)),
    st.tuples(st.sampled_from([ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS]),
              st.integers(0, 2**32 - 1)),
    st.tuples(st.just(ber.COUNTER64), st.integers(0, 2**64 - 1)),
    st.tuples(st.just(ber.OCTET_STRING), st.binary(max_size=300)),
    st.tuples(st.just(ber.END_OF_MIB_VIEW), st.none()),
)


@given(st.lists(values, max_size=30), st.integers(0, 2**31 - 1))
def test_response_round_trips_through_our_decoder(items: list, request_id: int) -> None:
    varbinds = [(OID, tag, value) for tag, value in items]
    message = ber.encode_response(ber.VERSION_2C, b"demo", request_id, varbinds)
    community, response = ber.decode_response(message)
    assert community == b"demo" and response.request_id == request_id
    assert response.varbinds == varbinds


def test_response_decodes_with_pysnmp() -> None:
    varbinds = [(OID, ber.TIMETICKS, 8640000), (OID, ber.COUNTER64, 2**63 + 5),
                (OID, ber.OCTET_STRING, "스위치".encode()), (OID, ber.INTEGER, -3),
                (OID, ber.NO_SUCH_OBJECT, None)]
    message = ber.encode_response(ber.VERSION_2C, b"c", 77, varbinds, 0, 0)
    msg, rest = decoder.decode(message, asn1Spec=api.v2c.Message())
    assert not rest
    pdu = api.v2c.apiMessage.get_pdu(msg)
    assert int(api.v2c.apiPDU.get_request_id(pdu)) == 77
    got = [value for _, value in api.v2c.apiPDU.get_varbinds(pdu)]
    assert int(got[0]) == 8640000 and int(got[1]) == 2**63 + 5
    assert bytes(got[2]).decode() == "스위치" and int(got[3]) == -3


@pytest.mark.parametrize("pdu, nonrep, maxrep", [(ber.GET, 0, 0), (ber.GETNEXT, 0, 0),
                                                 (ber.GETBULK, 2, 25)])
def test_request_round_trips(pdu: int, nonrep: int, maxrep: int) -> None:
    oids = [OID, ber.encode_oid((1, 3, 6, 1, 2, 1, 2, 2, 1, 8))]
    message = ber.encode_request(ber.VERSION_2C, b"c0mm", pdu, 4242,
                                  ber.null_varbinds(oids), nonrep, maxrep)
    request = ber.decode_request(message)
    assert (request.version, request.community, request.pdu, request.request_id) == (
        ber.VERSION_2C, b"c0mm", pdu, 4242)
    assert (request.non_repeaters, request.max_repetitions) == (nonrep, maxrep)
    assert request.oids == oids


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01", b"\x30\x00",
                                  ber.encode_response(1, b"c", 1, [])])
def test_a_response_or_garbage_is_not_a_request(data: bytes) -> None:
    with pytest.raises(ber.BerError):
        ber.decode_request(data)

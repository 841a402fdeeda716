"""SNMPv3 USM on the BER path (collectors/snmp/usm.py, issue 18): keys against RFC 3414's
test vectors and pysnmp's key localization, messages against pyasn1's decoder, and whole
exchanges (discovery, then a GET for every authentication x privacy protocol) against two
real agents: pysnmp's own command responder, which decodes what we encode and answers with
what it encodes, and net-snmp's snmpd."""
from __future__ import annotations

import dataclasses
import hashlib
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
from pysnmp.proto.rfc1902 import OctetString
from pysnmp.proto.secmod.rfc3414 import localkey

from collectors.snmp import ber, usm
from collectors.snmp._pysnmp import AUTH_PROTOCOLS as PYSNMP_AUTH

from peers.snmp import EVERY_V3_USER, SnmpdUser, running_pysnmp_agent, start_snmpd, stop

SYS_DESCR = ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 1, 0))
ENGINE = bytes.fromhex("000000000000000000000002")        # RFC 3414 A.3's engine id
PYSNMP_ENGINE = usm.text_engine_id("pysnmp-agent")


def _user(u: SnmpdUser) -> usm.UsmUser:
    return usm.UsmUser(u.name, u.auth_protocol, u.auth, u.priv_protocol if u.priv else None,
                       u.priv)


# --- keys -------------------------------------------------------------------------------

def test_password_to_key_and_localization_match_rfc_3414_a3() -> None:
    for name, ku, kul in (
            ("MD5", "9faf3283884e92834ebc9847d8edd963", "526f5eed9fcce26f8964c2930787d82b"),
            ("SHA", "9fb5cc0381497b3793528939ff788d5d79145211",
             "6695febc9288e36282235fc7151f128497b38f3f")):
        auth = usm.AUTH_PROTOCOLS[name]
        key = usm.password_to_key(auth, b"maplesyrup")
        assert key.hex() == ku
        assert usm.localize_key(auth, key, ENGINE).hex() == kul


@pytest.mark.parametrize("user", EVERY_V3_USER, ids=lambda u: u.name)
def test_localized_keys_match_pysnmps(user: SnmpdUser) -> None:
    keys = usm.localize(_user(user), ENGINE)
    hash_func = getattr(hashlib, usm.AUTH_PROTOCOLS[user.auth_protocol].hash)
    assert keys.auth_key == bytes(localkey.password_to_key(user.auth.encode(), OctetString(ENGINE),
                                                           hash_func))
    if user.priv is None:
        assert keys.priv is None and keys.priv_key == b""
        return
    # Imported here: pysnmp's priv modules import each other in a circle unless
    # rfc3414 came first.
    from pysnmp.proto.secmod.eso.priv import aes192, aes256
    from pysnmp.proto.secmod.rfc3414.priv import des
    from pysnmp.proto.secmod.rfc3826.priv import aes

    service = {"DES": des.Des, "AES": aes.Aes, "AES192": aes192.AesBlumenthal192,
               "AES256": aes256.AesBlumenthal256}[user.priv_protocol]()
    theirs = bytes(service.localize_key(PYSNMP_AUTH[user.auth_protocol],
                                        localkey.hash_passphrase(user.priv.encode(), hash_func),
                                        OctetString(ENGINE)))
    assert keys.priv_key == theirs[:len(keys.priv_key)]
    assert len(keys.priv_key) == (16 if user.priv_protocol == "DES"
                                  else usm.PRIV_PROTOCOLS[user.priv_protocol].key_length)


def test_bad_users_are_refused_on_construction_without_their_secrets() -> None:
    for kwargs in ({"auth_protocol": "SHA", "auth_password": "short"},
                   {"auth_protocol": "SHA1"},
                   {"priv_protocol": "AES", "priv_password": "privpass123"}):
        with pytest.raises(ValueError) as caught:
            usm.UsmUser("noc", **kwargs)   # type: ignore[arg-type]
        assert "short" not in str(caught.value).replace("shorter", "")
    user = usm.UsmUser("noc", "SHA", "authpass123", "AES", "privpass123")
    assert "pass123" not in repr(user) + repr(usm.localize(user, ENGINE))


# --- messages ---------------------------------------------------------------------------

KEYS = usm.localize(usm.UsmUser("noc", "SHA256", "authpass123", "AES256", "privpass123"),
                    ENGINE)


def _request(keys: usm.LocalKeys | None, **kwargs: object) -> bytes:
    fields: dict[str, object] = {
        "msg_id": 4242, "engine_id": ENGINE, "boots": 7, "time": 1234, "keys": keys,
        "user": b"noc", "context_engine_id": ENGINE, "context_name": b"ctx",
        "reportable": True,
        "pdu": ber.encode_pdu(ber.GETBULK, 99, ber.null_varbinds([SYS_DESCR]), 1, 10)}
    fields.update(kwargs)
    return usm.encode_message(**fields)   # type: ignore[arg-type]


@pytest.mark.parametrize("keys", [None, usm.localize(usm.UsmUser("noc", "MD5", "authpass123"),
                                                     ENGINE), KEYS], ids=["noauth", "auth", "priv"])
def test_a_message_round_trips_and_pyasn1_reads_its_structure(
        keys: usm.LocalKeys | None) -> None:
    data = _request(keys)
    message = usm.decode_message(data)
    assert (message.msg_id, message.reportable) == (4242, True)
    sec = message.security
    assert (sec.engine_id, sec.boots, sec.time, sec.user) == (ENGINE, 7, 1234, b"noc")
    scoped = usm.open_message(message, keys)
    assert (scoped.context_engine_id, scoped.context_name) == (ENGINE, b"ctx")
    pdu = scoped.pdu
    assert (pdu.tag, pdu.request_id, pdu.first, pdu.second) == (ber.GETBULK, 99, 1, 10)
    assert pdu.varbinds == [(SYS_DESCR, ber.NULL, None)]

    theirs, rest = decoder.decode(data, asn1Spec=SNMPv3Message())
    assert not rest
    assert int(theirs["msgGlobalData"]["msgID"]) == 4242
    assert bytes(theirs["msgGlobalData"]["msgFlags"])[0] == message.flags
    encrypted = theirs["msgData"].getName() == "encryptedPDU"
    assert encrypted == (keys is not None and keys.priv is not None)


def test_what_usm_refuses_is_named_by_its_report() -> None:
    data = _request(KEYS)
    other = usm.localize(usm.UsmUser("noc", "SHA256", "authpass123", "AES256", "otherpriv1"),
                         ENGINE)
    wrong_auth = usm.localize(usm.UsmUser("noc", "SHA256", "otherauth1", "AES256",
                                          "privpass123"), ENGINE)
    for keys, report in ((wrong_auth, usm.Report.WRONG_DIGEST),
                         (other, usm.Report.DECRYPTION_ERROR),
                         (None, usm.Report.UNSUPPORTED_SEC_LEVEL)):
        with pytest.raises(usm.UsmError) as caught:
            usm.open_message(usm.decode_message(data), keys)
        assert caught.value.report is report
    flipped = bytearray(data)
    flipped[-3] ^= 0x01                                      # a bit of the ciphertext
    with pytest.raises(usm.UsmError) as caught:
        usm.open_message(usm.decode_message(bytes(flipped)), KEYS)
    assert caught.value.report is usm.Report.WRONG_DIGEST


def test_the_authoritative_side_answers_discovery_and_stale_messages_with_reports() -> None:
    """An inform's receiver (us, authoritative): the sender's probe is answered with our
    engine id, boots and time; a message outside our window with an authenticated,
    unencrypted notInTimeWindow report the sender's keys verify."""
    ours = usm.LocalEngine(usm.text_engine_id("lifeline-traps"), boots=3, started=1000.0)
    probe = usm.decode_message(usm.discovery_message(11, 12))
    assert probe.security.engine_id == b"" and probe.reportable
    answer = usm.decode_message(usm.encode_report(probe, 12, usm.Report.UNKNOWN_ENGINE_ID, 1,
                                                  engine=ours, at=1060.0, keys=None))
    assert (answer.msg_id, answer.security.engine_id, answer.security.boots,
            answer.security.time) == (11, ours.engine_id, 3, 60)
    report = usm.open_message(answer, None).pdu
    assert usm.report_of(report) is usm.Report.UNKNOWN_ENGINE_ID and report.request_id == 12

    sender = usm.localize(usm.UsmUser("noc", "SHA", "authpass123", "AES", "privpass123"),
                          ours.engine_id)
    assert ours.in_window(3, 60 + 150, at=1060.0)
    assert not ours.in_window(3, 60 + 151, at=1060.0) and not ours.in_window(2, 60, 1060.0)
    stale = usm.decode_message(_request(sender, engine_id=ours.engine_id, boots=2, time=5))
    reply = usm.decode_message(usm.encode_report(stale, 99, usm.Report.NOT_IN_TIME_WINDOW, 4,
                                                 engine=ours, at=1060.0, keys=sender))
    assert reply.flags & usm.FLAG_AUTH and not reply.flags & usm.FLAG_PRIV
    assert usm.report_of(usm.open_message(reply, sender.without_privacy()).pdu
                         ) is usm.Report.NOT_IN_TIME_WINDOW


def test_the_non_authoritative_side_keeps_the_agents_clock() -> None:
    """RFC 3414 3.2.7 b: newer boots or time are learnt; an older boot, or a time more than
    150 s behind ours of the agent, is outside the window."""
    clock = usm.EngineClock(boots=5, time=100, synced=0.0, latest=100)
    assert clock.now(30.0) == (5, 130)
    assert clock.accept(5, 120, at=30.0) and clock.now(30.0) == (5, 120)
    assert not clock.accept(4, 10_000, at=30.0)               # a boot before: replayed
    assert not clock.accept(5, 120 - 151, at=30.0)
    assert clock.accept(6, 2, at=40.0) and clock.now(41.0) == (6, 3)   # it rebooted


# --- whole exchanges against real agents ------------------------------------------------

def _get(address: str, user: SnmpdUser, *, timeout: float = 2.0, extension: str | None = None
         ) -> tuple[usm.ScopedPdu, bytes]:
    """Discovery, then a GET of sysDescr.0 as `user` (its AES-192/256 key extended by
    `extension` if given); the answer and the engine id."""
    host, _, port = address.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, int(port)))
        sock.send(usm.discovery_message(1, 1))
        found = usm.decode_message(sock.recv(65535))
        assert usm.report_of(usm.open_message(found, None).pdu) is usm.Report.UNKNOWN_ENGINE_ID
        sec = found.security
        keys = usm.localize(_user(user), sec.engine_id)
        if extension is not None and keys.auth is not None and keys.priv is not None:
            kul = usm.localize_key(keys.auth, usm.password_to_key(
                keys.auth, (user.priv or "").encode()), sec.engine_id)
            keys = dataclasses.replace(keys, priv_key=usm.extend_key(
                keys.auth, kul, sec.engine_id, keys.priv.key_length, extension))
        sock.send(usm.encode_message(
            msg_id=2, engine_id=sec.engine_id, boots=sec.boots, time=sec.time, keys=keys,
            context_engine_id=sec.engine_id, reportable=True,
            pdu=ber.encode_pdu(ber.GET, 2, ber.null_varbinds([SYS_DESCR]))))
        answer = usm.decode_message(sock.recv(65535))
        assert answer.msg_id == 2 and answer.flags & 3 == keys.flags
        return usm.open_message(answer, keys), sec.engine_id


@pytest.fixture(scope="module")
def pysnmp_agent() -> Iterator[str]:
    with running_pysnmp_agent(EVERY_V3_USER, PYSNMP_ENGINE) as address:
        yield address


@pytest.fixture(scope="module")
def snmpd_every_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    peer = start_snmpd(tmp_path_factory.mktemp("snmpd-v3"), users=EVERY_V3_USER)
    yield peer.address
    stop(peer.proc)


@pytest.mark.peer
@pytest.mark.parametrize("user", EVERY_V3_USER, ids=lambda u: u.name)
def test_every_protocol_against_pysnmps_agent(pysnmp_agent: str, user: SnmpdUser) -> None:
    scoped, engine_id = _get(pysnmp_agent, user)
    assert engine_id == PYSNMP_ENGINE and scoped.pdu.tag == ber.RESPONSE
    [(oid, tag, value)] = scoped.pdu.varbinds
    assert (oid, tag) == (SYS_DESCR, ber.OCTET_STRING) and b"PySNMP" in value


@pytest.mark.peer
@pytest.mark.parametrize("user", EVERY_V3_USER, ids=lambda u: u.name)
def test_every_protocol_against_net_snmp(snmpd_every_user: str, user: SnmpdUser) -> None:
    scoped, _ = _get(snmpd_every_user, user)
    assert scoped.pdu.tag == ber.RESPONSE and scoped.pdu.first == 0
    [(oid, tag, value)] = scoped.pdu.varbinds
    assert (oid, tag) == (SYS_DESCR, ber.OCTET_STRING) and value


@pytest.mark.peer
def test_net_snmp_extends_aes_256_keys_as_blumenthal_not_reeder(snmpd_every_user: str) -> None:
    """Where the two extensions differ (SHA-1's 20 octets for AES-256's 32), the snmpd
    here answers Blumenthal's key and drops Reeder's, so KEY_EXTENSION is Blumenthal."""
    [user] = [u for u in EVERY_V3_USER if u.name == "u-sha-aes256"]
    assert usm.KEY_EXTENSION == "blumenthal"
    _get(snmpd_every_user, user, extension="blumenthal")
    with pytest.raises(TimeoutError):
        _get(snmpd_every_user, user, timeout=0.5, extension="reeder")


# --- a hostile peer's messages ------------------------------------------------------------

_FUZZ_KEYS = [None, usm.localize(usm.UsmUser("noc", "MD5", "authpass123"), ENGINE),
              usm.localize(usm.UsmUser("noc", "SHA", "authpass123", "DES", "privpass123"),
                           ENGINE), KEYS]
_FUZZ_VARBINDS = [(SYS_DESCR, ber.OCTET_STRING, b"switch"),
                  (ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 3, 0)), ber.TIMETICKS, 2**32 - 1),
                  (ber.encode_oid((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 1)), ber.INTEGER, -1)]


@st.composite
def _damaged(draw: st.DrawFn) -> tuple[bytes, usm.LocalKeys | None]:
    """A real v3 response of every security level, bytes overwritten, cut or inserted."""
    keys = draw(st.sampled_from(_FUZZ_KEYS))
    pdu = ber.encode_pdu(draw(st.sampled_from([ber.RESPONSE, ber.REPORT, ber.INFORM])),
                         draw(st.integers(0, 2**31 - 1)),
                         ber.encode_varbinds(draw(st.lists(st.sampled_from(_FUZZ_VARBINDS),
                                                           max_size=3))))
    data = bytearray(_request(keys, pdu=pdu, boots=draw(st.integers(0, 2**31 - 1))))
    for at, value in draw(st.lists(st.tuples(st.integers(0, len(data) - 1),
                                             st.integers(0, 255)), max_size=3)):
        data[at] = value
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=4))
    return bytes(data[:draw(st.integers(0, len(data)))] if draw(st.booleans()) else data), keys


@settings(max_examples=400, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_damaged(), st.tuples(st.binary(max_size=200), st.sampled_from(_FUZZ_KEYS))))
def test_the_v3_decoder_raises_only_its_errors_and_what_passes_is_bounded(
        case: tuple[bytes, usm.LocalKeys | None]) -> None:
    """Whatever arrives: BerError (not a USM message) or UsmError (one it refuses), and a
    message that passes has every field within SNMP's bounds."""
    data, keys = case
    try:
        message = usm.decode_message(data)
        scoped = usm.open_message(message, keys)
    except (ber.BerError, usm.UsmError):
        return
    sec = message.security
    assert len(sec.engine_id) <= usm.MAX_ENGINE_ID and len(sec.user) <= usm.MAX_NAME
    assert 0 <= sec.boots <= usm.MAX_INT and 0 <= sec.time <= usm.MAX_INT
    assert 0 <= message.msg_id <= usm.MAX_INT and message.max_size >= usm.MIN_MESSAGE
    assert len(scoped.context_engine_id) <= usm.MAX_ENGINE_ID
    for name, _, _ in scoped.pdu.varbinds:
        assert len(ber.decode_oid(name)) <= ber.MAX_SUBIDS
    usm.report_of(scoped.pdu)

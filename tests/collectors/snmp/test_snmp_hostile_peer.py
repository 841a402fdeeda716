"""A device whose numbers and OIDs are wider than their SNMP types (issue 12, item 3),
polled over loopback UDP by the real collector.

Before the decoder had bounds, every point of such a device was dropped while its status
said `success`, and a wide OID was an internal error with a traceback every poll. Now
each bad varbind is reported once, as a bad value, and the rest of the device is kept.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from collectors.base import ResultCode

from kits.hostile_snmp import BAD, hostile_agent
from peers.snmp import community, device, only, poll

pytestmark = pytest.mark.peer    # a UDP agent on loopback


def test_bad_varbinds_are_reported_once_and_the_rest_of_the_device_is_kept(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with hostile_agent(tmp_path) as agent:
        [results] = poll([device("sw-h", agent.address, "h", "switch")],
                         {"h": community("h", "LL_TEST_HOSTILE_COMMUNITY")})
    result = results["sw-h"]
    assert result.code is ResultCode.PARTIAL, result.error
    assert result.error is not None
    reported = result.error.split("; ")
    for name in BAD:
        assert sum(1 for problem in reported if problem.startswith(f"{name}:")) == 1, reported
    ports = {s.tags["ifIndex"]: s for s in only(result, "interface")}
    assert set(ports) == {"1", "2"}
    assert ports["2"].fields["ifInErrors"] == 3 and ports["2"].fields["ifHCInOctets"] == 5000
    assert "ifInErrors" not in ports["1"].fields and "ifHCInOctets" not in ports["1"].fields
    assert ports["1"].tags["ifDescr"] == "port-1" and ports["1"].fields["ifOperStatus"] == 1
    for sample in result.samples:           # what the engine and the sinks do with them
        for value in sample.fields.values():
            if isinstance(value, (int, float)):
                float(value)
                assert abs(value) < 2**64
    assert result.identity is not None and result.identity.sys_name == "sw-hostile"
    assert not result.identity.sys_object_id          # not an OID: not shown as one
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_a_device_that_answers_only_with_what_is_not_snmp_is_a_bad_response() -> None:
    """A UDP peer that answers every request with bytes that are not SNMP (a hostile
    device: no real agent does this) did answer: a bad response that says so, not
    `no answer` (an outage) and never healthy."""
    import socket
    import threading

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.settimeout(0.2)
        done = threading.Event()

        def answer_garbage() -> None:
            while not done.is_set():
                try:
                    _, sender = peer.recvfrom(65536)
                except TimeoutError:
                    continue
                peer.sendto(b"\x30\x05garbage", sender)

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        try:
            address = f"127.0.0.1:{peer.getsockname()[1]}"
            dev = device("garbler", address, "c", "switch", timeout=0.5, retries=1)
            [round_] = poll([dev], {"c": community("c", "LL_TEST_COMMUNITY")})
            result = round_["garbler"]
        finally:
            done.set()
            thread.join()
    assert result.code is ResultCode.BAD_RESPONSE, (result.code, result.error)
    assert not result.code.answered_well
    assert result.error == f"{address} answered only with what is not SNMP " \
                           "(2 undecodable datagrams)"

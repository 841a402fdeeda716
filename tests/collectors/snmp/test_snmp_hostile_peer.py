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

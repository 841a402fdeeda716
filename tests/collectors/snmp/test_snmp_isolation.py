"""A peer that stops answering mid-test is a timeout for that device only."""
from __future__ import annotations

from pathlib import Path

import pytest

from collectors.base import ResultCode

from peers.snmp import community, device, poll, sim_devices, start_snmpd, stop

pytestmark = pytest.mark.peer    # real snmpd / snmpsim


def test_stopping_a_peer_times_out_only_its_device(snmpsim: int, tmp_path: Path) -> None:
    peer = start_snmpd(tmp_path / "doomed")
    try:
        devices, creds = sim_devices(snmpsim)
        creds["v2"] = community("v2", "LL_TEST_COMMUNITY")
        doomed = device("doomed", peer.address, "v2", "switch", timeout=0.4, retries=1)
        devices.append(doomed)
        [before] = poll(devices, creds)
        assert all(r.code is ResultCode.SUCCESS for r in before.values()), {
            k: r.error for k, r in before.items()}
        stop(peer.proc)
        [after] = poll(devices, creds)
    finally:
        stop(peer.proc)
    assert after["doomed"].code is ResultCode.TIMEOUT and not after["doomed"].reachable
    assert peer.address in after["doomed"].error
    others = {k: r.code for k, r in after.items() if k != "doomed"}
    assert set(others.values()) == {ResultCode.SUCCESS}

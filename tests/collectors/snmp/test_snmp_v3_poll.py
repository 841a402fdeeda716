"""SNMPv3 polls on the BER path against net-snmp's snmpd (issue 18): every authentication x
privacy protocol gives the samples v2c gives and pysnmp (the reference) gives; a device
that reboots mid-run (engine boots rise) and two devices sharing an engine id keep
answering, without a single poll lost."""
from __future__ import annotations

import asyncio
import csv
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from collectors.base import PollResult, ResultCode
from collectors.snmp import SnmpCollector
from config.model import Credentials

from kits.facts import snmp_facts
from peers.snmp import (
    EVERY_V3_USER,
    ROOT,
    SNMPGET,
    Peer,
    SnmpdUser,
    community,
    device,
    start_snmpd,
    stop,
    usm,
)

pytestmark = pytest.mark.peer    # real snmpd

NOC = SnmpdUser("noc")
USM_STATS_NOT_IN_TIME_WINDOWS = "1.3.6.1.6.3.15.1.1.2.0"
SNMP_ENGINE_BOOTS = "1.3.6.1.6.3.10.2.1.2.0"
# Fields that move between two polls of the same agent: counters and the uptime.
MOVING = {(row["measurement"], row["field"])
          for row in csv.DictReader((ROOT / "collectors" / "metrics.csv").open())
          if row["type"] == "counter"} | {("snmp", "uptime")}


def _credentials(user: SnmpdUser) -> Credentials:
    return usm(user.name, user.name, auth=user.auth_protocol,
               priv=user.priv_protocol if user.priv else None)


def _collect(devices: Sequence[Any], credentials: Mapping[str, Credentials], rounds: int = 1,
             *, reference: Sequence[Any] = ()) -> list[dict[str, PollResult]]:
    """Each round polls `devices` with Lifeline's v3 path and `reference` with pysnmp's,
    all at once; results by device id."""
    async def run() -> list[dict[str, PollResult]]:
        ours = SnmpCollector(credentials)
        theirs = SnmpCollector(credentials, reference_v3=True)
        out = []
        try:
            for _ in range(rounds):
                results = await asyncio.gather(*(ours.collect(d) for d in devices),
                                               *(theirs.collect(d) for d in reference))
                out.append({r.device_id: r for r in results})
        finally:
            await ours.aclose()
            await theirs.aclose()
        return out
    return asyncio.run(run())


def _stable(result: PollResult) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict]:
    """The result's points without their times, device ids, the poll's own point and
    moving fields."""
    return {(s.measurement, tuple(sorted((k, v) for k, v in s.tags.items()
                                         if k != "device_id"))):
            {k: v for k, v in s.fields.items() if (s.measurement, k) not in MOVING}
            for s in result.samples if s.measurement != "lifeline_poll"}


def _snmpget(address: str, oid: str) -> int:
    out = subprocess.run([SNMPGET, "-v2c", "-c", "public", "-On", "-Oqv", "-t", "1", address,
                          oid], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.fixture(scope="module")
def every_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    peer = start_snmpd(tmp_path_factory.mktemp("snmpd-v3-poll"), users=EVERY_V3_USER)
    yield peer
    stop(peer.proc)


def test_every_protocol_gives_the_samples_v2c_and_pysnmp_give(every_user: Peer) -> None:
    """One round, all at once: the switch profile over v2c, over v3 for each of the 30
    users (six authentication protocols, each without privacy and with DES, AES,
    AES-192, AES-256) and, for four of them, through pysnmp. Every poll succeeds with the
    same points (counters and uptime aside, which move between polls)."""
    address = every_user.address
    credentials: dict[str, Credentials] = {"v2": community("v2", "LL_TEST_COMMUNITY")}
    credentials |= {u.name: _credentials(u) for u in EVERY_V3_USER}
    devices = [device("v2c", address, "v2", "switch")]
    devices += [device(u.name, address, u.name, "switch") for u in EVERY_V3_USER]
    reference = [device(f"pysnmp-{name}", address, name, "switch")
                 for name in ("u-sha-aes", "u-md5-des", "u-sha512-aes256", "u-sha224-nopriv")]
    [results] = _collect(devices, credentials, reference=reference)
    failed = {k: (r.code, r.error) for k, r in results.items() if r.code is not ResultCode.SUCCESS}
    assert not failed
    v2c = _stable(results["v2c"])
    assert {m for m, _ in v2c} >= {"snmp", "interface"}
    for device_id, result in results.items():
        assert _stable(result) == v2c, device_id
    facts = snmp_facts(results["u-sha-aes"])
    assert facts.engine_id and facts.requests == snmp_facts(results["v2c"]).requests


def test_a_device_rebooting_mid_run_is_polled_on_without_a_failure(tmp_path: Path) -> None:
    """snmpd restarted with its persistent state (a reboot: the same engine id, engine boots
    one higher, engine time from zero) between two polls of one collector: the next poll
    succeeds at once, through the agent's notInTimeWindow report and a resend (RFC 3414
    3.2.7), not a rediscovery or a failed poll."""
    workdir = tmp_path / "snmpd"
    peer = start_snmpd(workdir, users=[NOC], engine_id="lifeline-reboot")
    port = int(peer.address.rpartition(":")[2])
    dev = device("v3", peer.address, "noc", "switch")
    credentials = {"noc": usm("noc", "noc", priv="AES")}
    seen: dict[str, int] = {}

    async def run() -> list[PollResult]:
        collector = SnmpCollector(credentials)
        nonlocal peer
        try:
            out = [await collector.collect(dev) for _ in range(2)]
            stop(peer.proc)
            peer = await asyncio.to_thread(start_snmpd, workdir, users=[NOC],
                                           engine_id="lifeline-reboot", port=port)
            seen["boots"] = await asyncio.to_thread(_snmpget, peer.address, SNMP_ENGINE_BOOTS)
            out += [await collector.collect(dev) for _ in range(2)]
        finally:
            await collector.aclose()
        return out

    try:
        results = asyncio.run(run())
        refused = _snmpget(peer.address, USM_STATS_NOT_IN_TIME_WINDOWS)
    finally:
        stop(peer.proc)
    assert [r.code for r in results] == [ResultCode.SUCCESS] * 4, [r.error for r in results]
    assert seen["boots"] == 2
    assert refused == 1                 # our one request with the old boots, then in step
    assert len({snmp_facts(r).engine_id for r in results}) == 1


def test_two_devices_sharing_an_engine_id_keep_their_own_clocks(tmp_path: Path) -> None:
    """Two snmpd with one engine id (a cloned configuration) at different engine boots:
    each address keeps its own clock, so neither is ever told it is out of the time window
    (pysnmp keeps one per engine id: its requests to one of them always were); both are
    told of the clash."""
    first = start_snmpd(tmp_path / "a", users=[NOC], engine_id="lifeline-cloned")
    stop(first.proc)                                            # boots 1 -> 2
    peers = [start_snmpd(tmp_path / "a", users=[NOC], engine_id="lifeline-cloned",
                         port=int(first.address.rpartition(":")[2]))]
    try:
        peers.append(start_snmpd(tmp_path / "b", users=[NOC], engine_id="lifeline-cloned"))
        assert [_snmpget(p.address, SNMP_ENGINE_BOOTS) for p in peers] == [2, 1]
        devices = [device(f"clone-{i}", p.address, "noc", "switch")
                   for i, p in enumerate(peers)]
        rounds = _collect(devices, {"noc": usm("noc", "noc", priv="AES")}, rounds=3)
        refused = [_snmpget(p.address, USM_STATS_NOT_IN_TIME_WINDOWS) for p in peers]
    finally:
        for peer in peers:
            stop(peer.proc)
    codes = [(r.code, r.error) for results in rounds for r in results.values()]
    assert codes == [(ResultCode.SUCCESS, None)] * 6
    assert refused == [0, 0]
    last = rounds[-1]
    assert snmp_facts(last["clone-0"]).engine_id_shared_with == (peers[1].address,)
    assert snmp_facts(last["clone-1"]).engine_id_shared_with == (peers[0].address,)
    assert any("also answered from" in w for w in last["clone-0"].warnings)



def test_a_context_the_agent_lacks_is_named_beside_the_privacy_key(every_user: Peer) -> None:
    """net-snmp drops a request for a context it lacks without a report, as it drops one it
    cannot decrypt: the failure names both suspects."""
    credentials = {"ctx": usm("ctx", "u-sha-aes", priv="AES", context="no-such-context")}
    [results] = _collect([device("v3", every_user.address, "ctx", "generic", timeout=0.3,
                                 retries=0)], credentials)
    r = results["v3"]
    assert r.code is ResultCode.AUTH_FAILURE and r.reachable, (r.code, r.error)
    assert "privacy key" in (r.error or "") and "'no-such-context'" in (r.error or "")

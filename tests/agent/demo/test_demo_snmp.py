"""The demo lab's SNMP responder (agent/demo/snmp_lab.py) serving the shipped recordings,
checked by polling it with the real SnmpCollector and with net-snmp's snmpget and
snmpbulkwalk (real clients over loopback UDP)."""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.demo.snmp_lab import Recording, RecordingError, SnmpLab
from collectors.base import ResultCode

from peers.snmp import community, device, only, poll
from tests.conftest import ROOT

DEMO = ROOT / "config" / "demo"
SNMPGET = shutil.which("snmpget") or "/usr/bin/snmpget"
SNMPBULKWALK = shutil.which("snmpbulkwalk") or "/usr/bin/snmpbulkwalk"
COMMUNITY = "demo-lab"


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[SnmpLab, dict[str, int]]]:
    lab = SnmpLab(COMMUNITY)
    ports = {name: lab.add(name, Recording.load(DEMO / f"{name}.snmprec",
                                                {"1.3.6.1.2.1.1.5.0": (4, name.encode())}))
             for name in ("switch24", "firewall", "ups-normal", "host")}
    yield lab, ports
    lab.close()


def _creds() -> dict:
    import os
    os.environ["LL_TEST_DEMO_COMMUNITY"] = COMMUNITY
    return {"demo": community("demo", "LL_TEST_DEMO_COMMUNITY")}


def test_the_collector_polls_every_profile_from_the_lab(lab) -> None:
    _, ports = lab
    profiles = {"switch24": "switch", "firewall": "firewall", "ups-normal": "ups", "host": "host"}
    devices = [device(name, f"127.0.0.1:{ports[name]}", "demo", profile)
               for name, profile in profiles.items()]
    [results] = poll(devices, _creds())
    for name, result in results.items():
        assert result.code is ResultCode.SUCCESS, (name, result.error)
        assert result.identity is not None and result.identity.sys_name == name
    assert len(only(results["switch24"], "interface")) == 24
    ups = only(results["ups-normal"], "ups")[0].fields
    assert ups["output_source"] == 3 and ups["battery_charge"] == 100
    disks = {s.tags["path"]: s.fields for s in only(results["host"], "disk")}
    assert set(disks) == {"/", "/recordings"} and 80 < disks["/recordings"]["used_percent"] < 85


def test_swap_and_stop_answering(lab) -> None:
    snmp_lab, ports = lab
    address = f"127.0.0.1:{ports['ups-normal']}"
    # Patient where an answer is expected; quick where none is to come.
    ups = device("ups", address, "demo", "ups", timeout=2.0, retries=1)
    silent = device("ups", address, "demo", "ups", timeout=0.3, retries=0)
    snmp_lab.swap("ups-normal", Recording.load(DEMO / "ups-battery.snmprec"))
    try:
        [results] = poll([ups], _creds())
        assert only(results["ups"], "ups")[0].fields["output_source"] == 5     # battery
        snmp_lab.set_answering("ups-normal", False)
        [results] = poll([silent], _creds())
        assert results["ups"].code is ResultCode.TIMEOUT
    finally:
        snmp_lab.set_answering("ups-normal", True)
        snmp_lab.swap("ups-normal", Recording.load(DEMO / "ups-normal.snmprec"))


def test_net_snmp_get_and_bulkwalk(lab) -> None:
    _, ports = lab
    target = f"127.0.0.1:{ports['switch24']}"
    got = subprocess.run([SNMPGET, "-v2c", "-c", COMMUNITY, "-On", "-t", "1", "-r", "1",
                          target, "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.9.9.0"],
                         capture_output=True, text=True, timeout=20)
    assert got.returncode == 0, got.stderr
    assert 'STRING: "switch24"' in got.stdout and "No Such Object" in got.stdout
    walk = subprocess.run([SNMPBULKWALK, "-v2c", "-c", COMMUNITY, "-On", "-Cr25", "-t", "1",
                           target, "1.3.6.1.2.1.2.2.1.2"],
                          capture_output=True, text=True, timeout=20)
    assert walk.returncode == 0, walk.stderr
    lines = walk.stdout.strip().splitlines()
    assert len(lines) == 24 and lines[0].startswith(".1.3.6.1.2.1.2.2.1.2.1 = STRING:")
    v1 = subprocess.run([SNMPGET, "-v1", "-c", COMMUNITY, "-On", "-t", "1", "-r", "0", target,
                         "1.3.6.1.2.1.1.3.0"], capture_output=True, text=True, timeout=20)
    assert v1.returncode == 0 and "Timeticks" in v1.stdout, v1.stderr
    wrong = subprocess.run([SNMPGET, "-v2c", "-c", "not-it", "-On", "-t", "0.3", "-r", "0",
                            target, "1.3.6.1.2.1.1.5.0"], capture_output=True, text=True,
                           timeout=20)
    assert wrong.returncode != 0 and "Timeout" in wrong.stderr


def test_moving_counters_advance_and_bad_lines_name_file_and_line(tmp_path: Path) -> None:
    rec = tmp_path / "r.snmprec"
    rec.write_text("1.3.6.1.2.1.1.3.0|67:numeric|rate=100,initial=500\n"
                   "1.3.6.1.2.1.1.5.0|4x|6869\n", encoding="utf-8")
    recording = Recording.load(rec)
    oid, _tag, first = recording.get(recording.entries[0][0], 1000.0)
    _, _, later = recording.get(oid, 1010.0)
    assert later - first == 1000
    assert recording.next(oid, 0.0)[2] == b"hi"
    assert recording.next(recording.entries[1][0], 0.0)[1] == 0x82       # endOfMibView
    rec.write_text("1.3.6.1.2.1.1.5.0|4|ok\n1.3.6.1.2.1.1.6.0|99|?\n", encoding="utf-8")
    with pytest.raises(RecordingError, match=r"r\.snmprec:2: "):
        Recording.load(rec)

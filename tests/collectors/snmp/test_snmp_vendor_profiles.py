"""Vendor profiles (FortiGate, Cisco ASA and IOS, Palo Alto, Check Point, Juniper,
Synology, QNAP): our own recordings, written from the MIBs, polled through snmpsim; and
the real walks of ../shared/recordings/, where present, with `profile: auto`."""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from collectors.base import PollResult, ResultCode, Sample

from kits.facts import snmp_facts
from peers.real_walks import missing_reason, serving_real_walks
from peers.snmp import RECORDINGS, community, device, only, poll, sim_devices

pytestmark = pytest.mark.peer    # real snmpsim

VENDOR = {name: profile for name, (_, profile) in RECORDINGS.items()
          if profile in ("fortigate", "cisco_asa", "cisco_ios", "paloalto", "checkpoint",
                         "juniper", "synology", "qnap")}


@pytest.fixture(scope="module")
def polled(snmpsim: int) -> Mapping[str, PollResult]:
    """Each vendor recording polled once with its profile, and once as `<name>-auto` with
    `profile: auto`."""
    devices, creds = sim_devices(snmpsim)
    mine = [d for d in devices if d.id in VENDOR]
    assert {d.id for d in mine} == set(VENDOR)
    auto = [device(f"{d.id}-auto", d.poll.address, d.poll.credentials or "", "auto")
            for d in mine if d.poll is not None]
    [results] = poll(mine + auto, creds)
    return results


def one(result: PollResult, measurement: str, **tags: str) -> Sample:
    found = [s for s in only(result, measurement)
             if all(s.tags.get(k) == v for k, v in tags.items())]
    assert len(found) == 1, (measurement, tags, found)
    return found[0]


def floats(sample: Sample, *names: str) -> None:
    for name in names:
        assert isinstance(sample.fields[name], float), (name, sample.fields)


def ints(sample: Sample, *names: str) -> None:
    for name in names:
        value = sample.fields[name]
        assert isinstance(value, int) and not isinstance(value, bool), (name, sample.fields)


def test_every_vendor_recording_polls_successfully_and_auto_picks_its_profile(polled) -> None:
    for name, profile in VENDOR.items():
        named, auto = polled[name], polled[f"{name}-auto"]
        assert named.code is ResultCode.SUCCESS, (name, named.error)
        assert auto.code is ResultCode.SUCCESS, (name, auto.error)
        assert snmp_facts(auto).profile == profile, (name, snmp_facts(auto).profile_reason)
        assert not auto.warnings
        assert only(named, "interface"), f"{name} reads no interfaces"


def test_fortigate_cpu_memory_sessions_and_ha(polled) -> None:
    r = polled["fortigate"]
    cpu = one(r, "cpu", cpu="cpu-total")
    assert cpu.fields == {"usage_active": 17.0, "usage_idle": 83.0}
    floats(cpu, "usage_active", "usage_idle")
    mem = one(r, "mem")
    assert mem.fields == {"used_percent": 43.0, "available_percent": 57.0,
                          "total": 8_000_000 * 1024}
    ints(mem, "total")
    floats(mem, "used_percent", "available_percent")
    sessions = one(r, "firewall_sessions")
    assert sessions.fields == {"active": 52341}
    assert one(r, "firewall_ha").fields == {"ha_state": 5}     # active-passive: role unknown
    members = {s.tags["member_name"]: s for s in only(r, "firewall_ha_member")}
    assert {n: s.fields["synchronized"] for n, s in members.items()} == {"fw-hq-a": 1, "fw-hq-b": 0}
    assert members["fw-hq-a"].tags["serial"] == "FG200FTK00000001"


def test_cisco_asa_connections_memory_pools_and_failover(polled) -> None:
    r = polled["cisco-asa"]
    assert one(r, "firewall_sessions").fields == {"active": 3120}     # not the peak (9876)
    mem = one(r, "mem")                                                # pools summed
    assert mem.fields == {"used": 1_300_000_000, "available": 2_930_000_000,
                          "total": 4_230_000_000, "used_percent": 30.733,
                          "available_percent": 69.267}
    ints(mem, "used", "available")
    assert one(r, "cpu", cpu="cpu-total").fields["usage_active"] == 12.0
    assert one(r, "firewall_ha", unit="primary").fields == {"ha_state": 2}
    assert one(r, "firewall_ha", unit="secondary").fields == {"ha_state": 3}


def test_cisco_ios_cpu_total_is_the_mean_of_the_stack_and_pools_are_summed(polled) -> None:
    r = polled["cisco-ios"]
    rows = {s.tags["cpu"]: s.fields["usage_active"] for s in only(r, "cpu")}
    assert rows == {"1": 9.0, "2": 15.0, "cpu-total": 12.0}
    floats(one(r, "cpu", cpu="cpu-total"), "usage_active", "usage_idle")
    assert one(r, "mem").fields == {"used": 70_000_000, "available": 360_000_000,
                                    "total": 430_000_000, "used_percent": 16.279,
                                    "available_percent": 83.721}
    assert not only(r, "firewall_sessions")


def test_paloalto_sessions_and_host_resources(polled) -> None:
    r = polled["paloalto"]
    sessions = one(r, "firewall_sessions")
    assert sessions.fields == {"active": 32768, "max": 262144, "used_percent": 12.5}
    ints(sessions, "active", "max")
    floats(sessions, "used_percent")
    assert one(r, "cpu", cpu="cpu-total").fields == {"usage_active": 4.0, "usage_idle": 96.0}
    assert one(r, "mem").fields["used_percent"] == 25.0


def test_checkpoint_connections_and_memory_without_cache(polled) -> None:
    r = polled["checkpoint"]
    sessions = one(r, "firewall_sessions")
    assert sessions.fields == {"active": 4321, "max": 25000, "used_percent": 17.284}
    ints(sessions, "active", "max")
    mem = one(r, "mem")            # 3 GiB "used" of 4, 1 GiB of it buffers and page cache
    assert mem.fields["used"] == 2 * 1024**3 and mem.fields["used_percent"] == 50.0
    assert one(r, "cpu", cpu="cpu-total").fields["usage_active"] == 30.0


def test_juniper_reads_routing_engines_only(polled) -> None:
    r = polled["juniper"]
    engines = {s.tags["cpu"]: s for s in only(r, "cpu") if s.tags["cpu"] != "cpu-total"}
    assert {k: s.tags["routing_engine"] for k, s in engines.items()} == {
        "1.0.0": "Routing Engine 0", "2.0.0": "Routing Engine 1"}      # not the busy FPC
    cpu = one(r, "cpu", cpu="cpu-total")
    assert cpu.fields == {"usage_active": 5.0, "usage_idle": 95.0}
    floats(cpu, "usage_active", "usage_idle")
    mem = one(r, "mem")
    assert mem.fields == {"used_percent": 30.0, "available_percent": 70.0,
                          "total": 2 * 2048 * 1024**2}
    ints(mem, "total")
    floats(mem, "used_percent")


def test_synology_volumes_and_disks(polled) -> None:
    r = polled["synology"]
    volumes = {s.tags["volume"]: s.fields for s in only(r, "nas_volume")}
    assert volumes["Volume 1"] == {"status": 1, "total": 7_681_000_000_000,
                                   "free": 1_920_250_000_000, "used": 5_760_750_000_000,
                                   "used_percent": 75.0}
    assert volumes["Volume 2"]["status"] == 2                       # Degrade(11) -> degraded
    disks = {s.tags["disk"]: s for s in only(r, "nas_disk")}
    assert disks["Disk 1"].fields == {"status": 1, "temperature": 34}
    assert disks["Disk 2"].fields["status"] == 4                    # Crashed(5) -> failed
    assert disks["Disk 1"].tags["model"] == "WD40EFRX-68N32N0"
    ints(disks["Disk 1"], "status", "temperature")
    assert one(r, "mem").fields["used_percent"] == 50.0             # the host part too


def test_qnap_volumes_and_disks(polled) -> None:
    r = polled["qnap"]
    volume = one(r, "nas_volume", volume="DataVol1")
    assert volume.fields == {"total": 11_500_000_000_000, "free": 2_300_000_000_000,
                             "used": 9_200_000_000_000, "used_percent": 80.0}
    ints(volume, "total", "used")
    status = {s.tags["disk"]: s.fields["status"] for s in only(r, "nas_disk")}
    assert status == {"HDD1": 1, "HDD2": 4, "HDD3": 5}              # ready, rwError, noDisk
    assert one(r, "nas_disk", disk="HDD1").fields["temperature"] == 38


# --- the real walks ------------------------------------------------------------------

@pytest.fixture(scope="module")
def real() -> Iterator[Mapping[str, PollResult]]:
    """The firewall, switch and NAS walks polled once with `profile: auto`, timeout 4 s
    and 1 retry, as a new user would."""
    why = missing_reason()
    if why is not None:
        pytest.skip(why)
    names = ["fortigate_100e", "panos_440", "asa", "gaia_1490", "ios_2960x",
             "junos_ex4600mp", "synology-ds1515"]
    with serving_real_walks() as walks:
        creds = {name: community(name) for name in names}
        devices = [device(name, walks.address, name, "auto", timeout=4.0, retries=1)
                   for name in names]
        [results] = poll(devices, creds)
    yield results


def test_real_fortigate(real) -> None:
    r = real["fortigate_100e"]
    assert (r.code, snmp_facts(r).profile) == (ResultCode.SUCCESS, "fortigate"), r.error
    assert one(r, "cpu", cpu="cpu-total").fields["usage_active"] == 6.0
    assert one(r, "mem").fields["used_percent"] == 22.0
    assert one(r, "firewall_sessions").fields["active"] == 1380


def test_real_palo_alto(real) -> None:
    r = real["panos_440"]
    assert (r.code, snmp_facts(r).profile) == (ResultCode.SUCCESS, "paloalto"), r.error
    sessions = one(r, "firewall_sessions").fields
    assert (sessions["active"], sessions["max"]) == (241, 199_998)


def test_real_asa_has_connections_and_failover(real) -> None:
    r = real["asa"]
    # The walk has CISCO-ENHANCED-MEMPOOL-MIB only, not the profile's CISCO-MEMORY-POOL-MIB:
    # no memory point, and no failure for a table the profile does not require.
    assert (r.code, snmp_facts(r).profile) == (ResultCode.SUCCESS, "cisco_asa"), r.error
    assert not only(r, "mem")
    assert one(r, "firewall_sessions").fields["active"] == 7756
    assert one(r, "firewall_ha", unit="primary").fields["ha_state"] == 2


def test_real_check_point_memory_leaves_out_the_page_cache(real) -> None:
    r = real["gaia_1490"]
    assert (r.code, snmp_facts(r).profile) == (ResultCode.SUCCESS, "checkpoint"), r.error
    assert abs(one(r, "mem").fields["used_percent"] - 44.0) <= 1.0
    assert one(r, "firewall_sessions").fields == {"active": 497, "max": 149_900,
                                                  "used_percent": 0.332}


def test_real_ios_switch(real) -> None:
    r = real["ios_2960x"]
    assert (r.code, snmp_facts(r).profile) == (ResultCode.SUCCESS, "cisco_ios"), r.error
    assert one(r, "cpu", cpu="cpu-total").fields["usage_active"] == 53.0
    assert len(only(r, "interface")) == 146


def test_real_juniper_routing_engines(real) -> None:
    r = real["junos_ex4600mp"]
    assert (r.code, snmp_facts(r).profile) == (ResultCode.SUCCESS, "juniper"), r.error
    engines = {s.tags["routing_engine"] for s in only(r, "cpu") if s.tags["cpu"] != "cpu-total"}
    assert engines == {"Routing Engine 0", "Routing Engine 1"}
    assert one(r, "mem").fields["used_percent"] == 11.5
    assert len(only(r, "interface")) == 854


def test_real_synology_walk_without_its_mib_is_a_host(real) -> None:
    # This DSM walk has no SYNOLOGY-* object: the probe fails, net-snmp's rule fits.
    r = real["synology-ds1515"]
    assert (r.code, snmp_facts(r).profile) == (ResultCode.SUCCESS, "host"), r.error

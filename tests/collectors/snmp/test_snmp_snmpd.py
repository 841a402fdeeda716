"""The generic, switch and host profiles, SNMP v1/v2c/v3 and failures against net-snmp."""
from __future__ import annotations

import logging

import psutil
import pytest

from collectors.base import ResultCode

from kits.facts import snmp_facts
from peers.snmp import SECRETS, Peer, community, device, only, poll, usm

pytestmark = pytest.mark.peer    # real snmpd / snmpsim


def test_generic_profile_gives_identity_and_uptime(snmpd: Peer) -> None:
    [results] = poll([device("srv", snmpd.address, "v2", "generic")],
                     {"v2": community("v2", "LL_TEST_COMMUNITY")})
    r = results["srv"]
    assert r.code is ResultCode.SUCCESS, r.error
    assert r.identity is not None and r.identity.sys_name == "test-snmpd"
    assert r.identity.sys_object_id == "1.3.6.1.4.1.8072.3.2.10"   # net-snmp's Linux agent
    assert r.identity.sys_descr
    [snmp] = only(r, "snmp")
    assert snmp.fields["uptime"] >= 0
    assert snmp.tags == {"device_id": "srv", "category": "backbone_switch",
                         "site": "district-hall", "agent_host": snmpd.address,
                         "hostname": "test-snmpd"}
    [up] = only(r, "lifeline_poll")
    assert up.fields["up"] == 1 and up.fields["result_code"] == 0
    assert r.started.tzinfo is not None


def test_switch_profile_on_snmpds_own_interfaces(snmpd: Peer) -> None:
    [results] = poll([device("sw", snmpd.address, "v2", "switch")],
                     {"v2": community("v2", "LL_TEST_COMMUNITY")})
    r = results["sw"]
    assert r.code is ResultCode.SUCCESS, r.error
    rows = {s.tags["ifDescr"]: s for s in only(r, "interface")}
    lo = rows["lo"]                         # every Linux host has a loopback
    assert lo.tags["ifName"] == "lo" and lo.tags["ifIndex"] == "1"
    assert lo.fields["ifOperStatus"] == 1 and lo.fields["ifAdminStatus"] == 1
    assert isinstance(lo.fields["ifHCInOctets"], int)
    assert "ifInOctets" not in lo.fields    # 64-bit present: no 32-bit duplicate


def test_host_profile_memory_disk_cpu_load(snmpd: Peer) -> None:
    [results] = poll([device("host", snmpd.address, "v2", "host", category="server")],
                     {"v2": community("v2", "LL_TEST_COMMUNITY")})
    r = results["host"]
    assert r.code is ResultCode.SUCCESS, r.error
    [mem] = [s for s in only(r, "mem") if s.tags["path"] == "Physical memory"]
    assert 0 < mem.fields["used"] <= mem.fields["total"]
    # Used as psutil (and the local host collector) counts it on this same machine:
    # without buffers and page cache, which net-snmp's own row includes. Memory moves a
    # little between the two readings: a few points, where cache alone is often 30+.
    local = psutil.virtual_memory()
    psutil_used = 100.0 * (local.total - local.free - local.buffers - local.cached) / local.total
    assert abs(mem.fields["used_percent"] - psutil_used) < 3.0
    assert mem.fields["used"] + mem.fields["available"] == mem.fields["total"]
    assert any(s.tags["path"] == "/" for s in only(r, "disk"))
    # net-snmp fills hrProcessorLoad a minute after it starts: present or not, in range.
    assert all(0 <= s.fields["usage_active"] <= 100 for s in only(r, "cpu"))
    # Once either is there, one whole-machine row (from hrProcessorLoad or UCD's
    # ssCpuIdle; a freshly started snmpd has neither for its first minute).
    totals = [s for s in only(r, "cpu") if s.tags.get("cpu") == "cpu-total"]
    assert len(totals) <= 1 and all(type(t.fields["usage_idle"]) is float for t in totals)
    assert len(only(r, "interface")) >= 1                # hosts read their interfaces too
    [system] = only(r, "system")
    assert system.fields["uptime"] > 0 and system.fields["load1"] >= 0


def test_v1_walks_with_getnext_and_falls_back_to_32_bit_counters(snmpd: Peer) -> None:
    [results] = poll([device("sw1", snmpd.address, "v1", "switch")],
                     {"v1": community("v1", "LL_TEST_COMMUNITY", version="1")})
    r = results["sw1"]
    assert r.code is ResultCode.SUCCESS, r.error
    lo = next(s for s in only(r, "interface") if s.tags["ifDescr"] == "lo")
    assert "ifHCInOctets" not in lo.fields          # Counter64 does not exist in v1
    assert isinstance(lo.fields["ifInOctets"], int)


@pytest.mark.parametrize("creds", [
    usm("v3-authnopriv", "nocauth"),
    usm("v3-authpriv", "noc", priv="AES"),
    usm("v3-md5-des", "nocmd5", auth="MD5", priv="DES"),
], ids=lambda c: c.name)
def test_v3_security_levels(snmpd: Peer, creds) -> None:
    [results] = poll([device("v3", snmpd.address, creds.name, "switch")], {creds.name: creds})
    r = results["v3"]
    assert r.code is ResultCode.SUCCESS, r.error
    assert r.identity is not None and r.identity.sys_name == "test-snmpd"
    assert only(r, "interface")
    assert len(snmp_facts(r).engine_id) >= 10         # the agent's snmpEngineID, hex


@pytest.mark.parametrize("creds, expected", [
    (usm("wrong-auth", "noc", auth_env="LL_TEST_WRONG", priv="AES"), "digest"),
    (usm("unknown-user", "nobody-here", priv="AES"), "user"),
], ids=["wrong-auth-key", "unknown-user"])
def test_wrong_v3_credentials_are_an_auth_failure_not_a_timeout(
        snmpd: Peer, creds, expected: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    [results] = poll([device("v3", snmpd.address, creds.name, "generic")], {creds.name: creds})
    r = results["v3"]
    assert r.code is ResultCode.AUTH_FAILURE, (r.code, r.error)
    assert expected in r.error.lower()
    assert r.reachable
    leaked = repr(r) + caplog.text
    for secret in SECRETS.values():
        assert secret not in leaked


def test_wrong_community_is_a_timeout(snmpd: Peer) -> None:
    creds = community("bad", "LL_TEST_WRONG")
    [results] = poll([device("sw", snmpd.address, "bad", "generic", timeout=0.3, retries=0)],
                     {"bad": creds})
    r = results["sw"]
    assert r.code is ResultCode.TIMEOUT and not r.reachable
    assert snmpd.address in r.error and "wrongpass999" not in repr(r)
    [up] = only(r, "lifeline_poll")
    assert up.fields == {"up": 0, "duration_seconds": up.fields["duration_seconds"],
                         "result_code": 1}


def test_ups_profile_on_a_host_is_no_such_object(snmpd: Peer) -> None:
    [results] = poll([device("not-a-ups", snmpd.address, "v2", "ups")],
                     {"v2": community("v2", "LL_TEST_COMMUNITY")})
    r = results["not-a-ups"]
    assert r.code is ResultCode.NO_SUCH_OBJECT
    assert "ups" in r.error


def test_config_errors_name_the_problem_not_the_secret(snmpd: Peer) -> None:
    creds = {"v2": community("v2", "LL_TEST_COMMUNITY"),
             "unset": community("unset", "LL_TEST_NOT_SET_ANYWHERE")}
    [results] = poll([device("a", snmpd.address, "v2", "no-such-profile"),
                      device("b", snmpd.address, "unset", "generic"),
                      device("c", snmpd.address, "missing-credentials", "generic")], creds)
    assert results["a"].code is ResultCode.CONFIG_ERROR
    assert "no-such-profile" in results["a"].error
    assert results["b"].code is ResultCode.CONFIG_ERROR
    assert "LL_TEST_NOT_SET_ANYWHERE" in results["b"].error
    assert results["c"].code is ResultCode.CONFIG_ERROR


def test_wrong_privacy_key_is_an_auth_failure_not_a_timeout(snmpd: Peer) -> None:
    # net-snmp cannot decrypt the request and drops it without a report, but it answers
    # the engine discovery of the same poll: the device is there, the key is wrong.
    creds = usm("wrong-priv", "noc", priv="AES", priv_env="LL_TEST_WRONG")
    [results] = poll([device("v3", snmpd.address, "wrong-priv", "generic", timeout=0.3,
                             retries=0)], {"wrong-priv": creds})
    r = results["v3"]
    assert r.code is ResultCode.AUTH_FAILURE and r.reachable, (r.code, r.error)
    assert "privacy key" in r.error and "wrongpass999" not in repr(r)


def test_security_level_below_the_users_is_answered_without_objects(snmpd: Peer) -> None:
    # noc must use privacy; asked with authNoPriv, net-snmp's VACM shows it nothing.
    creds = usm("level-too-low", "noc")
    [results] = poll([device("v3", snmpd.address, "level-too-low", "generic")],
                     {"level-too-low": creds})
    assert results["v3"].code is ResultCode.NO_SUCH_OBJECT


def test_many_v3_polls_at_once_do_not_time_each_other_out(snmpd: Peer) -> None:
    # Through pysnmp (~10 ms CPU per v3 poll) 200 polls at once kept the loop busy past
    # their timeouts unless capped at 16; on the BER path they share v2c's bound (256).
    # The timeout is generous because one snmpd answers all 200 first polls (each with a
    # chassis lookup that costs snmpd ~4 ms) on a machine shared with other tests.
    creds = usm("v3-authpriv", "noc", priv="AES")
    devices = [device(f"v3-{i}", snmpd.address, "v3-authpriv", "switch", timeout=4.0)
               for i in range(200)]
    [results] = poll(devices, {"v3-authpriv": creds}, max_in_flight=256)
    assert {r.code for r in results.values()} == {ResultCode.SUCCESS}

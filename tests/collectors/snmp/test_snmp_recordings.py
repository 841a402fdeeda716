"""Every profile against a recorded device served by snmpsim."""
from __future__ import annotations

import pytest

from collectors.base import CounterRate, ResultCode

from kits.facts import snmp_facts
from peers.snmp import RECORDINGS, SIM_USER, device, only, poll, sim_devices, usm

pytestmark = pytest.mark.peer    # real snmpd / snmpsim


@pytest.fixture(scope="module")
def two_rounds(snmpsim: int):
    """Two polls of every recording by one collector, so counters have a previous value."""
    devices, creds = sim_devices(snmpsim)
    return poll(devices, creds, rounds=2, pause=0.2)


def test_every_recording_polls_successfully(two_rounds) -> None:
    for round_ in two_rounds:
        assert set(round_) == set(RECORDINGS)
        for device_id, result in round_.items():
            assert result.code is ResultCode.SUCCESS, (device_id, result.error)


def test_switch24_ports_tags_and_states(two_rounds) -> None:
    r = two_rounds[1]["switch24"]
    rows = {s.tags["ifIndex"]: s for s in only(r, "interface")}
    assert sorted(rows, key=int) == [str(i) for i in range(1, 25)]
    assert {i for i, s in rows.items() if s.fields["ifOperStatus"] == 2} == {"5", "13", "20", "21"}
    assert rows["21"].fields["ifAdminStatus"] == 2
    assert rows["24"].tags["ifAlias"] == "uplink-core" and rows["24"].tags["ifName"] == "Gi0/24"
    assert "ifAlias" not in rows["3"].tags          # empty strings are not tags
    assert rows["1"].fields["ifHighSpeed"] == 1000
    assert r.identity.sys_name == "sw-24" and rows["1"].tags["hostname"] == "sw-24"
    # 24 rows x 9 columns does not fit snmpsim's 64-varbind answers: continued walks.
    assert snmp_facts(r).requests > 1


def test_switch24_counters_move_and_rates_are_kept(two_rounds) -> None:
    first, second = (rnd["switch24"] for rnd in two_rounds)
    before = {s.tags["ifIndex"]: s.fields for s in only(first, "interface")}
    after = {s.tags["ifIndex"]: s.fields for s in only(second, "interface")}
    assert after["1"]["ifHCInOctets"] > before["1"]["ifHCInOctets"]
    assert after["5"]["ifHCInOctets"] == before["5"]["ifHCInOctets"]    # a down port
    assert snmp_facts(first).rates == ()                                   # nothing to compare yet
    rates = {(x.row, x.name): x for x in snmp_facts(second).rates}
    assert all(isinstance(x, CounterRate) for x in rates.values())
    assert rates[("1", "in_octets")].field == "ifHCInOctets"
    assert rates[("1", "in_octets")].per_second > 0
    assert rates[("5", "in_octets")].per_second == 0
    assert rates[("3", "in_errors")].per_second > 0                      # errors rising on port 3
    assert not any(x.wrapped for x in rates.values())


def test_32_bit_switch_uses_32_bit_octets_and_if_speed(two_rounds) -> None:
    r = two_rounds[1]["switch32"]
    rows = {s.tags["ifIndex"]: s for s in only(r, "interface")}
    assert len(rows) == 8
    for s in rows.values():
        assert "ifHCInOctets" not in s.fields and "ifInOctets" in s.fields
        assert "ifName" not in s.tags                   # no ifXTable on this device
    assert rows["2"].fields["ifSpeed"] == 1_000_000_000
    rate = next(x for x in snmp_facts(r).rates if x.row == "2" and x.name == "in_octets")
    assert rate.field == "ifInOctets"                   # the same rate name as 64-bit devices


def test_32_bit_counter_wrap_gives_a_positive_rate(snmpsim: int) -> None:
    # ifInOctets.1 of switch32 grows by 2^31 per second and wraps every 2 s: polls a
    # quarter second apart see a wrap within at most ten rounds.
    devices, creds = sim_devices(snmpsim)
    sw = [d for d in devices if d.id == "switch32"]
    rounds = poll(sw, creds, rounds=10, pause=0.25)
    wraps = [x for rnd in rounds for x in snmp_facts(rnd["switch32"]).rates
             if x.row == "1" and x.field == "ifInOctets" and x.wrapped]
    assert wraps, "no wrap seen"
    assert all(x.per_second > 0 for x in wraps)


def test_firewall_has_interfaces_cpu_and_memory(two_rounds) -> None:
    r = two_rounds[1]["firewall"]
    assert len(only(r, "interface")) == 4
    cpus = {s.tags["cpu"]: s.fields for s in only(r, "cpu")}
    # hrProcessorLoad is an INTEGER; stored as a float, as the host collector stores it,
    # with Telegraf's whole-machine row (the mean) that the CPU alert reads.
    assert cpus == {"196608": {"usage_active": 40.0, "usage_idle": 60.0},
                    "196609": {"usage_active": 70.0, "usage_idle": 30.0},
                    "cpu-total": {"usage_active": 55.0, "usage_idle": 45.0}}
    assert all(type(v) is float for fields in cpus.values() for v in fields.values())
    [mem] = only(r, "mem")
    assert mem.fields == {"total": 2_048_000_000, "used": 1_536_000_000,
                          "available": 512_000_000, "used_percent": 75.0,
                          "available_percent": 25.0}
    [disk] = only(r, "disk")
    assert disk.tags["path"] == "/" and disk.fields["used_percent"] == 40.0
    assert disk.fields["free"] == disk.fields["total"] - disk.fields["used"]
    # "Virtual memory" is neither RAM nor a fixed disk: routed nowhere.
    assert not any(s.tags.get("path") == "Virtual memory" for s in r.samples)


def test_ups_normal(two_rounds) -> None:
    r = two_rounds[1]["ups-normal"]
    [ups] = only(r, "ups")
    assert ups.fields["output_source"] == 3 and ups.fields["battery_status"] == 2
    assert ups.fields["battery_charge"] == 100 and ups.fields["seconds_on_battery"] == 0
    assert ups.fields["battery_voltage"] == 54.6 and ups.fields["test_result"] == 1
    assert ups.fields["alarms_present"] == 0 and not only(r, "ups_alarm")
    [line] = only(r, "ups_input")
    assert line.tags["line"] == "1" and line.fields == {"frequency": 60.0, "voltage": 220}
    [out] = only(r, "ups_output")
    assert out.fields["percent_load"] == 23 and out.fields["current"] == 1.5


def test_ups_on_battery_with_low_charge_and_battery_bad(two_rounds) -> None:
    r = two_rounds[1]["ups-battery"]
    [ups] = only(r, "ups")
    assert ups.fields["output_source"] == 5                 # battery
    assert ups.fields["battery_status"] == 3                # batteryLow
    assert ups.fields["battery_charge"] == 12 and ups.fields["minutes_remaining"] == 4
    assert ups.fields["seconds_on_battery"] == 1260 and ups.fields["test_result"] == 3
    alarms = {s.tags["alarm"] for s in only(r, "ups_alarm")}
    assert alarms == {"BatteryBad", "OnBattery", "LowBattery"}


def test_entity_mib_chassis_serial_and_model(two_rounds) -> None:
    for rnd in two_rounds:      # looked up on the first poll, kept on the next
        ident = rnd["router-entity"].identity
        assert ident.serial == "FTX1234A5BC" and ident.model == "EX-R900"
    assert two_rounds[1]["switch24"].identity.serial is None


def test_v3_devices_sharing_an_engine_id_are_reported(snmpsim: int) -> None:
    # One snmpsim process answers every address with the same engine id.
    creds = {"v3-fw": usm("v3-fw", SIM_USER, auth_env="LL_TEST_SIM_AUTH", context="firewall"),
             "v3-ups": usm("v3-ups", SIM_USER, auth_env="LL_TEST_SIM_AUTH", context="ups-normal")}
    devices = [device("fw", f"{RECORDINGS['firewall'][0]}:{snmpsim}", "v3-fw", "firewall"),
               device("ups", f"{RECORDINGS['ups-normal'][0]}:{snmpsim}", "v3-ups", "ups")]
    [_, results] = poll(devices, creds, rounds=2)
    fw, ups = results["fw"], results["ups"]
    assert fw.code is ResultCode.SUCCESS and ups.code is ResultCode.SUCCESS
    assert only(fw, "cpu") and only(ups, "ups")             # the context chose the recording
    assert snmp_facts(fw).engine_id == snmp_facts(ups).engine_id == "8000000001020304"
    assert snmp_facts(fw).engine_id_shared_with == (ups.samples[0].tags["agent_host"],)
    assert "engine id" in fw.warnings[0]

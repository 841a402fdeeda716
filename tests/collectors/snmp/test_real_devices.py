"""Conformance on walks of real devices (../shared/recordings/, served by snmpsim).

Every walk is polled twice with `profile: auto` (timeout 4 s, 1 retry: one snmpsim serves
them all and is slow on a loaded machine), as a new user's config would, and checked for
what an operator means, not just the bytes: the profile chosen, memory as psutil would
count it, whole interface rows, UPS state, sessions, one type per field, and no alert that
the device does not deserve.
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from alerts.evaluation import rules
from alerts.evaluation.thresholds import DEFAULTS
from collectors.base import PollResult, ResultCode, Sample, SnmpFacts
from collectors.host import HostCollector
from collectors.snmp.profiles import load_profiles
from inventory.model import Device, PollSpec

from peers.real_walks import missing_reason, serving_real_walks, walks
from peers.snmp import community, device, poll

pytestmark = pytest.mark.peer    # snmpsim

SEOUL = ZoneInfo("Asia/Seoul")

# walk -> the profile `auto` must choose. The Synology walk predates DSM's own MIB
# (no 1.3.6.1.4.1.6574 objects), so it is what it says: a net-snmp host.
EXPECTED_PROFILE = {
    "apc_smt750x-nmc2": "apc_ups", "arubaos-cx": "switch", "asa": "cisco_asa",
    "deltaups": "ups", "eaton-mgeups_9pxle": "ups", "fortigate_100e": "fortigate",
    "gaia_1490": "checkpoint", "hp-2530": "switch", "huaweiups_ups2000": "ups",
    "ios_2960x": "cisco_ios", "junos_ex4600mp": "juniper", "localhost": "host",
    "netmanplus_204": "ups", "panos_440": "paloalto", "socomec-ups": "socomec_ups",
    "synology-ds1515": "host", "tripplite": "ups", "ubiquoss-pon_9500": "switch",
    "windows_svr_2019_1809": "host",
}

# Memory used as psutil counts it (without buffers and page cache), worked out by hand
# from each walk's hrStorage rows: (used - buffers - cached) / total.
MEMORY_PERCENT = {"localhost": 51.8, "synology-ds1515": 20.6, "gaia_1490": 43.7,
                  "windows_svr_2019_1809": 22.7}

# Alerts these devices deserve, and only these (the Tripp Lite's alarm table holds a
# BatteryBad row).
DESERVED = {"tripplite": {("ups_battery_bad", "")}}

INTERFACE_COLUMNS = {      # the interface columns every profile reads, OID -> name
    "1.3.6.1.2.1.2.2.1.2": "ifDescr", "1.3.6.1.2.1.31.1.1.1.1": "ifName",
    "1.3.6.1.2.1.31.1.1.1.18": "ifAlias", "1.3.6.1.2.1.2.2.1.7": "ifAdminStatus",
    "1.3.6.1.2.1.2.2.1.8": "ifOperStatus", "1.3.6.1.2.1.31.1.1.1.15": "ifHighSpeed",
    "1.3.6.1.2.1.31.1.1.1.6": "ifHCInOctets", "1.3.6.1.2.1.31.1.1.1.10": "ifHCOutOctets",
    "1.3.6.1.2.1.2.2.1.14": "ifInErrors", "1.3.6.1.2.1.2.2.1.20": "ifOutErrors",
    "1.3.6.1.2.1.2.2.1.13": "ifInDiscards", "1.3.6.1.2.1.2.2.1.19": "ifOutDiscards",
}


@pytest.fixture(scope="module")
def rounds() -> list[dict[str, PollResult]]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with serving_real_walks() as served:
        creds = {name: community(name) for name in served.names}
        devices = [device(name, served.address, name, "auto", timeout=4.0, retries=1)
                   for name in served.names]
        return poll(devices, creds, rounds=2, pause=0.5)


def test_every_walk_is_expected() -> None:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    assert set(walks()) == set(EXPECTED_PROFILE)


@pytest.mark.parametrize("name", sorted(EXPECTED_PROFILE))
def test_auto_chooses_the_profile_and_the_poll_succeeds(rounds, name: str) -> None:
    for round_ in rounds:
        result = round_[name]
        assert result.code is ResultCode.SUCCESS, (name, result.error)
        facts = result.facts
        assert isinstance(facts, SnmpFacts)
        assert facts.profile == EXPECTED_PROFILE[name], facts.profile_reason
        assert result.warnings == ()


@pytest.mark.parametrize("name", sorted(MEMORY_PERCENT))
def test_memory_used_is_what_an_operator_means(rounds, name: str) -> None:
    [mem] = _only(rounds[1][name], "mem")
    assert abs(mem.fields["used_percent"] - MEMORY_PERCENT[name]) <= 1.0
    assert mem.fields["used"] + mem.fields["available"] == mem.fields["total"]


@pytest.mark.parametrize("name", ["localhost", "synology-ds1515", "gaia_1490",
                                  "windows_svr_2019_1809", "panos_440", "fortigate_100e"])
def test_a_whole_machine_cpu_row_the_cpu_rule_reads(rounds, name: str) -> None:
    totals = [s for s in _only(rounds[1][name], "cpu") if s.tags.get("cpu") == "cpu-total"]
    assert len(totals) == 1
    fields = totals[0].fields
    assert type(fields["usage_active"]) is float and type(fields["usage_idle"]) is float
    assert abs(fields["usage_active"] + fields["usage_idle"] - 100.0) < 1e-6


UPS_WALKS = ("apc_smt750x-nmc2", "deltaups", "eaton-mgeups_9pxle", "huaweiups_ups2000",
             "netmanplus_204", "socomec-ups", "tripplite")


@pytest.mark.parametrize("name", sorted(set(EXPECTED_PROFILE) - set(UPS_WALKS)))
def test_interfaces_come_as_whole_rows(rounds, name: str) -> None:
    """Each interface the walk has is one row with every column the walk has for it:
    none missing, no fragment with only an index or a status."""
    expected = _interface_columns(walks()[name])
    if not expected:
        pytest.skip(f"the {name} walk holds no interface columns")
    rows = {s.tags["ifIndex"]: s for s in _only(rounds[1][name], "interface")}
    assert set(rows) == set(expected)
    for index, columns in expected.items():
        row = rows[index]
        assert {*row.fields, *row.tags} >= columns, (index, columns - {*row.fields, *row.tags})


@pytest.mark.parametrize("name", UPS_WALKS)
def test_ups_on_mains_with_its_charge(rounds, name: str) -> None:
    [ups] = _only(rounds[1][name], "ups")
    assert ups.fields["output_source"] == 3          # normal: on mains
    assert 0 < ups.fields["battery_charge"] <= 100
    # Huawei's card says 4294967295 ("unknown") for the minutes left: no field, not 4e9.
    minutes = ups.fields.get("minutes_remaining")
    assert minutes is None or 0 < minutes < 10_000


def test_huawei_unknown_runtime_is_absent(rounds) -> None:
    [ups] = _only(rounds[1]["huaweiups_ups2000"], "ups")
    assert "minutes_remaining" not in ups.fields


@pytest.mark.parametrize("name,active,capacity", [("fortigate_100e", 1380, None),
                                                  ("panos_440", 241, 199_998)])
def test_firewall_sessions(rounds, name: str, active: int, capacity: int | None) -> None:
    [sessions] = _only(rounds[1][name], "firewall_sessions")
    assert sessions.fields["active"] == active
    if capacity is not None:
        assert sessions.fields["max"] == capacity


def test_one_type_per_field_across_every_device(rounds) -> None:
    async def local() -> PollResult:
        collector = HostCollector()
        try:
            await collector.collect(_host_device())
            return await collector.collect(_host_device())
        finally:
            await collector.aclose()

    def _host_device() -> Device:
        return Device(id="noc", name="noc", category="server", site="hall",
                      poll=PollSpec(protocol="host"))

    seen: dict[tuple[str, str], set[str]] = {}
    results = [*rounds[1].values(), asyncio.run(local())]
    for result in results:
        for sample in result.samples:
            for field, value in sample.fields.items():
                seen.setdefault((sample.measurement, field), set()).add(type(value).__name__)
    mixed = {key: types for key, types in seen.items() if len(types) > 1}
    assert mixed == {}


def test_no_alert_the_devices_do_not_deserve(rounds) -> None:
    now = datetime.now(SEOUL)
    for name in EXPECTED_PROFILE:
        dev = device(name, "127.0.0.20:161", name, "auto")
        for round_ in rounds:
            ev = rules.poll(round_[name], dev, DEFAULTS, now, SEOUL)
            got = {(c.rule, c.instance) for c in ev.active}
            assert got == DESERVED.get(name, set()), (name, [c.summary for c in ev.active])


def test_placeholder_model_raises_no_drift(rounds) -> None:
    result = rounds[1]["ubiquoss-pon_9500"]
    assert result.identity is not None and result.identity.model == "CHASSIS"
    dev = replace(device("ubiquoss-pon_9500", "127.0.0.20:161", "x", "auto"), model="C9500")
    ev = rules.poll(result, dev, DEFAULTS, datetime.now(SEOUL), SEOUL)
    assert "drift" in ev.checked and not [c for c in ev.active if c.rule == "drift"]


def test_every_profile_loads_with_detection_rules() -> None:
    profiles = load_profiles()
    named = set(EXPECTED_PROFILE.values())
    assert named <= set(profiles)
    assert all(profiles[name].detect for name in named)


# ---- helpers -----------------------------------------------------------------------------

def _only(result: PollResult, measurement: str) -> list[Sample]:
    return [s for s in result.samples if s.measurement == measurement]


_LINE = re.compile(rb"^([0-9.]+)\|([0-9a-z:]+)\|(.*)$")


def _interface_columns(walk: bytes) -> Mapping[str, set[str]]:
    """ifIndex -> the interface columns the walk holds for it (an empty string is no tag)."""
    out: dict[str, set[str]] = {}
    for line in _lines(walk):
        match = _LINE.match(line)
        if not match:
            continue
        oid, _, value = match.groups()
        column, _, index = oid.decode().rpartition(".")
        name = INTERFACE_COLUMNS.get(column)
        if name is None:
            continue
        if name in ("ifDescr", "ifName", "ifAlias") and not value.strip(b'"'):
            continue
        out.setdefault(index, set()).add(name)
    return out


def _lines(walk: bytes) -> Iterator[bytes]:
    yield from walk.splitlines()

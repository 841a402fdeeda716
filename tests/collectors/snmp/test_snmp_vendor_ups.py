"""Vendor UPS profiles (APC PowerNet-MIB, Socomec NetVision) polled through snmpsim: the
fields, units, types and alerts come out as they do for an RFC 1628 UPS.

Our own recordings (tests/data/snmp/generate.py) check the mapping value by value; the
real walks (../shared/recordings/, skipped where absent) check that `profile: auto`
chooses these profiles and reads what the real cards say.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from alerts.evaluation import rules
from alerts.evaluation.thresholds import Thresholds
from collectors.base import PollResult, ResultCode, Sample, SnmpFacts

from peers.real_walks import missing_reason, serving_real_walks
from peers.snmp import RECORDINGS, community, device, only, poll, sim_devices

pytestmark = pytest.mark.peer    # snmpsim

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=SEOUL)
T = Thresholds()
RFC = ("ups-normal", "ups-battery")
VENDOR = ("apc-ups-normal", "apc-ups-battery", "socomec-ups-normal", "socomec-ups-battery")
PROFILE = {"apc-ups-normal": "apc_ups", "apc-ups-battery": "apc_ups",
           "socomec-ups-normal": "socomec_ups", "socomec-ups-battery": "socomec_ups"}


@pytest.fixture(scope="module")
def polled(snmpsim: int) -> dict[str, PollResult]:
    devices, creds = sim_devices(snmpsim)
    [results] = poll([d for d in devices if d.id in (*RFC, *VENDOR)], creds)
    for name, result in results.items():
        assert result.code is ResultCode.SUCCESS, (name, result.error)
    return results


def _one(result: PollResult, measurement: str) -> Sample:
    [sample] = only(result, measurement)
    return sample


def _alerts(result: PollResult, name: str) -> dict[str, rules.Condition]:
    dev = device(name, f"{RECORDINGS[name][0]}:161", name, RECORDINGS[name][1], category="ups")
    ev = rules.poll(result, dev, T, NOW, SEOUL)
    assert "ups_on_battery" in ev.checked
    return {c.rule: c for c in ev.active}


# ---- APC PowerNet-MIB ------------------------------------------------------------------

def test_apc_on_battery_maps_onto_rfc_1628(polled) -> None:
    r = polled["apc-ups-battery"]
    assert _one(r, "ups").fields == {
        "output_source": 5,                 # onBattery(3) -> battery(5)
        "battery_status": 2,                # batteryNormal: 9 minutes is above the card's low mark
        "seconds_on_battery": 1260,         # 126000 TimeTicks
        "minutes_remaining": 9,             # 57000 TimeTicks = 9.5 min, whole minutes
        "battery_charge": 35,               # upsHighPrecBatteryCapacity 352 tenths
        "battery_voltage": 25.1,            # upsHighPrecBatteryActualVoltage 251 (upsAdv: 25)
        "battery_temperature": 31,
        "battery_replace_needed": 1,        # batteryNeedsReplacing(2)
        "test_result": 3,                   # failed(2) -> doneError(3)
    }
    line_in, line_out = _one(r, "ups_input"), _one(r, "ups_output")
    assert line_in.tags["line"] == line_out.tags["line"] == "1"
    assert line_in.fields == {"frequency": 0.0, "voltage": 0}
    # The high-precision objects win where the card has them: 2298 tenths, not upsAdv's 230.
    assert line_out.fields == {"voltage": 229, "current": 2.1, "power": 345, "percent_load": 23}


def test_apc_older_card_reads_the_adv_objects(polled) -> None:
    r = polled["apc-ups-normal"]       # no upsHighPrec* objects at all
    assert _one(r, "ups").fields == {
        "output_source": 3, "battery_status": 2, "seconds_on_battery": 0,
        "minutes_remaining": 45, "battery_charge": 100, "battery_voltage": 27.0,
        "battery_temperature": 27, "battery_replace_needed": 0, "test_result": 1}
    assert _one(r, "ups_input").fields == {"frequency": 50.0, "voltage": 230}
    assert _one(r, "ups_output").fields == {"voltage": 230, "current": 1.0, "power": 280,
                                            "percent_load": 18}


# ---- Socomec SOCOMECUPS-MIB ------------------------------------------------------------

def test_socomec_on_mains_keeps_unknowns_out(polled) -> None:
    r = polled["socomec-ups-normal"]
    # charging -> batteryNormal; -1 s on battery, 65535 minutes and a 0 degree sensor
    # are the card's "not measured": absent, never numbers an alert could read.
    assert _one(r, "ups").fields == {
        "output_source": 3, "battery_status": 2, "battery_charge": 100,
        "battery_voltage": 54.6, "battery_replace_needed": 0, "alarms_present": 0}
    assert _one(r, "ups_input").fields == {"voltage": 230}
    assert _one(r, "ups_output").fields == {"voltage": 230, "current": 6.5, "power": 1200,
                                            "percent_load": 23}


def test_socomec_on_battery(polled) -> None:
    ups = _one(polled["socomec-ups-battery"], "ups")
    assert ups.fields == {
        "output_source": 3,                 # onInverter: the inverter feeds the load
        "battery_status": 2,                # batteryDischarging -> batteryNormal
        "seconds_on_battery": 1260, "minutes_remaining": 4, "battery_charge": 12,
        "battery_voltage": 48.1, "battery_temperature": 31,
        "battery_replace_needed": 1,        # upsAlarmBatteryFault
        "alarms_present": 3}


# ---- what the rules see ----------------------------------------------------------------

def test_fields_have_the_rfc_types(polled) -> None:
    """A field written by a vendor profile has the type the RFC 1628 profile writes, or
    a time-series store refuses one of the two (`field type conflict`)."""
    def types(names: tuple[str, ...]) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = {}
        for name in names:
            for s in polled[name].samples:
                for field, value in s.fields.items():
                    out.setdefault((s.measurement, field), set()).add(type(value).__name__)
        return out

    rfc, vendor = types(RFC), types(VENDOR)
    shared = set(rfc) & set(vendor)
    assert {("ups", "output_source"), ("ups_output", "voltage")} <= shared
    assert {key: vendor[key] for key in shared} == {key: rfc[key] for key in shared}
    assert all(len(found) == 1 for found in vendor.values()), vendor


def test_apc_on_battery_raises_what_rfc_1628_raises(polled) -> None:
    rfc = _alerts(polled["ups-battery"], "ups-battery")
    apc = _alerts(polled["apc-ups-battery"], "apc-ups-battery")
    assert {"ups_on_battery", "ups_low_battery"} <= set(apc)
    assert set(apc) == set(rfc)     # and battery bad, self-test failed, as the RFC device
    for rule in apc:
        assert (apc[rule].severity, apc[rule].for_seconds) == (
            rfc[rule].severity, rfc[rule].for_seconds)
    assert "35%" in apc["ups_low_battery"].summary and "9 min" in apc["ups_low_battery"].summary


def test_socomec_on_battery_raises_on_battery_low_and_bad_battery(polled) -> None:
    # No "battery" output source: the time on battery is what says so.
    got = _alerts(polled["socomec-ups-battery"], "socomec-ups-battery")
    assert set(got) == {"ups_on_battery", "ups_low_battery", "ups_battery_bad"}


@pytest.mark.parametrize("name", ["ups-normal", "apc-ups-normal", "socomec-ups-normal"])
def test_a_ups_on_mains_raises_nothing(polled, name: str) -> None:
    assert _alerts(polled[name], name) == {}


def test_auto_chooses_the_vendor_profiles(snmpsim: int) -> None:
    creds = {name: community(name) for name in VENDOR}
    devices = [device(name, f"{RECORDINGS[name][0]}:{snmpsim}", name, "auto") for name in VENDOR]
    [results] = poll(devices, creds)
    for name, result in results.items():
        assert result.code is ResultCode.SUCCESS, (name, result.error)
        assert isinstance(result.facts, SnmpFacts)
        assert result.facts.profile == PROFILE[name], result.facts.profile_reason
    # The older APC card (sysObjectID .318.1.3.2.12) fits by answering under upsIdent.
    reason = results["apc-ups-normal"].facts.profile_reason     # type: ignore[union-attr]
    assert reason is not None and "1.3.6.1.4.1.318.1.1.1.1" in reason


# ---- the real walks ----------------------------------------------------------------------

REAL = {"apc_smt750x-nmc2": "apc_ups", "socomec-ups": "socomec_ups"}


@pytest.fixture(scope="module")
def real() -> dict[str, PollResult]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with serving_real_walks() as served:
        creds = {name: community(name) for name in REAL}
        devices = [device(name, served.address, name, "auto", timeout=4.0, category="ups")
                   for name in REAL]
        [results] = poll(devices, creds)
    return results


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_walk_chooses_the_profile_and_succeeds(real, name: str) -> None:
    result = real[name]
    assert result.code is ResultCode.SUCCESS, result.error
    assert isinstance(result.facts, SnmpFacts) and result.facts.profile == REAL[name]
    assert result.warnings == ()
    dev = device(name, "127.0.0.20:161", name, "auto", category="ups")
    ev = rules.poll(result, dev, T, NOW, SEOUL)
    assert "ups_on_battery" in ev.checked and ev.active == ()


def test_real_apc_smart_ups_is_on_line_and_full(real) -> None:
    r = real["apc_smt750x-nmc2"]
    assert _one(r, "ups").fields == {
        "output_source": 3,                 # upsBasicOutputStatus onLine(2)
        "battery_charge": 100,              # upsHighPrecBatteryCapacity 1000
        "minutes_remaining": 1829,          # upsAdvBatteryRunTimeRemaining 10976200 TimeTicks
        "battery_replace_needed": 0,
        "battery_temperature": 23,          # 234 tenths
        "battery_voltage": 54.7}
    assert _one(r, "ups_input").fields == {"frequency": 60.0, "voltage": 119}
    assert _one(r, "ups_output").fields == {"voltage": 119, "current": 0.0, "percent_load": 0}


def test_real_socomec_is_on_line_and_full(real) -> None:
    r = real["socomec-ups"]
    assert _one(r, "ups").fields == {
        "output_source": 3,                 # onInverter
        "battery_status": 2,                # batteryCharging
        "seconds_on_battery": 0,
        "battery_charge": 100,              # minutes: 65535 on mains, absent
        "battery_voltage": 54.2, "battery_replace_needed": 0, "alarms_present": 0}
    assert _one(r, "ups_input").fields == {"voltage": 240}
    assert _one(r, "ups_output").fields == {"voltage": 230, "current": 0.0, "percent_load": 0}

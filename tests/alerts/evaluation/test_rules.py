"""The rules as pure functions: poll results (built by hand) + thresholds + now."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from alerts.evaluation import rules
from alerts.evaluation.thresholds import Thresholds, ThresholdTable
from collectors.base import (
    CounterRate,
    HttpFacts,
    Identity,
    PollResult,
    ResultCode,
    Sample,
    SnmpFacts,
)
from config.model import AlertSettings
from inventory.lifecycle import assess
from inventory.model import Category, Device, LifeRule, PollSpec, VendorDates

from kits.alerts_engine import SEOUL

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=SEOUL)
T = Thresholds()


def dev(**kw) -> Device:
    base = {"id": "d1", "name": "Dev 1", "category": "ups",
            "poll": PollSpec(protocol="snmp", address="127.0.0.1", credentials="c")}
    base.update(kw)
    return Device(**base)


def result(*samples: Sample, code: ResultCode = ResultCode.SUCCESS,
           facts: SnmpFacts | HttpFacts | None = None) -> PollResult:
    return PollResult(device_id="d1", code=code, started=NOW, duration=0.1,
                      samples=samples, facts=facts)


def s(measurement: str, tags: dict | None = None, **fields) -> Sample:
    return Sample(measurement, tags or {}, fields, NOW)


def active(ev: rules.Evaluation) -> dict[tuple[str, str], rules.Condition]:
    return {(c.rule, c.instance): c for c in ev.active}


def test_unreachable_is_an_outage_and_nothing_else_is_checked():
    ev = rules.poll(result(code=ResultCode.TIMEOUT), dev(), T, NOW, SEOUL)
    assert ev.checked == {"device_down"} and list(active(ev)) == [("device_down", "")]
    assert ev.active[0].repeat == T.outage_repeat


def test_reachable_clears_the_outage_and_checks_only_present_measurements():
    ev = rules.poll(result(s("lifeline_poll", up=1)), dev(), T, NOW, SEOUL)
    assert ev.active == ()
    assert ev.checked == {"device_down", "device_bad_answer", "profile_no_data"}


@pytest.mark.parametrize("hours,at,counted", [
    ("daily 10:00-22:00", datetime(2026, 3, 2, 23, 0, tzinfo=SEOUL), False),
    ("daily 10:00-22:00", datetime(2026, 3, 2, 11, 0, tzinfo=SEOUL), True),
    ("daily 22:00-06:00", datetime(2026, 3, 3, 2, 0, tzinfo=SEOUL), True),
    ("Mon-Fri 09:00-18:00", datetime(2026, 3, 7, 12, 0, tzinfo=SEOUL), False),  # Saturday
])
def test_failed_polls_outside_hours_do_not_count(hours, at, counted):
    ev = rules.poll(result(code=ResultCode.TIMEOUT), dev(operating_hours=hours), T, at, SEOUL)
    assert ("device_down" in ev.checked) is counted
    assert bool(ev.active) is counted


def test_a_closed_site_that_answers_still_clears():
    at = datetime(2026, 3, 2, 23, 0, tzinfo=SEOUL)
    ev = rules.poll(result(), dev(operating_hours="daily 10:00-22:00"), T, at, SEOUL)
    assert "device_down" in ev.checked and not ev.active


UPS_NORMAL = {"battery_status": 2, "seconds_on_battery": 0, "minutes_remaining": 95,
              "battery_charge": 100, "output_source": 3, "alarms_present": 0, "test_result": 1}


def test_ups_normal_raises_nothing():
    ev = rules.poll(result(s("ups", **UPS_NORMAL)), dev(), T, NOW, SEOUL)
    assert ev.active == () and "ups_on_battery" in ev.checked


def test_ups_on_battery_low_bad_overload_selftest():
    fields = {**UPS_NORMAL, "output_source": 5, "seconds_on_battery": 120,
              "battery_charge": 40, "minutes_remaining": 8, "battery_status": 3, "test_result": 3}
    alarms = [s("ups_alarm", {"alarm": name}, since=1) for name in
              ("BatteryBad", "OnBattery", "OutputOverload")]
    ev = rules.poll(result(s("ups", **fields), *alarms, s("ups_output", {"line": "1"},
                                                          percent_load=95)),
                    dev(), T, NOW, SEOUL)
    got = active(ev)
    assert {r for r, _ in got} == {"ups_on_battery", "ups_low_battery", "ups_battery_bad",
                                     "ups_overload", "ups_selftest_failed"}
    assert got[("ups_on_battery", "")].for_seconds == T.ups_for      # blips are debounced
    assert "배터리" in got[("ups_low_battery", "")].summary_ko


@pytest.mark.parametrize("field,value,fires", [
    ("battery_charge", 49, True), ("battery_charge", 50, False),
    ("minutes_remaining", 9, False),          # minutes count only on battery
])
def test_ups_low_battery_thresholds(field, value, fires):
    ev = rules.poll(result(s("ups", **{**UPS_NORMAL, field: value})), dev(), T, NOW, SEOUL)
    assert (("ups_low_battery", "") in active(ev)) is fires


def _iface(name: str, oper: int, admin: int = 1, index: str = "1") -> Sample:
    return s("interface", {"ifName": name, "ifDescr": name, "ifIndex": index},
             ifOperStatus=oper, ifAdminStatus=admin)


def test_interface_down_only_for_monitored_admin_up_ports():
    d = dev(category="backbone_switch",
            poll=PollSpec(protocol="snmp", address="x", monitored_interfaces=("uplink1",)))
    ev = rules.poll(result(_iface("uplink1", 2, index="1"), _iface("access7", 2, index="2"),
                           _iface("uplink1b", 2, admin=2, index="3")), d, T, NOW, SEOUL)
    assert list(active(ev)) == [("interface_down", "uplink1")]


def test_interface_error_and_discard_rates():
    d = dev(category="backbone_switch")
    rates = (CounterRate("interface", "1", "ifInErrors", "in_errors", 5.0),
             CounterRate("interface", "1", "ifOutErrors", "out_errors", 0.5),
             CounterRate("interface", "2", "ifInDiscards", "in_discards", 9.0),
             CounterRate("interface", "1", "ifHCInOctets", "in_octets", 1e9))
    ev = rules.poll(result(_iface("ge1", 1, index="1"), _iface("ge2", 1, index="2"),
                           facts=SnmpFacts(rates=rates)), d, T, NOW, SEOUL)
    got = active(ev)
    assert list(got) == [("interface_errors", "ge1")]
    assert got[("interface_errors", "ge1")].value == 5.0
    tight = Thresholds(interface_discard_rate=5)
    assert ("interface_discards", "ge2") in active(
        rules.poll(result(_iface("ge2", 1, index="2"), facts=SnmpFacts(rates=rates)), d, tight,
                   NOW, SEOUL))


def test_host_disk_memory_cpu():
    samples = [s("disk", {"path": "/cctv"}, used_percent=96.5),
               s("disk", {"path": "/"}, used_percent=40),
               s("mem", used_percent=91.0), s("cpu", {"cpu": "cpu-total"}, usage_idle=3.0)]
    got = active(rules.poll(result(*samples), dev(category="server"), T, NOW, SEOUL))
    assert set(got) == {("host_disk_full", "/cctv"), ("host_memory_high", ""),
                        ("host_cpu_high", "")}
    assert got[("host_cpu_high", "")].for_seconds == T.cpu_for


def test_http_failed_slow_and_certificate():
    d = dev(category="kiosk", poll=PollSpec(protocol="http", url="http://127.0.0.1/"))
    row = s("http_response", result_code=6, http_response_code=500, response_time=3.5)
    facts = HttpFacts(result="response_string_mismatch", cert_expiry_days=10)
    got = active(rules.poll(result(row, code=ResultCode.BAD_RESPONSE, facts=facts),
                            d, T, NOW, SEOUL))
    assert set(got) == {("http_check_failed", ""), ("http_slow", ""),
                        ("http_cert_expiring", "")}
    fine = s("http_response", result_code=0, http_response_code=200, response_time=0.1)
    ev = rules.poll(result(fine, facts=HttpFacts(result="success", cert_expiry_days=200)), d, T,
                    NOW, SEOUL)
    assert ev.active == () and {"http_check_failed", "http_cert_expiring"} <= ev.checked


def test_drift_compares_only_known_fields():
    d = dev(sys_object_id="1.3.6.1.4.1.9.1.1", model="EX-9000", serial="SN1")
    said = Identity(sys_object_id=".1.3.6.1.4.1.9.1.1", model="ex-9000 ", serial="SN2")
    r = PollResult(device_id="d1", code=ResultCode.SUCCESS, started=NOW, duration=0.1,
                   identity=said)
    assert list(active(rules.poll(r, d, T, NOW, SEOUL))) == [("drift", "serial")]


def test_lifecycle_one_condition_per_reason_repeated_monthly():
    policy = {"ups": Category("ups", "UPS", "UPS", (LifeRule(7),))}
    d = dev(acquired=date(2015, 1, 1), support_ends=date(2026, 6, 30),
            warranty_ends=date(2020, 1, 1), lease_ends=date(2026, 5, 1),
            vendor_dates=VendorDates())
    ev = rules.lifecycle(d, assess(d, policy, NOW.date(), 12), T)
    assert set(active(ev)) == {("lifecycle_exceeded", ""), ("support_ending", ""),
                               ("warranty_ended", ""), ("lease_ending", "")}
    assert {c.repeat for c in ev.active} == {T.lifecycle_repeat}


def test_thresholds_precedence_device_over_category_over_config():
    settings = AlertSettings(thresholds=(("disk_percent", 80.0), ("outage_polls", 4)),
                             category_thresholds=(("kiosk", (("outage_polls", 2),)),))
    table = ThresholdTable(settings)
    assert table.for_device(dev(category="server")).disk_percent == 80.0
    assert table.for_device(dev(id="k", category="kiosk")).outage_polls == 2
    own = dev(id="k2", category="kiosk", thresholds=(("outage_polls", 5),))
    assert table.for_device(own).outage_polls == 5 and table.for_device(own).disk_percent == 80


@pytest.mark.parametrize("placeholder", ["CHASSIS", "", " unknown "])
def test_a_placeholder_model_or_serial_is_no_drift(placeholder: str):
    d = dev(model="C9500", serial="SN1")
    said = Identity(model=placeholder, serial=placeholder)
    r = PollResult(device_id="d1", code=ResultCode.SUCCESS, started=NOW, duration=0.1,
                   identity=said)
    ev = rules.poll(r, d, T, NOW, SEOUL)
    assert "drift" in ev.checked and ev.active == ()


@pytest.mark.parametrize("code", [ResultCode.BAD_RESPONSE, ResultCode.AUTH_FAILURE])
def test_a_device_that_answers_badly_is_a_finding_and_never_ends_an_outage(code):
    ev = rules.poll(result(code=code), dev(), T, NOW, SEOUL)
    assert "device_down" not in ev.checked          # an outage stays as it is
    [condition] = ev.active
    assert condition.rule == "device_bad_answer" and condition.for_seconds == T.bad_answer_for


def test_an_answer_without_the_profiles_data_is_a_finding():
    r = PollResult(device_id="d1", code=ResultCode.NO_SUCH_OBJECT, started=NOW, duration=0.1,
                   error="answered, but has no ups (ups profile)")
    ev = rules.poll(r, dev(), T, NOW, SEOUL)
    assert "device_down" not in ev.checked and "device_bad_answer" in ev.checked
    [condition] = ev.active
    assert condition.rule == "profile_no_data" and "has no ups" in condition.summary


def test_a_failed_http_check_is_http_check_failed_only():
    d = dev(poll=PollSpec(protocol="http", url="http://127.0.0.1/"))
    ev = rules.poll(result(code=ResultCode.BAD_RESPONSE), d, T, NOW, SEOUL)
    assert {c.rule for c in ev.active} == {"http_check_failed"}


def test_a_vendor_replace_battery_indicator_is_battery_bad():
    ev = rules.poll(result(s("ups", output_source=3, battery_replace_needed=1)), dev(), T, NOW,
                    SEOUL)
    assert set(active(ev)) == {("ups_battery_bad", "")}
    fine = rules.poll(result(s("ups", output_source=3, battery_replace_needed=0)), dev(), T,
                      NOW, SEOUL)
    assert fine.active == () and "ups_battery_bad" in fine.checked


def test_nas_volume_and_disk_health():
    ev = rules.poll(result(
        s("nas_volume", {"volume": "Volume 1"}, status=2),
        s("nas_volume", {"volume": "Volume 2"}, status=3),
        s("nas_volume", {"volume": "Volume 3"}, status=4),          # busy: rebuilding
        s("nas_disk", {"disk": "Disk 1"}, status=4, temperature=40),
        s("nas_disk", {"disk": "Disk 2"}, status=1, temperature=38)), dev(), T, NOW, SEOUL)
    got = {(c.rule, c.instance): c.severity.value for c in ev.active}
    assert got == {("nas_volume_degraded", "Volume 1"): "warning",
                   ("nas_volume_degraded", "Volume 2"): "critical",
                   ("nas_disk_failed", "Disk 1"): "critical"}


def test_firewall_session_table_filling_up():
    full = rules.poll(result(s("firewall_sessions", active=95, max=100, used_percent=95.0)),
                      dev(), T, NOW, SEOUL)
    assert set(active(full)) == {("firewall_sessions_high", "")}
    fine = rules.poll(result(s("firewall_sessions", active=1380)), dev(), T, NOW, SEOUL)
    assert fine.active == () and "firewall_sessions_high" in fine.checked

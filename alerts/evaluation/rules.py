"""The built-in alert rules: pure functions from what was observed to conditions.

Each function takes a poll result (or a lifecycle assessment), the device, its thresholds
and `now`, and returns an `Evaluation`: the conditions that hold now, and the rules it
could check at all. A rule that was checked and whose instance is not among the active
conditions has cleared; a rule that could not be checked (the device did not answer, the
measurement is missing) leaves its alerts as they are. Nothing here keeps state or reads a
clock: the `for` durations, counting and notifying live in alerts/evaluation/state.py.

| rule                 | kind      | fires when                                                |
|----------------------|-----------|-----------------------------------------------------------|
| device_down          | outage    | the poll failed (counted: `outage_polls` in a row)        |
| interface_down       | interface | a monitored port's ifOperStatus is not up (admin up)      |
| interface_errors     | interface | in/out error rate over `interface_error_rate` per second  |
| interface_discards   | interface | in/out discard rate over `interface_discard_rate`         |
| ups_on_battery       | ups       | output source battery, or seconds on battery > 0          |
| ups_low_battery      | ups       | status low/depleted, charge or minutes under thresholds   |
| device_bad_answer    | outage    | the device answers, but badly (error-status, malformed or |
|                      |           | refused answers, a collector error) for `bad_answer_for`  |
| profile_no_data      | outage    | the device answers without any of its profile's data      |
| ups_battery_bad      | ups       | BatteryBad alarm or the UPS's replace-battery indicator   |
| ups_overload         | ups       | OutputOverload alarm or load over `ups_overload_percent`  |
| ups_selftest_failed  | ups       | last self-test doneError, or DiagnosticTestFailed alarm   |
| nas_volume_degraded  | host      | a NAS volume degraded (warning) or crashed (critical)     |
| nas_disk_failed      | host      | a NAS disk failed (critical) or degraded (warning)        |
| firewall_sessions_high | host    | session table used_percent over `sessions_percent`        |
| host_disk_full       | host      | disk used_percent over `disk_percent` (per path)          |
| host_memory_high     | host      | mem used_percent over `mem_percent`                       |
| host_cpu_high        | host      | cpu-total 100 - usage_idle over `cpu_percent` for cpu_for |
| http_check_failed    | http      | the check answered wrongly (status, text, result_code)    |
| http_slow            | http      | response_time over `http_slow_seconds`                    |
| http_cert_expiring   | http      | TLS certificate expires within `cert_days`                |
| ping_packet_loss     | ping      | echoes lost over `ping_loss_percent` (some answered: all  |
|                      |           | lost is device_down), sustained `ping_for`                |
| ping_latency_high    | ping      | average round trip over `ping_latency_ms` for `ping_for`  |
| kiosk_paper_out      | outage    | kiosk health: printer paper out (open hours only)         |
| kiosk_printer_error  | outage    | kiosk health: printer in error (jam, fault, offline)      |
| kiosk_card_reader_fault | outage | kiosk health: card reader not ok                          |
| kiosk_toner_low      | kiosk     | kiosk health: toner level under `kiosk_toner_percent`     |
| drift                | drift     | sysObjectID, model or serial differ from the inventory    |
| cluster_zone_down    | cluster   | a cluster zone has no live node (its devices unpolled)    |
|                      |           | for `grace_seconds` (agent/cluster/zones.py observes it)  |
| lifecycle_*, support_*, warranty_*, contract_*, lease_* | lifecycle | see `lifecycle()` |

A trap's meaning (`trap()`) fires some of these at once, without their `for`: the device
reported the transition itself, and the poll the trap asks for confirms or ends it.

| meaning (profiles' `traps:`)        | fires                                               |
|-------------------------------------|-----------------------------------------------------|
| on_battery                          | ups_on_battery                                      |
| battery_low                         | ups_low_battery                                     |
| battery_replace                     | ups_battery_bad                                     |
| overload                            | ups_overload                                        |
| selftest_failed                     | ups_selftest_failed                                 |
| alarm (with a well-known alarm)     | the rule that alarm feeds in a poll (UPS_ALARM_RULES) |
| link_down (a monitored port, admin up) | interface_down                                   |
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from alerts.evaluation.thresholds import Thresholds
from alerts.model import Severity
from collectors.base import (
    CounterRate,
    HttpFacts,
    Identity,
    PollResult,
    ResultCode,
    Sample,
    SnmpFacts,
)
from collectors.snmp.traps import TrapSays
from inventory.hours import OperatingHours
from inventory.lifecycle import ContractStatus, Lifecycle, LifeStatus, SupportStatus
from inventory.model import Criticality, Device

OUTAGE = "device_down"
BAD_ANSWER = "device_bad_answer"
NO_DATA = "profile_no_data"
ZONE_DOWN = "cluster_zone_down"
CLUSTER_ZONE = "cluster_zone"              # the measurement agent/cluster/zones.py observes
UPS_REPLACE_NEEDED = 1                     # battery_replace_needed: yes
IF_UP = 1
UPS_ON_BATTERY_SOURCE = 5                  # upsOutputSource battery(5)
UPS_LOW_STATUS = (3, 4)                    # upsBatteryStatus batteryLow(3), batteryDepleted(4)
UPS_TEST_FAILED = 3                        # upsTestResultsSummary doneError(3)
# The well-known alarms (ups_alarm's `alarm` tag, an alarm trap's `alarms:` name) and the
# rule each feeds; the others are stored, and alert on nothing of their own.
UPS_ALARM_RULES = {"OnBattery": "ups_on_battery", "LowBattery": "ups_low_battery",
                   "DepletedBattery": "ups_low_battery", "BatteryBad": "ups_battery_bad",
                   "OutputOverload": "ups_overload",
                   "DiagnosticTestFailed": "ups_selftest_failed"}
# Each result code in a word for Korean text (`ResultCode.label` is the English one).
CODE_KO = {ResultCode.SUCCESS: "정상", ResultCode.TIMEOUT: "시간 초과",
           ResultCode.AUTH_FAILURE: "인증 실패", ResultCode.NO_SUCH_OBJECT: "해당 항목 없음",
           ResultCode.BAD_RESPONSE: "잘못된 응답", ResultCode.PARTIAL: "일부만 응답",
           ResultCode.CONFIG_ERROR: "설정 오류", ResultCode.CONNECTION_ERROR: "연결 실패"}
LIFECYCLE_RULES = ("lifecycle_exceeded", "lifecycle_due", "support_ended", "support_ending",
                   "warranty_ended", "warranty_ending", "contract_ended", "contract_ending",
                   "lease_ended", "lease_ending")


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """Something that holds now for one device (and instance). `for_seconds` is how
    long it must keep holding before it fires; `repeat` how often a firing alert is
    re-sent."""

    rule: str
    kind: str
    severity: Severity
    device_id: str
    instance: str = ""
    for_seconds: float = 0.0
    repeat: float = 0.0
    value: float | None = None
    summary: str = ""
    summary_ko: str = ""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The rules checked for one device and the conditions active among them."""

    device_id: str
    checked: frozenset[str] = frozenset()
    active: tuple[Condition, ...] = ()


class _Builder:
    """Collects the conditions of one evaluation with the device's defaults filled in."""

    def __init__(self, device: Device, repeat: float) -> None:
        self.device, self.repeat = device, repeat
        self.checked: set[str] = set()
        self.active: list[Condition] = []

    def check(self, *rules: str) -> None:
        self.checked.update(rules)

    def add(self, rule: str, kind: str, severity: Severity, en: str, ko: str, *,
            instance: str = "", for_seconds: float = 0.0, value: float | None = None,
            repeat: float | None = None) -> None:
        name = self.device.name
        self.checked.add(rule)
        self.active.append(Condition(
            rule=rule, kind=kind, severity=severity, device_id=self.device.id,
            instance=instance, for_seconds=for_seconds,
            repeat=self.repeat if repeat is None else repeat, value=value,
            summary=f"{name}: {en}", summary_ko=f"{name}: {ko}"))

    def done(self) -> Evaluation:
        return Evaluation(self.device.id, frozenset(self.checked), tuple(self.active))


def outage_severity(device: Device) -> Severity:
    important = device.criticality in (Criticality.CRITICAL, Criticality.HIGH)
    return Severity.CRITICAL if important else Severity.WARNING


def is_open(device: Device, now: datetime, zone: ZoneInfo) -> bool:
    """Whether the device is expected to answer now (its opening hours, if any)."""
    if not device.operating_hours:
        return True
    return OperatingHours.parse(device.operating_hours).is_open(now, zone)


def poll(result: PollResult, device: Device, t: Thresholds, now: datetime,
         zone: ZoneInfo) -> Evaluation:
    """Every poll rule for one result. Outside opening hours a failed poll is not
    checked at all (it does not count); a poll that answers still clears an outage."""
    b = _Builder(device, t.repeat)
    if not result.reachable:
        if is_open(device, now, zone):
            b.add(OUTAGE, "outage", outage_severity(device),
                  f"unreachable ({result.code.label}{': ' + result.error if result.error else ''})",
                  f"응답 없음 ({CODE_KO[result.code]})", repeat=t.outage_repeat)
        return b.done()
    _answer(b, device, t, result)
    by_measurement = _group(result.samples)
    rates = result.facts.rates if isinstance(result.facts, SnmpFacts) else ()
    _interfaces(b, device, t, by_measurement.get("interface", []), rates)
    _ups(b, t, by_measurement)
    _host(b, t, by_measurement)
    _appliance(b, t, by_measurement)
    _http(b, device, t, result, by_measurement.get("http_response", []))
    _ping(b, t, by_measurement.get("ping", []))
    _kiosk(b, device, t, by_measurement.get("kiosk", []), is_open(device, now, zone))
    _drift(b, device, result)
    _cluster_zone(b, by_measurement.get(CLUSTER_ZONE, []))
    return b.done()


def _answer(b: _Builder, device: Device, t: Thresholds, result: PollResult) -> None:
    """What the answer itself says. Only a usable answer (success, partial) ends an
    outage: a device that answers badly is a finding, never "back up". An HTTP check's
    bad answer is `http_check_failed`'s to report."""
    code = result.code
    if code.answered_well:
        b.check(OUTAGE, BAD_ANSWER, NO_DATA)
        return
    why = result.error or code.label
    # In Korean the code's word; the collector's message (English, or the device's own
    # words) follows as data when there is one.
    why_ko = CODE_KO[code] + (f": {result.error}" if result.error else "")
    if code is ResultCode.NO_SUCH_OBJECT:
        b.check(BAD_ANSWER)
        b.add(NO_DATA, "outage", Severity.WARNING, f"answers without its data: {why}",
              f"응답은 하지만 수집할 데이터가 없음 ({why_ko})", for_seconds=t.bad_answer_for)
        return
    if device.poll is not None and device.poll.protocol == "http":
        return
    b.add(BAD_ANSWER, "outage", Severity.WARNING, f"answers badly: {why}",
          f"비정상 응답 ({why_ko})", for_seconds=t.bad_answer_for)


def _group(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    grouped: dict[str, list[Sample]] = {}
    for sample in samples:
        grouped.setdefault(sample.measurement, []).append(sample)
    return grouped


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# ---- interface ---------------------------------------------------------------------

def _interfaces(b: _Builder, device: Device, t: Thresholds, rows: list[Sample],
                rates: tuple[CounterRate, ...]) -> None:
    if not rows:
        return
    monitored = set(device.poll.monitored_interfaces) if device.poll else set()
    b.check("interface_down", "interface_errors", "interface_discards")
    names: dict[str, str] = {}
    for row in rows:
        name = row.tags.get("ifName") or row.tags.get("ifDescr") or row.tags.get("ifIndex", "")
        names[row.tags.get("ifIndex", "")] = name
        # The instance is the name the inventory gave, so it stays put whichever of
        # ifName/ifDescr the device reports.
        watched = next((n for n in (name, row.tags.get("ifDescr")) if n in monitored), None)
        oper, admin = _num(row.fields.get("ifOperStatus")), _num(row.fields.get("ifAdminStatus"))
        if watched and oper is not None and oper != IF_UP and admin in (None, IF_UP):
            b.add("interface_down", "interface", Severity.CRITICAL, f"uplink {watched} is down",
                  f"업링크 {watched} 다운", instance=watched, for_seconds=t.interface_down_for,
                  value=oper)
    worst: dict[tuple[str, str], float] = {}
    for rate in rates:
        if rate.measurement != "interface":
            continue
        kind = {"in_errors": "errors", "out_errors": "errors",
                "in_discards": "discards", "out_discards": "discards"}.get(rate.name)
        name = names.get(rate.row, rate.row)
        if kind and (not monitored or name in monitored):
            key = (kind, name)
            worst[key] = max(worst.get(key, 0.0), rate.per_second)
    for (kind, name), per_second in sorted(worst.items()):
        limit = t.interface_error_rate if kind == "errors" else t.interface_discard_rate
        if per_second > limit:
            ko = "오류" if kind == "errors" else "폐기"
            b.add(f"interface_{kind}", "interface", Severity.WARNING,
                  f"{name}: {per_second:.1f} {kind}/s (over {limit:g})",
                  f"{name}: 초당 {ko} {per_second:.1f}건 (기준 {limit:g})",
                  instance=name, value=round(per_second, 3))


# ---- UPS ---------------------------------------------------------------------------

def _ups(b: _Builder, t: Thresholds, m: dict[str, list[Sample]]) -> None:
    if "ups" not in m:
        return
    b.check("ups_on_battery", "ups_low_battery", "ups_battery_bad", "ups_overload",
            "ups_selftest_failed")
    f = m["ups"][0].fields
    alarmed = {UPS_ALARM_RULES.get(s.tags.get("alarm", "")) for s in m.get("ups_alarm", [])}
    source, on_battery_s = _num(f.get("output_source")), _num(f.get("seconds_on_battery"))
    on_battery = (source == UPS_ON_BATTERY_SOURCE or bool(on_battery_s)
                  or "ups_on_battery" in alarmed)
    if on_battery:
        b.add("ups_on_battery", "ups", Severity.CRITICAL, "on battery (utility power lost)",
              "배터리로 운전 중 (상용전원 끊김)", for_seconds=t.ups_for, value=on_battery_s)
    charge, minutes = _num(f.get("battery_charge")), _num(f.get("minutes_remaining"))
    low = (_num(f.get("battery_status")) in UPS_LOW_STATUS or "ups_low_battery" in alarmed
           or (charge is not None and charge < t.ups_charge_percent)
           or (on_battery and minutes is not None and minutes < t.ups_minutes))
    if low:
        b.add("ups_low_battery", "ups", Severity.CRITICAL,
              f"battery low ({_pct(charge)}, {_mins(minutes)} left)",
              f"배터리 부족 (잔량 {_pct(charge)}, {_mins_ko(minutes)} 남음)", value=charge)
    if ("ups_battery_bad" in alarmed
            or _num(f.get("battery_replace_needed")) == UPS_REPLACE_NEEDED):
        b.add("ups_battery_bad", "ups", Severity.WARNING, "battery needs replacing",
              "배터리 교체 필요")
    loads = [v for s in m.get("ups_output", [])
             if (v := _num(s.fields.get("percent_load"))) is not None]
    load = max(loads) if loads else None
    if "ups_overload" in alarmed or (load is not None and load > t.ups_overload_percent):
        b.add("ups_overload", "ups", Severity.WARNING, f"output overload ({_pct(load)} load)",
              f"출력 과부하 (부하 {_pct(load)})", for_seconds=t.ups_for, value=load)
    if _num(f.get("test_result")) == UPS_TEST_FAILED or "ups_selftest_failed" in alarmed:
        b.add("ups_selftest_failed", "ups", Severity.WARNING, "self-test failed",
              "자가진단 실패")


@dataclass(frozen=True, slots=True)
class _Said:
    """A UPS condition a trap asserts: the poll rule's kind and severity, and its words."""

    kind: str
    severity: Severity
    en: str
    ko: str


_TRAP_UPS = {
    "ups_on_battery": _Said("ups", Severity.CRITICAL,
                            "on battery (utility power lost; said by its trap)",
                            "배터리로 운전 중 (상용전원 끊김, 트랩 수신)"),
    "ups_low_battery": _Said("ups", Severity.CRITICAL, "battery low (said by its trap)",
                             "배터리 부족 (트랩 수신)"),
    "ups_battery_bad": _Said("ups", Severity.WARNING,
                             "battery needs replacing (said by its trap)",
                             "배터리 교체 필요 (트랩 수신)"),
    "ups_overload": _Said("ups", Severity.WARNING, "output overload (said by its trap)",
                          "출력 과부하 (트랩 수신)"),
    "ups_selftest_failed": _Said("ups", Severity.WARNING, "self-test failed (said by its trap)",
                                 "자가진단 실패 (트랩 수신)"),
}
TRAP_MEANING_RULES = {"on_battery": "ups_on_battery", "battery_low": "ups_low_battery",
                      "battery_replace": "ups_battery_bad", "overload": "ups_overload",
                      "selftest_failed": "ups_selftest_failed"}


def trap(says: TrapSays, device: Device, t: Thresholds) -> Evaluation:
    """What a trap's meaning (a profile's `traps:`) says at once (the table above). The
    device reported a transition itself, so there is no `for` to wait; the poll the trap
    asks for confirms or ends it. A trap checks nothing, so it clears nothing: a linkDown
    on one port must not end another port's alert, a linkUp leaves the ending to the poll."""
    b = _Builder(device, t.repeat)
    if says.meaning == "link_down":
        _port_down(b, device, says)
    rule = (UPS_ALARM_RULES.get(says.alarm or "") if says.meaning == "alarm"
            else TRAP_MEANING_RULES.get(says.meaning))
    said = _TRAP_UPS.get(rule or "")
    if rule and said:
        b.add(rule, said.kind, said.severity, said.en, said.ko)
    return Evaluation(device.id, frozenset(), tuple(b.active))


def _port_down(b: _Builder, device: Device, says: TrapSays) -> None:
    """linkDown on a monitored port (by any name the port is known by) that is not shut
    down by its administrator: the interface alert, instance the inventory's name."""
    monitored = set(device.poll.monitored_interfaces) if device.poll else set()
    watched = next((name for name in says.ports if name in monitored), None)
    if watched is not None and says.admin_up is not False:
        b.add("interface_down", "interface", Severity.CRITICAL,
              f"uplink {watched} is down (said by its trap)", f"업링크 {watched} 다운 (트랩 수신)",
              instance=watched)


def _pct(value: float | None) -> str:
    return "?%" if value is None else f"{value:g}%"


def _mins(value: float | None) -> str:
    return "? min" if value is None else f"{value:g} min"


def _mins_ko(value: float | None) -> str:
    return "?분" if value is None else f"{value:g}분"


# ---- host (Telegraf's disk, mem, cpu) ------------------------------------------------

def _host(b: _Builder, t: Thresholds, m: dict[str, list[Sample]]) -> None:
    if "disk" in m:
        b.check("host_disk_full")
        for s in m["disk"]:
            used = _num(s.fields.get("used_percent"))
            path = s.tags.get("path", "")
            if used is not None and used > t.disk_percent:
                b.add("host_disk_full", "host", Severity.WARNING,
                      f"disk {path} {used:.0f}% full", f"디스크 {path} 사용률 {used:.0f}%",
                      instance=path, for_seconds=t.host_for, value=used)
    if "mem" in m:
        b.check("host_memory_high")
        used = _num(m["mem"][0].fields.get("used_percent"))
        if used is not None and used > t.mem_percent:
            b.add("host_memory_high", "host", Severity.WARNING, f"memory {used:.0f}% used",
                  f"메모리 사용률 {used:.0f}%", for_seconds=t.host_for, value=used)
    total = [s for s in m.get("cpu", []) if s.tags.get("cpu", "cpu-total") == "cpu-total"]
    if total:
        b.check("host_cpu_high")
        idle = _num(total[0].fields.get("usage_idle"))
        if idle is not None and 100 - idle > t.cpu_percent:
            b.add("host_cpu_high", "host", Severity.WARNING, f"CPU {100 - idle:.0f}% busy",
                  f"CPU 사용률 {100 - idle:.0f}%", for_seconds=t.cpu_for,
                  value=round(100 - idle, 1))


# ---- NAS and firewall (the vendor profiles' shared measurements) ----------------------

@dataclass(frozen=True, slots=True)
class _StatusRule:
    """A per-row health status the vendor profiles map onto one shared meaning: the
    values that are a problem, each with its severity and words."""

    rule: str
    name_tags: tuple[str, str]          # the row's name, else its index
    en: str                             # "{name}" and "{state}" filled in
    ko: str
    bad: Mapping[int, tuple[Severity, str, str]]   # status -> severity, state en, state ko


NAS_RULES = {
    "nas_volume": _StatusRule(                     # nas_volume.status
        "nas_volume_degraded", ("volume", "raidIndex"), "volume {name} {state}",
        "볼륨 {name} {state}", {2: (Severity.WARNING, "degraded", "성능 저하"),
                                3: (Severity.CRITICAL, "crashed", "손상")}),
    "nas_disk": _StatusRule(                       # nas_disk.status
        "nas_disk_failed", ("disk", "diskIndex"), "disk {name} {state}",
        "디스크 {name} {state}", {3: (Severity.WARNING, "degraded", "오류 발생"),
                                  4: (Severity.CRITICAL, "failed", "고장")}),
}


def _appliance(b: _Builder, t: Thresholds, m: dict[str, list[Sample]]) -> None:
    for measurement, r in NAS_RULES.items():
        if measurement not in m:
            continue
        b.check(r.rule)
        for s in m[measurement]:
            status = _num(s.fields.get("status"))
            found = r.bad.get(int(status)) if status is not None else None
            if found is None:
                continue
            severity, state_en, state_ko = found
            name = s.tags.get(r.name_tags[0]) or s.tags.get(r.name_tags[1], "")
            b.add(r.rule, "host", severity, r.en.format(name=name, state=state_en),
                  r.ko.format(name=name, state=state_ko), instance=name)
    if "firewall_sessions" in m:
        b.check("firewall_sessions_high")
        used = _num(m["firewall_sessions"][0].fields.get("used_percent"))
        if used is not None and used > t.sessions_percent:
            b.add("firewall_sessions_high", "host", Severity.WARNING,
                  f"session table {used:.0f}% full", f"세션 테이블 사용률 {used:.0f}%",
                  for_seconds=t.host_for, value=used)


# ---- HTTP ---------------------------------------------------------------------------

def _http(b: _Builder, device: Device, t: Thresholds, result: PollResult,
          rows: list[Sample]) -> None:
    if not rows and not (device.poll and device.poll.protocol == "http"):
        return
    b.check("http_check_failed", "http_slow")
    f = rows[0].fields if rows else {}
    telegraf_code = _num(f.get("result_code"))
    if result.code in (ResultCode.BAD_RESPONSE, ResultCode.AUTH_FAILURE) or telegraf_code:
        status = f.get("http_response_code")
        b.add("http_check_failed", "http", Severity.CRITICAL,
              f"check failed ({result.error or f'status {status}'})",
              f"점검 실패 ({result.error or f'상태 {status}'})", for_seconds=t.http_for,
              value=_num(status))
    elapsed = _num(f.get("response_time"))
    if elapsed is not None and elapsed > t.http_slow_seconds:
        b.add("http_slow", "http", Severity.WARNING, f"slow: {elapsed:.2f} s",
              f"응답 지연 {elapsed:.2f}초", for_seconds=t.http_for, value=elapsed)
    days = result.facts.cert_expiry_days if isinstance(result.facts, HttpFacts) else None
    if days is not None:
        b.check("http_cert_expiring")
        if days < t.cert_days:
            expired = days <= 0
            b.add("http_cert_expiring", "http",
                  Severity.CRITICAL if expired else Severity.WARNING,
                  "TLS certificate expired" if expired
                  else f"TLS certificate expires in {days:.0f} days",
                  "TLS 인증서 만료됨" if expired else f"TLS 인증서 {days:.0f}일 후 만료",
                  value=days, repeat=max(t.repeat, 86400.0))


# ---- ping (Telegraf's ping) -------------------------------------------------------------

def _ping(b: _Builder, t: Thresholds, rows: list[Sample]) -> None:
    """Loss and latency of a ping that was answered at all (every echo lost is an
    unreachable result, `device_down`'s). Sustained `ping_for`: one lost echo in a
    poll of three is a third lost, and must not page anyone by itself."""
    if not rows:
        return
    b.check("ping_packet_loss", "ping_latency_high")
    f = rows[0].fields
    loss, average = _num(f.get("percent_packet_loss")), _num(f.get("average_response_ms"))
    if loss is not None and loss > t.ping_loss_percent:
        b.add("ping_packet_loss", "ping", Severity.WARNING,
              f"{loss:.0f}% of echo requests lost (over {t.ping_loss_percent:g}%)",
              f"핑 손실률 {loss:.0f}% (기준 {t.ping_loss_percent:g}%)",
              for_seconds=t.ping_for, value=loss)
    if average is not None and average > t.ping_latency_ms:
        b.add("ping_latency_high", "ping", Severity.WARNING,
              f"round trip {average:.0f} ms (over {t.ping_latency_ms:g} ms)",
              f"응답 지연 {average:.0f} ms (기준 {t.ping_latency_ms:g} ms)",
              for_seconds=t.ping_for, value=average)


# ---- kiosk health (profile: kiosk) -----------------------------------------------------
#
# The `kiosk` point flattens the health JSON (collectors/http/kiosk.py): strings are tags
# (`printer_paper=out`, `card_reader_state=error`), numbers and booleans fields
# (`printer_paper_level`, `card_reader_ok`). A kiosk that cannot print or read ID cards
# cannot issue anything: for its users that is an outage, so these are outage-kind alerts,
# gated by opening hours like `device_down`.

KIOSK_PAPER_OUT = ("out", "empty", "none")
KIOSK_FAULTS = ("error", "fault", "failed", "jam", "jammed", "offline", "disconnected")
KIOSK_OUTAGE_RULES = ("kiosk_paper_out", "kiosk_printer_error", "kiosk_card_reader_fault")


def _kiosk(b: _Builder, device: Device, t: Thresholds, rows: list[Sample],
           open_now: bool) -> None:
    """Outside opening hours a fault that holds is not checked (left as it was: no new
    alert overnight, no false recovery); one that cleared still clears."""
    if not rows:
        return
    tags, f = rows[0].tags, rows[0].fields
    severity = outage_severity(device)
    faults = {
        "kiosk_paper_out": (
            _word(tags, "printer_paper") in KIOSK_PAPER_OUT
            or _num(f.get("printer_paper_level")) == 0,
            "printer out of paper", "용지 없음"),
        "kiosk_printer_error": (
            _word(tags, "printer_state", "printer_status") in KIOSK_FAULTS
            or _num(f.get("printer_ok")) == 0 or bool(_num(f.get("printer_error"))),
            f"printer error ({_word(tags, 'printer_state', 'printer_status') or 'fault'})",
            f"프린터 오류 ({_fault_ko(_word(tags, 'printer_state', 'printer_status'))})"),
        "kiosk_card_reader_fault": (
            _word(tags, "card_reader_state", "card_reader_status") in KIOSK_FAULTS
            or _num(f.get("card_reader_ok")) == 0,
            "card reader fault", "카드 리더기 고장"),
    }
    for rule, (holds, en, ko) in faults.items():
        if not holds:
            b.check(rule)
        elif open_now:
            b.add(rule, "outage", severity, en, ko, for_seconds=t.kiosk_for,
                  repeat=t.outage_repeat)
    toner = _num(f.get("printer_toner_level"))
    if toner is not None:
        b.check("kiosk_toner_low")
        if toner < t.kiosk_toner_percent:
            b.add("kiosk_toner_low", "kiosk", Severity.WARNING, f"toner low ({toner:g}%)",
                  f"토너 부족 ({toner:g}%)", value=toner)


# The fault words kiosks report, in Korean; another word is the device's and shown as is.
_FAULT_KO = {"": "고장", "error": "오류", "fault": "고장", "failed": "고장", "jam": "용지 걸림",
             "jammed": "용지 걸림", "offline": "연결 끊김", "disconnected": "연결 끊김"}


def _fault_ko(word: str) -> str:
    return _FAULT_KO.get(word, word)


def _word(tags: Mapping[str, str], *names: str) -> str:
    """The first of the named tags present, lower-cased ("" when none is)."""
    return next((tags[n].strip().casefold() for n in names if tags.get(n)), "")


# ---- drift ---------------------------------------------------------------------------

def _drift(b: _Builder, device: Device, result: PollResult) -> None:
    said = result.identity
    if said is None:
        return
    b.check("drift")
    for name, expected, actual in _drift_pairs(device, said):
        if expected is None or actual is None or _placeholder(name, actual):
            continue
        if _normal(name, expected) != _normal(name, actual):
            b.add("drift", "drift", Severity.WARNING,
                  f"{name} is {actual!r}, inventory says {expected!r}",
                  f"{_DRIFT_KO[name]} 불일치: 장비 {actual!r}, 자산대장 {expected!r}",
                  instance=name)


_DRIFT_KO = {"sys_object_id": "장비 종류 OID", "model": "모델명", "serial": "일련번호"}


def _drift_pairs(device: Device, said: Identity
                 ) -> Iterator[tuple[str, str | None, str | None]]:
    yield "sys_object_id", device.sys_object_id, said.sys_object_id
    yield "model", device.model, said.model
    yield "serial", device.serial, said.serial


# What devices put where a model should be when they do not know it: a Ubiquoss chassis
# calls its model "CHASSIS". Never drift: nothing was said.
PLACEHOLDER_MODELS = frozenset({"", "chassis", "unknown", "n/a", "na", "none", "null",
                                "default", "-", "0"})


def _placeholder(name: str, value: str) -> bool:
    return name in ("model", "serial") and value.strip().casefold() in PLACEHOLDER_MODELS


def _normal(name: str, value: str) -> str:
    return value.strip().lstrip(".") if name == "sys_object_id" else value.strip().casefold()


# ---- cluster zones ---------------------------------------------------------------------

def _cluster_zone(b: _Builder, rows: list[Sample]) -> None:
    """A zone of the cluster as its subject (agent/cluster/zones.py): how many live
    nodes it has; none, for `grace_seconds`, is an alert (its devices go unpolled)."""
    for row in rows:
        b.check(ZONE_DOWN)
        live, grace = _num(row.fields.get("live_nodes")), _num(row.fields.get("grace_seconds"))
        if live is not None and live <= 0:
            zone = row.tags.get("zone", "")
            b.add(ZONE_DOWN, "cluster", Severity.CRITICAL,
                  f"no live node in cluster zone {zone}: its devices are not polled",
                  f"클러스터 구역 {zone}에 동작 중인 노드가 없음: 이 구역의 장비를 수집하지 않음",
                  for_seconds=grace or 0.0, value=0.0)


# ---- lifecycle -------------------------------------------------------------------------

def lifecycle(device: Device, life: Lifecycle, t: Thresholds) -> Evaluation:
    """One alert per asset and reason; re-sent every `lifecycle_repeat` (monthly)."""
    b = _Builder(device, t.lifecycle_repeat)
    b.check(*LIFECYCLE_RULES)
    if life.status is LifeStatus.EXCEEDED:
        b.add("lifecycle_exceeded", "lifecycle", Severity.WARNING,
              f"service life ended {life.life_ends} ({life.years_elapsed} years in service)",
              f"내용연수 경과 ({life.life_ends} 종료, {life.years_elapsed}년 사용)")
    elif life.status is LifeStatus.DUE:
        b.add("lifecycle_due", "lifecycle", Severity.INFO,
              f"service life ends {life.life_ends}", f"내용연수 {life.life_ends} 도래")
    if life.support is SupportStatus.UNSUPPORTED:
        b.add("support_ended", "lifecycle", Severity.WARNING,
              f"vendor support ended {life.support_ends}",
              f"제조사 기술지원 종료 ({life.support_ends})")
    elif life.support is SupportStatus.SUPPORT_ENDING:
        when = life.support_ends or "soon"
        b.add("support_ending", "lifecycle", Severity.INFO, f"vendor support ends {when}",
              f"제조사 기술지원 종료 예정 ({when})")
    for contract in life.contracts:
        _contract(b, contract.kind, contract.ends, contract.status)
    return b.done()


_CONTRACT_KO = {"warranty": "무상보증", "contract": "유지보수 계약", "lease": "임차 계약"}


def _contract(b: _Builder, kind: str, ends: date, status: ContractStatus) -> None:
    ko = _CONTRACT_KO.get(kind, kind)
    if status is ContractStatus.ENDED:
        b.add(f"{kind}_ended", "lifecycle", Severity.WARNING, f"{kind} ended {ends}",
              f"{ko} 종료 ({ends})")
    elif status is ContractStatus.ENDING:
        b.add(f"{kind}_ending", "lifecycle", Severity.INFO, f"{kind} ends {ends}",
              f"{ko} 종료 예정 ({ends})")

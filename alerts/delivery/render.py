"""Human text for a group of notifications, in Korean or English.

Used by the email subject and body, the Slack and Teams bodies and the log channel, so
every channel says the same thing in the same words. Times are shown in the agent's
timezone (Asia/Seoul by default) with its abbreviation, durations in the channel's
language ("1분 37초", "1 min 37 s").

A message says where: the device's site, its location when the inventory has one, and
its address (`Place`, looked up by device id in the inventory the channels were built
from). A recovery leads with what recovered ("복구: PC-01: 응답 재개"), not with the
summary it fired with; each rule's words are in `rule_texts`.

Summaries, descriptions and names carry device text (a sysName, an ifAlias, a serial):
each line made here, and the subject, is one line without control characters
(`config.printable`), so a device can neither add a line that looks like ours nor send a
terminal escape sequence. Markup escaping is each channel's own (channels/_escape.py).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal
from urllib.parse import urlsplit

from alerts.delivery.rule_texts import rule_text
from alerts.model import Alert, Notification
from config.printable import printable
from inventory.model import Device

Lang = Literal["ko", "en"]

_EVENT = {
    "ko": {"firing": "발생", "repeat": "지속", "resolved": "복구", "flapping": "불안정(반복 발생)"},
    "en": {"firing": "FIRING", "repeat": "STILL FIRING", "resolved": "RESOLVED",
           "flapping": "FLAPPING"},
}
_SEVERITY = {"ko": {"critical": "심각", "warning": "경고", "info": "정보"},
             "en": {"critical": "critical", "warning": "warning", "info": "info"}}
_WORDS = {
    "ko": {"alerts": "건", "started": "시작", "ended": "종료", "lasted": "지속 시간",
           "device": "장비", "instance": "대상", "value": "측정값", "where": "위치",
           "was": "경보 내용", "behind": "하위 장비 {n}대 응답 없음",
           "group": "그룹", "footer": "Lifeline 알림"},
    "en": {"alerts": " alerts", "started": "Started", "ended": "Ended", "lasted": "lasted",
           "device": "Device", "instance": "Instance", "value": "Value", "where": "Where",
           "was": "Alert", "behind": "{n} devices behind it unreachable", "group": "Group",
           "footer": "Lifeline alerting"},
}
# (unit size in seconds, Korean, English), largest first.
_DURATION_UNITS = ((86400, "일", "d"), (3600, "시간", "h"), (60, "분", "min"), (1, "초", "s"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """Where a device is, as the inventory says: each part "" when unknown."""

    site: str = ""
    location: str = ""
    address: str = ""          # the polled host (name or IP), or an HTTP check's host


def places(devices: Iterable[Device]) -> dict[str, Place]:
    """Each device's place, by id."""
    return {d.id: Place(site=d.site or "", location=d.location or "", address=_address(d))
            for d in devices}


def _address(device: Device) -> str:
    if device.poll is None:
        return ""
    if device.poll.address:
        return device.poll.address
    return (urlsplit(device.poll.url).hostname or "") if device.poll.url else ""


def place_of(alert: Alert, known: Mapping[str, Place]) -> Place:
    """The alert's device's place; for a device no longer in the inventory, the site it
    fired with (its `site` label)."""
    return known.get(alert.device_id) or Place(site=alert.labels.get("site", ""))


def where(place: Place) -> str:
    """`hall · 3F server room · 10.0.0.5`: the parts known, "" when none is."""
    return " · ".join(p for p in (place.site, place.location, place.address) if p)


def duration(seconds: float, lang: Lang) -> str:
    """Whole seconds in words: "1분 37초", "1 min 37 s"; "0초"/"0 s" under a second."""
    rest, parts = round(max(0.0, seconds)), []
    for size, ko, en in _DURATION_UNITS:
        if rest >= size:
            count, rest = divmod(rest, size)
            parts.append(f"{count}{ko}" if lang == "ko" else f"{count} {en}")
    return " ".join(parts) or ("0초" if lang == "ko" else "0 s")


def summary(alert: Alert, lang: Lang) -> str:
    """The one-line summary in `lang`, falling back to the other language, then to ids."""
    first, second = ((alert.summary_ko, alert.summary) if lang == "ko"
                     else (alert.summary, alert.summary_ko))
    return first or second or " ".join(filter(None, (alert.rule, alert.device_id, alert.instance)))


def headline(notification: Notification, lang: Lang) -> str:
    """What a message leads with: the summary, or for a recovery what recovered
    ("PC-01: 응답 재개"), or why the alert ended when it ended without clearing (the
    evaluating side's description, e.g. "device retired: no longer monitored")."""
    alert = notification.alert
    if notification.event != "resolved":
        return summary(alert, lang)
    name = alert.labels.get("device_name") or alert.device_id
    if why := own_description(alert, lang):
        return f"{name}: {why}"
    text = rule_text(alert.rule)
    if text is None:
        return summary(alert, lang)
    phrase = text.recovered_ko if lang == "ko" else text.recovered
    return f"{name}: {phrase.format(instance=alert.instance)}"


def rule_description(alert: Alert, lang: Lang) -> str:
    """What the alert's rule checks and where to look ("" for a rule without texts)."""
    text = rule_text(alert.rule)
    if text is None:
        return ""
    return text.description_ko if lang == "ko" else text.description


def own_description(alert: Alert, lang: Lang) -> str:
    """What the evaluating side said of this alert (why it ended without clearing), ""
    when it said nothing but the devices behind it (shown on their own line)."""
    first, second = ((alert.description_ko, alert.description) if lang == "ko"
                     else (alert.description, alert.description_ko))
    text = first or second
    return "" if text == ", ".join(alert.suppressed) else text


def description(alert: Alert, lang: Lang) -> str:
    """The rule's description, then what the evaluating side added: the `description`
    of Alertmanager's annotations and of the webhook JSON."""
    return " ".join(t for t in (rule_description(alert, lang), own_description(alert, lang))
                    if t)


def group_status(notifications: Sequence[Notification]) -> str:
    """`resolved` when every notification in the group is a recovery, else `firing`."""
    return "resolved" if all(n.event == "resolved" for n in notifications) else "firing"


def event_word(notification: Notification, lang: Lang) -> str:
    key = "flapping" if notification.alert.flapping and notification.event != "resolved" \
        else notification.event
    return _EVENT[lang][key]


def local_time(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def subject(notifications: Sequence[Notification], group: Mapping[str, str],
            lang: Lang) -> str:
    """`[Lifeline] 발생: summary` for one alert; `[Lifeline] 발생 3건: outage, hall` for more."""
    words = _WORDS[lang]
    status = _EVENT[lang][group_status(notifications)]
    if len(notifications) == 1:
        n = notifications[0]
        return printable(f"[Lifeline] {event_word(n, lang)}: {headline(n, lang)}")
    about = ", ".join(v for v in group.values() if v) or words["group"]
    return printable(f"[Lifeline] {status} {len(notifications)}{words['alerts']}: {about}")


def alert_lines(notification: Notification, lang: Lang, zone: tzinfo,
                known: Mapping[str, Place] | None = None) -> list[str]:
    """The lines that describe one notification: headline, then indented details; each
    one line, without control characters. `known` are the inventory's places."""
    alert, words = notification.alert, _WORDS[lang]
    resolved = notification.event == "resolved"
    severity = _SEVERITY[lang].get(alert.severity.value, alert.severity.value)
    lines = [f"[{event_word(notification, lang)}] {severity} · {headline(notification, lang)}"]
    if resolved:
        lines.append(f"  {words['was']}: {summary(alert, lang)}")
    name = alert.labels.get("device_name")
    device = f"{alert.device_id} ({name})" if name and name != alert.device_id else alert.device_id
    lines.append(f"  {words['device']}: {device}")
    if at := where(place_of(alert, known or {})):
        lines.append(f"  {words['where']}: {at}")
    if alert.instance:
        lines.append(f"  {words['instance']}: {alert.instance}")
    if alert.value is not None and not resolved:
        lines.append(f"  {words['value']}: {alert.value:g}")
    if not resolved and (text := description(alert, lang)):
        lines.append(f"  {text}")
    lines.append(f"  {words['started']}: {local_time(alert.starts_at, zone)}")
    if resolved and alert.ends_at is not None:
        lasted = duration((alert.ends_at - alert.starts_at).total_seconds(), lang)
        lines.append(f"  {words['ended']}: {local_time(alert.ends_at, zone)} "
                     f"({words['lasted']} {lasted})")
    if alert.suppressed:
        lines.append("  " + words["behind"].format(n=len(alert.suppressed)) + ": "
                     + ", ".join(alert.suppressed[:20])
                     + (" …" if len(alert.suppressed) > 20 else ""))
    return [printable(line) for line in lines]


def body(notifications: Sequence[Notification], group: Mapping[str, str], lang: Lang,
         zone: tzinfo, known: Mapping[str, Place] | None = None) -> str:
    """A plain-text message: the group, then a paragraph per notification."""
    words = _WORDS[lang]
    parts = []
    labels = ", ".join(f"{k}={v}" for k, v in group.items() if v)
    if labels:
        parts.append(printable(f"{words['group']}: {labels}"))
    for notification in notifications:
        parts.append("\n".join(alert_lines(notification, lang, zone, known)))
    parts.append(f"-- \n{words['footer']}")
    return "\n\n".join(parts) + "\n"

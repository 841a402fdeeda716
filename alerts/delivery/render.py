"""Human text for a group of notifications, in Korean or English.

Used by the email subject and body, the Slack and Teams bodies and the log channel, so
every channel says the same thing in the same words. Times are shown in the agent's
timezone (Asia/Seoul by default) with its abbreviation.

Summaries, descriptions and names carry device text (a sysName, an ifAlias, a serial):
each line made here, and the subject, is one line without control characters
(`config.printable`), so a device can neither add a line that looks like ours nor send a
terminal escape sequence. Markup escaping is each channel's own (channels/_escape.py).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Literal

from alerts.model import Alert, Notification
from config.durations import format_duration
from config.printable import printable

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
           "device": "장비", "instance": "대상", "value": "측정값",
           "behind": "하위 장비 {n}대 응답 없음",
           "group": "그룹", "footer": "Lifeline 알림"},
    "en": {"alerts": " alerts", "started": "Started", "ended": "Ended", "lasted": "lasted",
           "device": "Device", "instance": "Instance", "value": "Value",
           "behind": "{n} devices behind it unreachable", "group": "Group",
           "footer": "Lifeline alerting"},
}


def summary(alert: Alert, lang: Lang) -> str:
    """The one-line summary in `lang`, falling back to the other language, then to ids."""
    first, second = ((alert.summary_ko, alert.summary) if lang == "ko"
                     else (alert.summary, alert.summary_ko))
    return first or second or " ".join(filter(None, (alert.rule, alert.device_id, alert.instance)))


def description(alert: Alert, lang: Lang) -> str:
    first, second = ((alert.description_ko, alert.description) if lang == "ko"
                     else (alert.description, alert.description_ko))
    return first or second


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
        return printable(f"[Lifeline] {event_word(n, lang)}: {summary(n.alert, lang)}")
    about = ", ".join(v for v in group.values() if v) or words["group"]
    return printable(f"[Lifeline] {status} {len(notifications)}{words['alerts']}: {about}")


def alert_lines(notification: Notification, lang: Lang, zone: tzinfo) -> list[str]:
    """The lines that describe one notification: headline, then indented details; each
    one line, without control characters."""
    alert, words = notification.alert, _WORDS[lang]
    severity = _SEVERITY[lang].get(alert.severity.value, alert.severity.value)
    lines = [f"[{event_word(notification, lang)}] {severity} · {summary(alert, lang)}"]
    name = alert.labels.get("device_name")
    device = f"{alert.device_id} ({name})" if name and name != alert.device_id else alert.device_id
    lines.append(f"  {words['device']}: {device}")
    if alert.instance:
        lines.append(f"  {words['instance']}: {alert.instance}")
    if alert.value is not None:
        lines.append(f"  {words['value']}: {alert.value:g}")
    if text := description(alert, lang):
        lines.append(f"  {text}")
    lines.append(f"  {words['started']}: {local_time(alert.starts_at, zone)}")
    if notification.event == "resolved" and alert.ends_at is not None:
        lasted = format_duration(max(0.0, (alert.ends_at - alert.starts_at).total_seconds()))
        lines.append(f"  {words['ended']}: {local_time(alert.ends_at, zone)} "
                     f"({words['lasted']} {lasted})")
    if alert.suppressed:
        lines.append("  " + words["behind"].format(n=len(alert.suppressed)) + ": "
                     + ", ".join(alert.suppressed[:20])
                     + (" …" if len(alert.suppressed) > 20 else ""))
    return [printable(line) for line in lines]


def body(notifications: Sequence[Notification], group: Mapping[str, str], lang: Lang,
         zone: tzinfo) -> str:
    """A plain-text message: the group, then a paragraph per notification."""
    words = _WORDS[lang]
    parts = []
    labels = ", ".join(f"{k}={v}" for k, v in group.items() if v)
    if labels:
        parts.append(printable(f"{words['group']}: {labels}"))
    for notification in notifications:
        parts.append("\n".join(alert_lines(notification, lang, zone)))
    parts.append(f"-- \n{words['footer']}")
    return "\n\n".join(parts) + "\n"

"""Webhook channel: one HTTP POST per group, as Lifeline JSON, Slack or Microsoft Teams.

The `json` body is documented in docs/channels.md; it follows
the shape of Alertmanager's webhook so existing receivers need little change. Slack and
Teams bodies are markup: every line in them goes through `_escape` (device text must not
mention, link or format). Teams has two: `teams`, the Office 365 connector's MessageCard
(being retired), and `teams_adaptive`, the Workflows webhook's message with an Adaptive
Card ("Post to a channel when a webhook request is received").
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from alerts.delivery import render
from alerts.delivery.channels._common import delivery_id, post_json, reveal
from alerts.delivery.channels._escape import adaptive_run, slack_mrkdwn, teams_markdown
from alerts.delivery.routing import alert_labels
from alerts.model import Notification
from config.model import SecretRef

SLACK_MAX_ALERTS = 40          # Slack takes at most 50 blocks per message
TEAMS_MAX_ALERTS = 20          # a Teams message holds about 28 KB
_TEAMS_COLOUR = {"firing": "D7263D", "resolved": "2EB67D"}
_ADAPTIVE_COLOUR = {"firing": "Attention", "resolved": "Good"}
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def _time(moment: datetime | None, zone: tzinfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat()


def _common_labels(labels: Sequence[Mapping[str, str]]) -> dict[str, str]:
    first = dict(labels[0]) if labels else {}
    return {k: v for k, v in first.items() if all(other.get(k) == v for other in labels[1:])}


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookChannel:
    name: str
    url: str
    format: str = "json"                        # json | slack | teams | teams_adaptive
    headers: tuple[tuple[str, str], ...] = ()
    token: SecretRef | None = None
    timeout: float = 10.0
    lang: render.Lang = "ko"
    zone: tzinfo
    ca_file: str | None = None
    places: Mapping[str, render.Place] = field(default_factory=dict)   # by device id

    def send(self, notifications: Sequence[Notification], group: Mapping[str, str]) -> None:
        headers = dict(self.headers)
        headers["Idempotency-Key"] = delivery_id(self.name, notifications)
        if self.token is not None:
            headers["Authorization"] = f"Bearer {reveal(self.token, self.name)}"
        post_json(self.url, self.body(notifications, group), headers=headers,
                  timeout=self.timeout, ca_file=self.ca_file)

    def body(self, notifications: Sequence[Notification],
             group: Mapping[str, str]) -> dict[str, Any]:
        build: Callable[..., dict[str, Any]] = _BODIES[self.format]
        return build(self, notifications, group)

    def _json(self, notifications: Sequence[Notification],
              group: Mapping[str, str]) -> dict[str, Any]:
        alerts = [self._json_alert(n) for n in notifications]
        return {
            "version": "1",
            "receiver": self.name,
            "status": render.group_status(notifications),
            "groupKey": ",".join(f"{k}={v}" for k, v in group.items()),
            "groupLabels": dict(group),
            "commonLabels": _common_labels([a["labels"] for a in alerts]),
            "deliveryId": delivery_id(self.name, notifications),
            "title": render.subject(notifications, group, self.lang),
            "alerts": alerts,
        }

    def _json_alert(self, notification: Notification) -> dict[str, Any]:
        alert = notification.alert
        annotations = {"summary": render.summary(alert, self.lang),
                       "description": render.description(alert, self.lang)}
        place = render.place_of(alert, self.places)
        annotations.update({k: v for k, v in (("location", place.location),
                                              ("address", place.address)) if v})
        return {
            "status": "resolved" if notification.event == "resolved" else "firing",
            "event": notification.event,
            "labels": alert_labels(alert),
            "annotations": annotations,
            "startsAt": _time(alert.starts_at, self.zone),
            "endsAt": _time(alert.ends_at, self.zone),
            "fingerprint": alert.fingerprint,
            "notificationId": notification.id,
            "flapping": alert.flapping,
            "suppressed": list(alert.suppressed),
            "value": alert.value,
        }

    def _slack(self, notifications: Sequence[Notification],
               group: Mapping[str, str]) -> dict[str, Any]:
        title = render.subject(notifications, group, self.lang)
        sections = [{"type": "section",
                     "text": {"type": "mrkdwn",
                              "text": "\n".join(slack_mrkdwn(line) for line in
                                                render.alert_lines(n, self.lang, self.zone,
                                                                   self.places))}}
                    for n in notifications[:SLACK_MAX_ALERTS]]
        # plain_text is shown as it is; `text` (the notification's) is mrkdwn.
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}, *sections]
        if len(notifications) > SLACK_MAX_ALERTS:
            more = len(notifications) - SLACK_MAX_ALERTS
            blocks.append({"type": "context",
                           "elements": [{"type": "mrkdwn", "text": f"+{more}"}]})
        return {"text": slack_mrkdwn(title), "blocks": blocks}

    def _teams(self, notifications: Sequence[Notification],
               group: Mapping[str, str]) -> dict[str, Any]:
        title = render.subject(notifications, group, self.lang)
        sections = []
        for notification in notifications:
            lines = [teams_markdown(line.strip()) for line in
                     render.alert_lines(notification, self.lang, self.zone, self.places)]
            sections.append({"activityTitle": lines[0], "text": "\n\n".join(lines[1:])})
        return {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                "summary": title, "title": teams_markdown(title),
                "themeColor": _TEAMS_COLOUR[render.group_status(notifications)],
                "sections": sections}

    def _teams_adaptive(self, notifications: Sequence[Notification],
                        group: Mapping[str, str]) -> dict[str, Any]:
        """A Workflows message: one Adaptive Card, the title in red (firing) or green
        (all recovered), then each alert's lines, at most TEAMS_MAX_ALERTS, then "+N".
        Every line is a TextRun of its own RichTextBlock (`_escape`: no Markdown)."""
        title = render.subject(notifications, group, self.lang)
        colour = _ADAPTIVE_COLOUR[render.group_status(notifications)]
        body: list[dict[str, Any]] = [_line(adaptive_run(title, weight="Bolder",
                                                         size="Medium", color=colour))]
        for notification in notifications[:TEAMS_MAX_ALERTS]:
            first, *details = render.alert_lines(notification, self.lang, self.zone,
                                                 self.places)
            body.append({**_line(adaptive_run(first, weight="Bolder")), "separator": True})
            body.extend({**_line(adaptive_run(line.strip())), "spacing": "None"}
                        for line in details)
        if len(notifications) > TEAMS_MAX_ALERTS:
            more = len(notifications) - TEAMS_MAX_ALERTS
            body.append({**_line(adaptive_run(f"+{more}", isSubtle=True)), "separator": True})
        card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard", "version": "1.4", "msteams": {"width": "Full"},
                "body": body}
        return {"type": "message",
                "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None,
                                 "content": card}]}


def _line(run: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [run]}


_BODIES: dict[str, Callable[..., dict[str, Any]]] = {
    "json": WebhookChannel._json, "slack": WebhookChannel._slack, "teams": WebhookChannel._teams,
    "teams_adaptive": WebhookChannel._teams_adaptive,
}

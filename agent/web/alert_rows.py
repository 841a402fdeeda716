"""The alerts the pages show, one typed row each: what `lifeline alerts list` reads
(alerts/evaluation/report.py `read_alerts`: firing with their gates, pending), with the
kind and the summary of each alert's stored state, and who acknowledged it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.evaluation.report import read_alerts
from alerts.evaluation.state import AlertState
from alerts.evaluation.store_api import AlertStore
from inventory.model import Config

SEVERITY_ORDER = ("critical", "warning", "info")
# Outages first, lifecycle last: what stops service before what will one day.
KIND_ORDER = ("outage", "ups", "interface", "host", "http", "ping", "kiosk", "drift",
              "lifecycle")


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRow:
    id: str
    rule: str
    kind: str
    severity: str
    state: str                      # firing | pending
    device_id: str
    instance: str
    summary: str
    summary_ko: str
    since: datetime | None
    suppressed: bool = False
    silenced: bool = False
    acked: bool = False
    acked_by: str | None = None
    ack_comment: str | None = None
    flapping: bool = False
    closed: bool = False
    polls: int = 0                  # pending: the consecutive polls counted so far

    @property
    def handled(self) -> bool:
        return self.acked or self.silenced

    def order(self) -> tuple[int, int, bool, float]:
        """Critical before warning, outages before lifecycle, unhandled first, oldest
        first."""
        return (_rank(SEVERITY_ORDER, self.severity), _rank(KIND_ORDER, self.kind),
                self.handled, self.since.timestamp() if self.since else 0.0)


def _rank(order: tuple[str, ...], value: str) -> int:
    return order.index(value) if value in order else len(order)


def read_rows(config: Config, store: AlertStore | None, now: datetime) -> list[AlertRow]:
    """Firing and pending alerts, in board order (`AlertRow.order`)."""
    if store is None:
        return []
    stored = read_alerts(config, store, now)
    states = {s.fingerprint: s for s in store.load_states()}
    acks = store.acks()
    zone = config.agent.zone
    rows = []
    for alert in stored.status.firing:
        state = states.get(alert.id)
        ack = acks.get(alert.id)
        rows.append(AlertRow(
            id=alert.id, rule=alert.rule, kind=state.kind if state else "",
            severity=alert.severity, state="firing", device_id=alert.device_id,
            instance=alert.instance, summary=state.summary if state else "",
            summary_ko=state.summary_ko if state else "", since=alert.since.astimezone(zone),
            suppressed=alert.suppressed, silenced=alert.silenced, acked=alert.acked,
            acked_by=ack.author if ack and alert.acked else None,
            ack_comment=ack.reason if ack and alert.acked else None,
            flapping=alert.flapping, closed=alert.closed))
    rows.extend(_pending(s, config) for s in stored.pending)
    return sorted(rows, key=AlertRow.order)


def _pending(state: AlertState, config: Config) -> AlertRow:
    since = (datetime.fromtimestamp(state.active_since, config.agent.zone)
             if state.active_since else None)
    return AlertRow(id=state.fingerprint, rule=state.rule, kind=state.kind,
                    severity=state.severity, state="pending", device_id=state.device_id,
                    instance=state.instance, summary=state.summary,
                    summary_ko=state.summary_ko, since=since, polls=state.polls)

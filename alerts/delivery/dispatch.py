"""Enqueueing: each notification routed to its channels, each row given its group and
the time it is due.

The first row of a burst in a group is due `group_wait` after it was enqueued; rows that
arrive while it waits join it (the same due time). After a group was sent, its next batch
waits at least `group_interval` since that send. Rows are inserted in the caller's open
transaction (the engine's, with the state changes that caused them) and never committed
here, numbered in the order they were made (`seq`); the same (notification, channel)
twice is a no-op.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from alerts.delivery import codec
from alerts.delivery.routing import route
from alerts.delivery.timing import Timings
from alerts.model import Notification
from config.db import Connection
from config.model import RouteSpec

LOG = logging.getLogger("lifeline.alerts.outbox")


class Dispatcher:
    """Routes and groups notifications into the outbox table."""

    def __init__(self, routes: Sequence[RouteSpec], channels: Sequence[str],
                 timings: Timings) -> None:
        self._routes, self._channels, self._timings = routes, channels, timings

    def enqueue(self, conn: Connection, notifications: Sequence[Notification],
                now: float) -> None:
        """One row per notification and routed channel, in `conn`'s open transaction."""
        for notification in notifications:
            destinations = route(notification.alert, self._routes, self._channels)
            if not destinations:
                LOG.info("notification %s (%s) matches no route", notification.id,
                         notification.alert.rule)
            payload = codec.dumps(notification)
            for dest in destinations:
                due = self._due(conn, dest.channel, dest.group_key, now)
                conn.execute(
                    "INSERT INTO delivery_outbox (notification_id, channel, group_key,"
                    " group_labels, fingerprint, event, payload, enqueued, due, seq)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " (SELECT COALESCE(MAX(seq), 0) + 1 FROM delivery_outbox))"
                    " ON CONFLICT DO NOTHING",
                    (notification.id, dest.channel, dest.group_key,
                     json.dumps(dict(dest.group_labels), ensure_ascii=False),
                     notification.alert.fingerprint, notification.event, payload, now, due))

    def _due(self, conn: Connection, channel: str, group_key: str,
             now: float) -> float:
        """Join the group's waiting first-try batch, or start one `group_wait` from now
        (and no sooner than `group_interval` after the group's last send)."""
        waiting = conn.execute(
            "SELECT MIN(due) FROM delivery_outbox WHERE channel = ? AND group_key = ?"
            " AND state = 'pending' AND attempts = 0 AND batch IS NULL",
            (channel, group_key)).fetchone()[0]
        if waiting is not None:
            return float(waiting)
        timing = self._timings[channel]
        due = now + timing.group_wait
        last = conn.execute("SELECT last_sent FROM delivery_groups WHERE channel = ?"
                            " AND group_key = ?", (channel, group_key)).fetchone()
        if last is not None:
            due = max(due, last[0] + timing.group_interval)
        return due

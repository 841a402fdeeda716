"""The keep-alive: firing alerts re-posted to the channels whose peer forgets them
otherwise (Alertmanager, `alerts.model.RefreshingChannel`), every `refresh_interval`.

The engine hands over the alerts firing now (`set_active`, from its thread); a delivery
round asks which channels are due (`due`), and each such channel's worker re-posts after
its own sends (`refresh`), so a recovery just sent is not undone. An alert is re-posted
to a channel only once its own notice was delivered there, never after its recovery.
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from alerts.delivery.ledger import Ledger
from alerts.delivery.routing import route
from alerts.model import Alert, Channel, DeliveryError, RefreshingChannel
from config.db import Connection
from config.model import RouteSpec

LOG = logging.getLogger("lifeline.alerts.outbox")


class KeepAlive:
    """The active alerts, and when each refreshing channel last had them."""

    def __init__(self, channels: Mapping[str, Channel], routes: Sequence[RouteSpec],
                 names: Sequence[str]) -> None:
        self._channels = {name: channel for name, channel in channels.items()
                          if isinstance(channel, RefreshingChannel)
                          and channel.refresh_interval > 0}
        self._routes, self._names = routes, names
        self._active: tuple[Alert, ...] = ()
        self._last: dict[str, float] = {}

    def continue_from(self, previous: KeepAlive) -> None:
        """After a reload: the same alerts, the same schedule."""
        self._last = dict(previous._last)
        self._active = previous._active

    def shift_times(self, delta: float) -> None:
        """The wall clock was stepped by `delta` seconds: each last re-post moves by it."""
        self._last = {name: t + delta for name, t in self._last.items()}

    def set_active(self, alerts: Sequence[Alert]) -> None:
        """The alerts still firing, as the engine sees them now."""
        self._active = tuple(alerts)   # one assignment: atomic for the delivery thread

    def due(self, t: float, busy: Collection[str]) -> set[str]:
        """The idle channels whose keep-alive is due now (marked as done)."""
        found = {name for name, channel in self._channels.items() if name not in busy
                 and t - self._last.get(name, float("-inf")) >= channel.refresh_interval}
        for name in found:
            self._last[name] = t
        return found

    def refresh(self, conn: Connection, ledger: Ledger, name: str,
                now: datetime) -> None:
        """Re-posts the alerts routed to channel `name`; a failure shows in its stats."""
        alerts = self._routed_and_delivered(conn, name)
        try:
            self._channels[name].refresh(alerts)
        except DeliveryError as exc:
            ledger.record_error(conn, name, f"refresh: {exc}", now)
            LOG.warning("channel %s: re-posting %d firing alerts failed: %s", name,
                        len(alerts), exc)

    def _routed_and_delivered(self, conn: Connection, channel: str) -> list[Alert]:
        """The active alerts routed to `channel`, less those with a notice still waiting
        there (their own send comes first, after group_wait), those whose latest notice
        there is a recovery (the engine's active list may predate it: re-posting them as
        firing would undo the recovery) and those whose latest notice never got there
        (expired or refused: the channel is told by that notice, kept as owed, first)."""
        skip: set[str] = set()
        latest: dict[str, tuple[str, str]] = {}
        for fp, event, state in conn.execute(
                "SELECT fingerprint, event, state FROM delivery_outbox WHERE channel = ?"
                " ORDER BY enqueued, event = 'resolved'", (channel,)):
            latest[fp] = (event, state)
            if state in ("pending", "sending"):
                skip.add(fp)
        skip.update(fp for fp, (event, state) in latest.items()
                    if event == "resolved" or state != "delivered")
        return [alert for alert in self._active
                if alert.fingerprint not in skip and any(
                    d.channel == channel for d in route(alert, self._routes, self._names))]

"""One `Channel.send` per claimed batch, and its outcome into the ledger: delivered;
retried after a backoff (a retryable DeliveryError, or a bug in the channel, which must
not stop delivery to others); failed for good (a permanent error, or a channel no longer
configured; a notice still owed is kept, see ledger.py). A send interrupted mid-way puts
its rows back to pending."""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from alerts.delivery import codec
from alerts.delivery.ledger import Ledger, OutboxBatch
from alerts.model import Channel, DeliveryError
from config.db import Connection

LOG = logging.getLogger("lifeline.alerts.outbox")


def send_batches(conn: Connection, ledger: Ledger, channels: Mapping[str, Channel],
                 batches: Sequence[OutboxBatch], now: datetime) -> None:
    for batch in batches:
        try:
            _send(conn, ledger, channels.get(batch.channel), batch, now)
        except BaseException:
            ledger.release(conn, batch)
            raise


def _send(conn: Connection, ledger: Ledger, channel: Channel | None,
          batch: OutboxBatch, now: datetime) -> None:
    if channel is None:
        ledger.failed(conn, batch, now, DeliveryError(
            f"channel {batch.channel} is not configured any more", retryable=False),
            configured=False)
        return
    notifications = [codec.loads(r.payload) for r in batch.rows]
    group = json.loads(batch.rows[0].group_labels)
    try:
        channel.send(notifications, group)
    except DeliveryError as exc:
        if exc.retryable:
            ledger.retry(conn, batch, now, exc)
        else:
            ledger.failed(conn, batch, now, exc)
        return
    except Exception as exc:   # a bug in a channel must not stop delivery to others
        LOG.exception("channel %s: unexpected error while sending", batch.channel)
        ledger.retry(conn, batch, now, DeliveryError(f"internal error: {type(exc).__name__}"))
        return
    ledger.delivered(conn, batch, now)

"""Each channel's delivery figures (`alerts.model.ChannelStats`), read from the outbox
tables: the counters the ledger keeps, and the backlog (with the notices in it that were
given up once and are kept as still owed: `untold`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from alerts.model import ChannelStats
from config.db import Connection


def read_stats(conn: Connection, names: Sequence[str]) -> dict[str, ChannelStats]:
    """By channel name: every configured channel in `names`, and any other with rows."""
    found: dict[str, ChannelStats] = {name: ChannelStats() for name in names}
    for (channel, delivered, failed, expired, retries, resent, retold, withheld, last_error,
         last_error_at, last_delivery_at) in conn.execute(
            "SELECT channel, delivered, failed, expired, retries, resent_after_restart,"
            " retold, withheld, last_error, last_error_at, last_delivery_at"
            " FROM delivery_channels"):
        found[channel] = ChannelStats(
            delivered=delivered, failed=failed, expired=expired, retries=retries,
            resent_after_restart=resent, retold=retold, withheld=withheld,
            last_error=last_error, last_error_at=_stored_time(last_error_at),
            last_delivery_at=_stored_time(last_delivery_at))
    for channel, count, oldest, untold in conn.execute(
            "SELECT channel, COUNT(*), MIN(enqueued), SUM(CASE WHEN lost > 0 THEN 1 ELSE 0 END)"
            " FROM delivery_outbox"
            " WHERE state IN ('pending', 'sending') GROUP BY channel"):
        found[channel] = replace(found.get(channel, ChannelStats()), pending=count,
                                 oldest_pending=datetime.fromtimestamp(oldest, UTC),
                                 untold=untold or 0)
    return dict(sorted(found.items()))


def _stored_time(text: str | None) -> datetime | None:
    """A time the ledger stored (ISO 8601 with the agent's offset). One without an offset,
    which the ledger never writes, is taken as UTC; one that is not a time at all as
    none, so a damaged row does not stop the report."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

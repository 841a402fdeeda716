"""Waiting between attempts: exponential backoff and the peer's `Retry-After`.

Used by every delivery that retries: the outbox sending notices to a channel, and the
metric sink sending points to InfluxDB (`agent.sinks.influx`).
"""
from __future__ import annotations

import email.utils
from datetime import UTC, datetime

MAX_DOUBLINGS = 30      # 2**30 x initial is far past any cap; keeps the float finite
MAX_RETRY_AFTER = 600.0  # the longest a peer's Retry-After is honoured (seconds)


def backoff(failures: int, initial: float, maximum: float) -> float:
    """Seconds to wait after the `failures`-th failure in a row (1 for the first):
    `initial`, doubling each time, never more than `maximum`."""
    return min(maximum, initial * 2.0 ** min(max(0, failures - 1), MAX_DOUBLINGS))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from an HTTP `Retry-After` header: delta-seconds (digits only) or an HTTP
    date (RFC 9110 10.2.3); None when absent or unreadable. Never negative, and never more
    than MAX_RETRY_AFTER: a peer cannot park a notice (or a recovery) until it expires."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    wait = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(wait, 0.0), MAX_RETRY_AFTER)

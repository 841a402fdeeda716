"""Waiting between attempts: exponential backoff and the peer's `Retry-After`.

Used by every delivery that retries: the outbox sending notices to a channel, and the
metric sink sending points to InfluxDB (`agent.sinks.influx`).
"""
from __future__ import annotations

import email.utils
from datetime import UTC, datetime

MAX_DOUBLINGS = 30      # 2**30 x initial is far past any cap; keeps the float finite


def backoff(failures: int, initial: float, maximum: float) -> float:
    """Seconds to wait after the `failures`-th failure in a row (1 for the first):
    `initial`, doubling each time, never more than `maximum`."""
    return min(maximum, initial * 2.0 ** min(max(0, failures - 1), MAX_DOUBLINGS))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from an HTTP `Retry-After` header: delta-seconds or an HTTP date (RFC 9110
    10.2.3); None when absent or unreadable. Never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)

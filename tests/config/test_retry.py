"""The one backoff and the one Retry-After parser, shared by the outbox and the sink."""
from __future__ import annotations

from datetime import UTC, datetime

from config.retry import MAX_RETRY_AFTER, backoff, parse_retry_after


def test_backoff_starts_at_initial_doubles_and_is_capped() -> None:
    assert [backoff(n, 10, 40) for n in range(1, 6)] == [10, 20, 40, 40, 40]
    assert backoff(0, 10, 40) == 10                 # "no failure yet" waits the initial
    assert backoff(10_000, 1, 600) == 600            # no overflow however long it failed


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(" 7 ", now) == 7
    assert parse_retry_after("Tue, 01 Jan 2030 00:00:30 GMT", now) == 30
    assert parse_retry_after("Mon, 31 Dec 2029 23:00:00 GMT", now) == 0   # a past date: now
    for nonsense in ("-5", "inf", "nan", "1e400", "1_000", "٣", "12.5"):
        assert parse_retry_after(nonsense, now) is None, nonsense    # digits only, or a date
    assert parse_retry_after("86400", now) == MAX_RETRY_AFTER        # capped
    assert parse_retry_after("Wed, 01 Jan 2031 00:00:00 GMT", now) == MAX_RETRY_AFTER
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None and parse_retry_after(None) is None

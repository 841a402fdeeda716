"""The InfluxDB sink: every point goes through the disk spool, a sender thread delivers.

`write` encodes samples to line protocol (`lineproto`) and appends them to the spool; that
is the acknowledgement. The sender thread sends the oldest pending lines in batches of
`batch_size` (at once when that many are waiting, else every `flush_interval`) through
the transport of the configured write API (`influx_write`: v2 `/api/v2/write` with a
token, or v1 `/write?db=&rp=` with a username and password), gzip-compressed, and advances
the spool's cursor after each 2xx. So an outage, a restart of InfluxDB or of the agent
(even SIGKILL) loses nothing acknowledged, and delivery stays in order, with either API.

What happens on failure (`influx_write.failure`):

| answer                              | kind     | what the sender does                      |
|-------------------------------------|----------|-------------------------------------------|
| connection refused/reset, timeout,  | retry    | keep the batch; back off 1 s, 2 s, ... 60 s|
| 5xx, 429                            |          | (Retry-After honoured, up to 10 min)      |
| 401, 403 (token, password), 404     | config   | keep the batch; ERROR once; try again     |
| (org, bucket, database), v1's 500   |          | every 5 min, re-reading the secrets:      |
| "retention policy not found"        |          | fixing a secret file needs no restart     |
| 400 (InfluxDB 1.x: also a "partial  | rejected | split the batch in halves until the bad   |
| write", e.g. a field type conflict),|          | line is alone, then drop it (counted in   |
| 413, 422, other 4xx                 |          | points_rejected, ERROR logged): one bad   |
|                                     |          | point never blocks the queue              |

Durability: `write` returns once the lines are in the spool file (page cache: safe from
a process kill); the sender fdatasyncs it at least every `flush_interval`, which bounds
what a power cut can lose.

At-least-once window: the cursor is persisted right after the 2xx. If the agent dies
between the two, that batch is sent again on the next start. InfluxDB keys a point by
measurement, tag set and timestamp, so the second write overwrites the first with the same
values: no duplicate appears. Nothing is sent twice during an outage (a failed batch was
not stored: an error answer means nothing of it was written, or for a timeout, that
InfluxDB may have written it and the same overwrite applies; InfluxDB 1.x's "partial
write" keeps the good lines of a batch it refuses, and they overwrite themselves the same
way when they are sent again while the bad line is isolated).
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo

from agent.sinks.base import Sink, SinkStats, StatsTracker
from agent.sinks.influx_write import InfluxWriteError, Transport, transport_for
from agent.sinks.lineproto import encode_all
from agent.sinks.spool import Batch, Spool
from collectors.base import Sample
from config.model import InfluxSettings
from config.retry import backoff

log = logging.getLogger("lifeline.sinks.influx")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Delays in seconds between attempts."""

    initial: float = 1.0
    maximum: float = 60.0
    config_error: float = 300.0     # 401/403/404: someone has to fix a secret or a name
    max_retry_after: float = 600.0

    def delay(self, failure: InfluxWriteError, failures_in_a_row: int) -> float:
        """How long to wait after the `failures_in_a_row`-th failure (1 for the first)."""
        if failure.kind == "config":
            return self.config_error
        if failure.kind == "rejected":
            return 0.0
        if failure.retry_after is not None:
            return min(max(failure.retry_after, 0.0), self.max_retry_after)
        return backoff(failures_in_a_row, self.initial, self.maximum)


class _OncePerError:
    """Logs each distinct error once per episode; forgets them after a success."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def log(self, level: int, message: str) -> None:
        if message not in self._seen:
            if len(self._seen) < 100:
                self._seen.add(message)
            log.log(level, "%s", message)

    def clear(self) -> bool:
        had = bool(self._seen)
        self._seen.clear()
        return had


class InfluxSink(Sink):
    """Spooled, batched, in-order delivery to InfluxDB (see the module docstring)."""

    def __init__(self, settings: InfluxSettings, spool: Spool, *,
                 transport: Transport | None = None, retry: RetryPolicy | None = None,
                 zone: tzinfo = UTC,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._spool = spool
        self._transport = transport or transport_for(settings)
        self._retry = retry or RetryPolicy()
        self._monotonic = monotonic
        self._tracker = StatsTracker("influxdb", zone)
        self._errors = _OncePerError()
        self._wake = threading.Condition()
        self._closing = False
        self._closed = False
        self._deadline = math.inf
        self._limit = settings.batch_size      # shrinks while isolating a rejected line
        self._failures = 0
        self._last_failure: str | None = None
        self._not_before = 0.0                 # monotonic time of the next allowed attempt
        self._next_drop_log = 0.0
        self._thread = threading.Thread(target=self._run, name="lifeline-influx-sender",
                                        daemon=True)
        self._thread.start()

    # --- the agent's side -------------------------------------------------------------

    def write(self, samples: Sequence[Sample]) -> None:
        if self._closed or self._closing:
            raise RuntimeError("the InfluxDB sink is closed")
        try:
            dropped = self._spool.append(encode_all(samples))
        except OSError as exc:           # disk full, read-only: the caller must know
            self._tracker.error(f"cannot append to the spool {self._spool.directory}: "
                                f"{exc.strerror or exc}")
            raise
        if dropped:
            self._dropped(dropped)
        # A full batch wakes the sender, unless it is backing off: then waking it would
        # only make it fdatasync the spool on every write of an outage.
        if (self._spool.pending_points >= self._limit
                and self._monotonic() >= self._not_before):
            with self._wake:
                self._wake.notify()

    def stats(self) -> SinkStats:
        return self._tracker.snapshot(points_pending=self._spool.pending_points,
                                      spool_bytes=self._spool.pending_bytes)

    def close(self, timeout: float = 10.0) -> None:
        if self._closed:
            return
        with self._wake:
            self._closing = True
            self._deadline = self._monotonic() + timeout
            self._wake.notify()
        self._thread.join(timeout)
        self._closed = True
        self._spool.close()          # a send still in flight is not committed: replayed
        self._transport.reset()
        pending = self._spool.pending_points
        if pending:
            log.warning("InfluxDB sink closed with %d points still in the spool %s; "
                        "they are sent when the agent starts again", pending,
                        self._spool.directory)

    # --- the sender thread ------------------------------------------------------------

    def _run(self) -> None:
        last_send = last_sync = self._monotonic()
        while True:
            with self._wake:
                if not self._closing and not self._due(last_send):
                    self._wake.wait(self._wait_time(last_send))
                if self._closing:
                    break
                due = self._due(last_send)
            # Before a send, and at least every flush_interval, backoff or not: bounds what
            # a power cut loses without an fdatasync per wake-up.
            now = self._monotonic()
            if due or now - last_sync >= self._settings.flush_interval:
                self._spool.sync()
                last_sync = now
            if not due:
                continue
            last_send = self._monotonic()
            # A flush sends everything pending, batch after batch, unless one fails.
            while not self._closing and self._send_one() and self._spool.pending_points:
                pass
        self._drain()

    def _due(self, last_send: float) -> bool:
        now = self._monotonic()
        if now < self._not_before:
            return False
        pending = self._spool.pending_points
        return pending >= self._limit or (pending > 0 and
                                          now - last_send >= self._settings.flush_interval)

    def _wait_time(self, last_send: float) -> float:
        now = self._monotonic()
        interval = self._settings.flush_interval
        if now < self._not_before:
            return min(max(self._not_before - now, 0.001), interval)
        return max(last_send + interval - now, 0.001)

    def _drain(self) -> None:
        """On close: send what is pending until the deadline or the first failure that
        needs waiting; the rest stays in the spool."""
        while self._spool.pending_points and self._monotonic() < self._deadline:
            if not self._send_one() and self._last_failure != "rejected":
                return

    def _send_one(self) -> bool:
        """One attempt with the oldest pending lines; True when a batch was delivered."""
        batch = self._spool.peek(self._limit)
        if batch is None:
            return False
        try:
            self._transport.send(batch.payload)
        except InfluxWriteError as failure:
            self._failed(batch, failure)
            return False
        self._spool.commit(batch)
        self._delivered(batch)
        return True

    def _delivered(self, batch: Batch) -> None:
        self._tracker.success(batch.count)
        if self._errors.clear():
            log.info("InfluxDB accepts writes again after %d failed attempts; %d points "
                     "pending", self._failures, self._spool.pending_points)
        self._failures = 0
        self._last_failure = None
        self._not_before = 0.0
        self._limit = min(self._settings.batch_size, self._limit * 2)

    def _failed(self, batch: Batch, failure: InfluxWriteError) -> None:
        self._failures += 1
        self._last_failure = failure.kind
        self._tracker.error(str(failure))
        if failure.kind == "rejected":
            self._rejected(batch, failure)
            return
        dropped = self._spool.release(batch)
        if dropped:
            self._dropped(dropped)
        delay = self._retry.delay(failure, self._failures)
        self._not_before = self._monotonic() + delay
        if failure.kind == "config":
            self._transport.reset()
            fix = ("the username, password, database or retention policy"
                   if self._settings.api == "v1" else "the token, org or bucket")
            self._errors.log(logging.ERROR, f"InfluxDB refuses writes to "
                             f"{self._settings.describe()}: {failure}; "
                             f"{self._spool.pending_points} points kept in the spool, next "
                             f"try in {delay:g}s (fix {fix})")
        else:
            self._errors.log(logging.WARNING, f"InfluxDB write failed ({failure}); points "
                             f"stay in the spool and are retried in order")

    def _rejected(self, batch: Batch, failure: InfluxWriteError) -> None:
        if batch.count > 1:            # find the bad line: halve until it is alone
            self._spool.release(batch)
            self._limit = max(1, batch.count // 2)
            return
        self._spool.commit(batch)      # past it: it would be refused forever
        self._tracker.add(points_rejected=1)
        line = batch.payload.decode("utf-8", "replace").strip()[:200]
        log.error("InfluxDB rejected a point, dropped (%s): %s", failure, line)

    def _dropped(self, count: int) -> None:
        self._tracker.add(points_dropped=count)
        now = self._monotonic()
        if now >= self._next_drop_log:    # every write drops while over: say it once a minute
            self._next_drop_log = now + 60.0
            log.warning("InfluxDB spool %s is over its bound of %d bytes: dropping the oldest "
                        "points (%d dropped so far)", self._spool.directory,
                        self._spool.max_bytes, self._tracker.snapshot().points_dropped)

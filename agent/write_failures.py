"""What the agent cannot write to its state_dir, kept per kind, for /healthz and the log.

A full or failing disk makes every write of the state_dir fail: the metric store or the
InfluxDB spool after each poll, the alert state after each poll of a device that is down,
the status file every few seconds. Each part reports its writes here, by kind
(`failed(kind, error)`, `succeeded(kind)`), and this keeps:

* what is failing now (`failing()`), with the last error, how many failures and since
  when: the agent's status carries it, so /healthz answers 503 naming it and
  `lifeline status` shows it;
* the log, at most one line per kind per LOG_EVERY_SECONDS: the first failure at once,
  then "still failing" with the count since the last line, and one line when the next
  write succeeds. No traceback: the error is the disk's, not a bug, and a traceback per
  poll per device would bury everything else in the log (and fill the disk further).

A kind goes back to healthy on its next successful write; nothing else clears it.
Thread-safe: the writer thread, the loop and the delivery thread all report here.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path

log = logging.getLogger("lifeline.agent")

LOG_EVERY_SECONDS = 60.0

# The kinds, as health and the log name them.
METRIC_STORE = "metric store"
SPOOL = "spool"
ALERT_STATE = "alert state"
ALERT_DELIVERY = "alert delivery"
STATUS_FILE = "status file"
KINDS = (METRIC_STORE, SPOOL, ALERT_STATE, ALERT_DELIVERY, STATUS_FILE)

# What a write to the state_dir raises when the disk (not the code) is at fault.
WRITE_ERRORS = (OSError, sqlite3.Error)


@dataclass(frozen=True, slots=True, kw_only=True)
class Failing:
    """One kind of write that fails now."""

    kind: str                   # one of KINDS
    error: str                  # the last error, e.g. "…/metrics.sqlite3: database or disk is full"
    failures: int               # failed writes since the last success
    since: datetime             # the first of them

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "error": self.error, "failures": self.failures,
                "since": self.since.isoformat()}


@dataclass(slots=True)
class _Kind:
    failing: Failing
    unlogged: int               # failures since the last log line
    logged_at: float            # monotonic time of that line


def describe(exc: BaseException, where: Path) -> str:
    """The error in one line, naming the file: an OSError's own file (else `where`) and
    reason, or SQLite's message (which names none) after `where`."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename or where}: {exc.strerror}"
    return f"{where}: {exc or type(exc).__name__}"


class WriteFailures:
    """The failing kinds of write; `clock` (monotonic seconds) and `now` are injectable."""

    def __init__(self, zone: tzinfo, *, every: float = LOG_EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] | None = None) -> None:
        self._every = every
        self._clock = clock
        self._now = now or (lambda: datetime.now(zone))
        self._lock = threading.Lock()
        self._kinds: dict[str, _Kind] = {}

    def failed(self, kind: str, error: str) -> None:
        """A write of `kind` failed with `error` (`describe` makes one)."""
        with self._lock:
            known = self._kinds.get(kind)
            if known is None:
                failing = Failing(kind=kind, error=error, failures=1, since=self._now())
                self._kinds[kind] = _Kind(failing, 0, self._clock())
                log.error("cannot write the %s: %s", kind, error)
                return
            known.failing = replace(known.failing, error=error,
                                    failures=known.failing.failures + 1)
            known.unlogged += 1
            elapsed = self._clock() - known.logged_at
            if elapsed < self._every:
                return
            log.error("cannot write the %s: %d more failures in the last %.0f s, %d since "
                      "%s; last: %s", kind, known.unlogged, elapsed, known.failing.failures,
                      known.failing.since.strftime("%Y-%m-%d %H:%M:%S"), error)
            known.unlogged = 0
            known.logged_at = self._clock()

    def succeeded(self, kind: str) -> None:
        """A write of `kind` went through: it is healthy again."""
        with self._lock:
            known = self._kinds.pop(kind, None)
        if known is not None:
            log.warning("writing the %s again, after %d failed writes since %s", kind,
                        known.failing.failures,
                        known.failing.since.strftime("%Y-%m-%d %H:%M:%S"))

    def failing(self) -> tuple[Failing, ...]:
        """The kinds failing now, in KINDS order."""
        with self._lock:
            current = {kind: k.failing for kind, k in self._kinds.items()}
        order = {kind: i for i, kind in enumerate(KINDS)}
        return tuple(current[k] for k in sorted(current, key=lambda k: order.get(k, len(KINDS))))

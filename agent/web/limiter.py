"""Login attempts: an address that failed `attempts` times within `window` seconds is
refused (429, with Retry-After) until the oldest of those failures leaves the window,
even with the right password, so guessing cannot go on at argon2's pace."""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    def __init__(self, attempts: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._attempts, self._window, self._clock = attempts, window, clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        return failures

    def wait(self, address: str) -> float:
        """Seconds until `address` may try again; 0 when it may now."""
        with self._lock:
            now = self._clock()
            failures = self._recent(address, now)
            if len(failures) < self._attempts:
                return 0.0
            return max(1.0, failures[0] + self._window - now)

    def failed(self, address: str) -> None:
        with self._lock:
            now = self._clock()
            self._recent(address, now).append(now)
            if len(self._failures) > 10000:     # bounded: forget the quiet addresses
                self._failures = {a: f for a, f in self._failures.items() if f}

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)

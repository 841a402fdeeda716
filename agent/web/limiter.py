"""Login attempts: an address that tried `attempts` times without success within `window`
seconds is refused (429, with Retry-After) until the oldest of those tries leaves the
window, even with the right password, so guessing cannot go on at argon2's pace.

An attempt is counted when it starts (`attempt`), not when its password check ends, and a
success takes the address's count back (`succeeded`): many logins sent at once from one
address get `attempts` checks between them, not one each."""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_ADDRESSES = 10000       # past this, addresses with nothing in the window are forgotten


class LoginLimiter:
    def __init__(self, attempts: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._attempts, self._window, self._clock = attempts, window, clock
        self._lock = threading.Lock()
        self._tries: dict[str, deque[float]] = {}

    def _recent(self, tries: deque[float], now: float) -> deque[float]:
        while tries and tries[0] <= now - self._window:
            tries.popleft()
        return tries

    def attempt(self, address: str) -> float:
        """Counts an attempt from `address` and returns 0, or returns the seconds until it
        may try again (nothing counted)."""
        with self._lock:
            now = self._clock()
            tries = self._recent(self._tries.get(address, deque()), now)
            if len(tries) >= self._attempts:
                return max(1.0, tries[0] + self._window - now)
            if address not in self._tries and len(self._tries) >= MAX_ADDRESSES:
                self._tries = {a: t for a, t in self._tries.items() if self._recent(t, now)}
            tries.append(now)
            self._tries[address] = tries
            return 0.0

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._tries.pop(address, None)

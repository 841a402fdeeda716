"""A worker thread per channel with work, so a slow channel (a dead SMTP server timing
out group after group) never holds up the others. A channel whose worker is still
running is busy: the next delivery rounds give it no more work and leave its rows
pending and unclaimed."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence


class Workers:
    """The last worker started for each channel."""

    def __init__(self) -> None:
        self._threads: dict[str, threading.Thread] = {}

    def adopt(self, previous: Workers) -> None:
        """After a reload: the old workers still sending keep their channels busy here."""
        self._threads = {k: w for k, w in previous._threads.items() if w.is_alive()}

    def busy(self) -> set[str]:
        return {name for name, worker in self._threads.items() if worker.is_alive()}

    def start(self, channel: str, job: Callable[[], None]) -> threading.Thread:
        worker = threading.Thread(target=job, name=f"lifeline-delivery-{channel}",
                                  daemon=True)
        self._threads[channel] = worker
        worker.start()
        return worker

    def all(self) -> list[threading.Thread]:
        return list(self._threads.values())


def join(threads: Sequence[threading.Thread], timeout: float | None) -> None:
    """Joins `threads`, all within `timeout` seconds in total (None: no limit)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

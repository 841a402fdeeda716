"""Ending a request the event loop has stopped waiting for.

`requests` gives each socket operation its own timeout, so a server that drips its
response headers a byte at a time could hold a worker thread long after the poll's
deadline. Every connection a request takes from the pool is recorded on the worker's
`Attempt`; when the event loop gives up it calls `Attempt.abort()`, which shuts those
sockets down, and the blocked read in the worker returns at once with an error.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Attempt:
    """One request's connections, shut down together by `abort()` from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self._aborted = False

    @property
    def aborted(self) -> bool:
        return self._aborted

    def track(self, connection: Any) -> None:
        with self._lock:
            self._connections.append(connection)
            if self._aborted:
                _shut(connection)

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            for connection in self._connections:
                _shut(connection)


@contextmanager
def tracking(attempt: Attempt) -> Iterator[None]:
    """Connections taken from the pool in this thread meanwhile belong to `attempt`."""
    _current.attempt = attempt
    try:
        yield
    finally:
        _current.attempt = None


def install(adapter: HTTPAdapter) -> None:
    """Make the adapter's pools record the connections they hand out."""
    adapter.poolmanager.pool_classes_by_scheme = {"http": _TrackedHTTPPool,
                                                  "https": _TrackedHTTPSPool}


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        # socket.socket's own shutdown, also for an SSLSocket: the TLS object is left
        # alone (the worker thread may be inside it) and only the descriptor is shut.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Tracked:
    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        attempt = getattr(_current, "attempt", None)
        if attempt is not None:
            attempt.track(connection)
        return connection


class _TrackedHTTPPool(_Tracked, HTTPConnectionPool):
    pass


class _TrackedHTTPSPool(_Tracked, HTTPSConnectionPool):
    pass

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
from typing import TYPE_CHECKING

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if TYPE_CHECKING:
    # urllib3 declares this Protocol for type checkers only (its pools' return type).
    from urllib3._base_connection import BaseHTTPConnection

_current = threading.local()


class Attempt:
    """One request's connections, shut down together by `abort()` from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []
        self._aborted = False

    @property
    def aborted(self) -> bool:
        return self._aborted

    def track(self, connection: HTTPConnection) -> None:
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


def _shut(connection: HTTPConnection) -> None:
    sock = connection.sock
    if sock is None:
        return
    try:
        # socket.socket's own shutdown, also for an SSLSocket: the TLS object is left
        # alone (the worker thread may be inside it) and only the descriptor is shut.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _TrackedHTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        connection = super()._get_conn(timeout)
        attempt: Attempt | None = getattr(_current, "attempt", None)
        # Both pools hand out HTTPConnection (HTTPS: its subclass), the kind with a socket.
        if attempt is not None and isinstance(connection, HTTPConnection):
            attempt.track(connection)
        return connection


# HTTPS settings from HTTPSConnectionPool, the tracking from _TrackedHTTPPool (MRO order).
class _TrackedHTTPSPool(_TrackedHTTPPool, HTTPSConnectionPool):
    pass

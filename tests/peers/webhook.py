"""A real HTTP server on loopback that records webhook posts and answers as scripted.

`running_webhook(statuses=[500, 500])` answers 500 twice, then 200 to everything; each
request is recorded (path, headers, decoded JSON body) whatever it answered.
"""
from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    status: int


@dataclass
class WebhookPeer:
    port: int
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0           # seconds before answering (to make a client time out)
    hold: threading.Event | None = None   # when given, each answer waits until it is set
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200

    @property
    def accepted(self) -> list[Received]:
        """The requests answered 2xx: what a real receiver would have taken."""
        return [r for r in self.received if 200 <= r.status < 300]


def _handler(peer: WebhookPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            status = peer.answer()
            with peer.lock:
                peer.received.append(Received(self.path, dict(self.headers.items()),
                                              json.loads(raw.decode("utf-8")), status))
            if peer.delay:
                threading.Event().wait(peer.delay)
            if peer.hold is not None:
                peer.hold.wait(60)      # a hung receiver (bounded: a failing test ends)
            try:
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "120")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass            # the client gave up waiting (the timeout tests)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def running_webhook(statuses: Sequence[int] = ()) -> Iterator[WebhookPeer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    peer = WebhookPeer(port=server.server_address[1], statuses=list(statuses))
    server.RequestHandlerClass = _handler(peer)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

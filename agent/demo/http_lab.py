"""The demo lab's HTTP side: kiosk simulators and the webhook receiver.

Both are the standard library's `ThreadingHTTPServer` in a daemon thread on 127.0.0.1 at
a free port. A `KioskSimulator` serves its health JSON at `/health` (the shape of
collectors/http/kiosk.py's profile) and can stop answering or run out of paper. The
`WebhookReceiver` appends every JSON body POSTed to it as one line of a file, which is
where the demo (and its user) read the notifications the agent sent.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY = 1024 * 1024
HUNG_AT_MOST = 30.0            # seconds a request to a kiosk that stopped answering is held


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:   # quiet: the demo prints
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(handler: type[BaseHTTPRequestHandler], name: str) -> _Server:
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server


class KioskSimulator:
    """One kiosk's health endpoint. `answering` False holds each request unanswered (the
    agent's check times out); `paper` is the printer's paper state."""

    def __init__(self, serial: str) -> None:
        self.serial = serial
        self.answering = True
        self.paper = "ok"
        self.started = datetime.now(UTC)
        kiosk = self

        class Handler(_Base):
            def do_GET(self) -> None:
                if not kiosk.answering:
                    # Hung, as a frozen kiosk PC is: the agent's timeout ends the wait;
                    # the thread lets go once the kiosk is back (or after a while).
                    waited = 0.0
                    while not kiosk.answering and waited < HUNG_AT_MOST:
                        time.sleep(0.1)
                        waited += 0.1
                    self.close_connection = True
                    return
                if self.path.split("?")[0] != "/health":
                    self._send(404, b'{"error": "not found"}')
                    return
                self._send(200, json.dumps(kiosk.health()).encode())

        self._server = _serve(Handler, f"demo-kiosk-{serial}")
        self.port = self._server.server_address[1]

    def health(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        level = 0 if self.paper == "out" else 80
        return {"printer": {"paper": self.paper, "paper_level": level, "toner_level": 55,
                            "state": "ok"},
                "card_reader": {"state": "ok", "ok": True},
                "uptime_s": int((now - self.started).total_seconds()) + 86400,
                "last_issuance": (now - timedelta(minutes=4)).isoformat(timespec="seconds"),
                "serial": self.serial}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class WebhookReceiver:
    """Receives the agent's webhook posts; each JSON body is one line of `path`.
    `on_post` (optional) is called with each body, from the server's thread."""

    def __init__(self, path: Path, on_post: Callable[[dict[str, Any]], None] | None = None
                 ) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._posts: list[dict[str, Any]] = []
        receiver = self

        class Handler(_Base):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._send(413, b'{"error": "too large"}')
                    return
                try:
                    body = json.loads(self.rfile.read(length) or b"null")
                except ValueError:
                    self._send(400, b'{"error": "not JSON"}')
                    return
                receiver._keep(body)
                if on_post is not None and isinstance(body, dict):
                    on_post(body)
                self._send(200, b'{"status": "ok"}')

        self._server = _serve(Handler, "demo-webhook")
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def _keep(self, body: Any) -> None:
        with self._lock:
            self._posts.append(body)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(body, ensure_ascii=False) + "\n")

    def posts(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._posts)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def notifications(posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every alert of every post, flattened (one webhook post may carry several)."""
    return [alert for post in posts for alert in post.get("alerts", [])
            if isinstance(alert, dict)]

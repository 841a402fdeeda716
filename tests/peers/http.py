"""A real HTTP/HTTPS peer for the HTTP collector's tests: kiosks, VMS servers, bad servers.

`start_http_peer(directory)` makes two self-signed certificates with `cryptography` (one
valid for 10 days, one expired yesterday), starts `python tests/peers/http.py` as its own
process serving the same routes on three loopback ports (plain HTTP, HTTPS with the valid
certificate, HTTPS with the expired one) and returns an `HttpPeer`; `stop(peer.proc)`
ends it by PID.

Routes (every response has a Content-Length and keeps the connection alive):
- `/ok`                 200 `lifeline ok`
- `/status/NNN`         that status
- `/health`             GET the kiosk health JSON; POST replaces it (tests set states)
- `/not-json`           200, `application/json`, a body that is not JSON
- `/hang`               accepts, reads the request, answers nothing until `/release`
- `/held`, `/release`   how many `/hang` requests are held; let them all go (200 `released`)
- `/drip`               headers, then one body byte every 0.1 s for up to a minute
- `/drip-headers`       the status line, then one header byte every 0.1 s (up to a minute)
- `/huge`               a 3 GiB body (Content-Length says so), generated, never allocated
- `/loop`               302 to itself, forever;  `/redirect` 302 to `/ok`
- `/auth`               200 only with the basic or bearer credentials given at start
- `/echo`               the request's method, headers and body as JSON
- `/connections`        how many TCP connections the server has accepted
"""
from __future__ import annotations

import base64
import json
import ssl
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HUGE = 3 * 1024 ** 3
HOLD_LIMIT = 60.0          # seconds a /hang or /drip request is held at most
BASIC = ("noc", "kiosk-pass")
TOKEN = "kiosk-token-123"


@dataclass
class HttpPeer:
    http: str                     # base URLs, e.g. http://127.0.0.1:PORT
    https: str                    # certificate valid for 10 more days
    https_expired: str            # certificate expired yesterday
    proc: subprocess.Popen


def default_health() -> dict[str, Any]:
    recent = datetime.now(UTC) - timedelta(minutes=5)
    return {"printer": {"paper": "ok", "paper_level": 80, "toner_level": 55},
            "card_reader": {"state": "ok", "ok": True}, "uptime_s": 3600,
            "last_issuance": recent.isoformat(timespec="seconds"), "serial": "KIOSK-01"}


# --- certificates ------------------------------------------------------------------------

def make_certificate(directory: Path, name: str, valid_from: datetime, valid_to: datetime
                     ) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost; returns (cert, key) paths."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(valid_from).not_valid_after(valid_to)
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def start_http_peer(directory: Path) -> HttpPeer:
    now = datetime.now(UTC)
    make_certificate(directory, "valid", now - timedelta(days=1), now + timedelta(days=10))
    make_certificate(directory, "expired", now - timedelta(days=30), now - timedelta(days=1))
    # -P: this file is named http.py; its folder must not shadow the standard library
    proc = subprocess.Popen([sys.executable, "-P", __file__, str(directory)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()      # the server prints its ports once it listens
    if not line:
        proc.wait(timeout=5)
        raise RuntimeError(f"HTTP peer exited with {proc.returncode} before listening")
    ports = json.loads(line)
    return HttpPeer(f"http://127.0.0.1:{ports['http']}", f"https://127.0.0.1:{ports['https']}",
                    f"https://127.0.0.1:{ports['expired']}", proc)


# --- the server (runs in its own process) --------------------------------------------------

class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.health = json.dumps(default_health()).encode()
        self.release = threading.Event()
        self.held = 0
        self.connections = 0


STATE = _State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"      # keep-alive, so connection reuse can be observed

    def setup(self) -> None:
        super().setup()
        with STATE.lock:
            STATE.connections += 1

    def log_message(self, format: str, *args: Any) -> None:   # quiet
        pass

    def do_HEAD(self) -> None:
        self._send(200, b"", "text/plain", head=True)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/health":
            STATE.health = body
            self._send(200, b"stored")
        elif self.path == "/echo":
            self._echo(body)
        else:
            self._send(404, b"not found")

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        route = {"/ok": lambda: self._send(200, b"lifeline ok"),
                 "/health": lambda: self._send(200, STATE.health, "application/json"),
                 "/not-json": lambda: self._send(200, b'{"printer": {broken',
                                                 "application/json"),
                 "/hang": self._hang, "/held": self._held, "/release": self._release,
                 "/drip": self._drip, "/drip-headers": self._drip_headers,
                 "/huge": self._huge,
                 "/loop": lambda: self._redirect("/loop"),
                 "/redirect": lambda: self._redirect("/ok"),
                 "/auth": self._auth, "/echo": lambda: self._echo(b""),
                 "/connections": lambda: self._json({"connections": STATE.connections})}
        if path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), b"status")
        elif path in route:
            route[path]()
        else:
            self._send(404, b"not found")

    # --- routes ---

    def _send(self, status: int, body: bytes, kind: str = "text/plain",
              head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, value: Any) -> None:
        self._send(200, json.dumps(value).encode(), "application/json")

    def _echo(self, body: bytes) -> None:
        self._json({"method": self.command, "headers": dict(self.headers.items()),
                    "body": body.decode("utf-8", "replace")})

    def _redirect(self, to: str) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _hang(self) -> None:
        with STATE.lock:
            STATE.held += 1
            release = STATE.release
        try:
            release.wait(HOLD_LIMIT)
        finally:
            with STATE.lock:
                STATE.held -= 1
        self._send(200, b"released after a hang")

    def _held(self) -> None:
        self._json({"held": STATE.held})

    def _release(self) -> None:
        with STATE.lock:    # lets go of the held requests; later ones are held again
            STATE.release.set()
            STATE.release = threading.Event()
        self._send(200, b"released")

    def _drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(int(HOLD_LIMIT * 10)))
        self.end_headers()
        self._trickle(b".")

    def _drip_headers(self) -> None:
        """The status line, then one header byte every 0.1 s: the headers never end."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        self._trickle(b"a")

    def _trickle(self, byte: bytes) -> None:
        """One byte every 0.1 s until released, HOLD_LIMIT passes or the client leaves."""
        release = STATE.release
        try:
            for _ in range(int(HOLD_LIMIT * 10)):
                self.wfile.write(byte)
                self.wfile.flush()
                if release.wait(0.1):
                    break
        except OSError:    # the client gave up: what we expect
            pass
        self.close_connection = True

    def _huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        chunk = b"\0" * 65536
        try:
            for _ in range(HUGE // len(chunk)):
                self.wfile.write(chunk)
        except OSError:    # the client stopped reading and closed: what we expect
            self.close_connection = True

    def _auth(self) -> None:
        given = self.headers.get("Authorization", "")
        basic = "Basic " + base64.b64encode(f"{BASIC[0]}:{BASIC[1]}".encode()).decode()
        if given in (basic, f"Bearer {TOKEN}"):
            self._send(200, b"welcome")
        else:
            self._send(401, b"who are you")


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def _serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def _tls(server: ThreadingHTTPServer, directory: Path, name: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / f"{name}.crt", directory / f"{name}.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)


def main(directory: Path) -> None:
    servers = {name: _Server(("127.0.0.1", 0), Handler)
               for name in ("http", "https", "expired")}
    _tls(servers["https"], directory, "valid")
    _tls(servers["expired"], directory, "expired")
    threads = [_serve(s) for s in servers.values()]
    print(json.dumps({name: s.server_address[1] for name, s in servers.items()}), flush=True)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main(Path(sys.argv[1]))

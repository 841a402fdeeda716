"""The console speaking https from its own certificate and key (`console.tls_cert_file`,
`tls_key_file`): a real `lifeline run` serving TLS through uvicorn, a client that trusts
only that certificate, and the session cookies marked Secure."""
from __future__ import annotations

import datetime
import http.client
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.web.users import entry_line

from peers.agent import AgentProcess, agent_config
from peers.ports import free_tcp_port

pytestmark = pytest.mark.peer


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made for this test only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lifeline-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "console.crt", directory / "console.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def test_the_console_over_tls_marks_its_cookies_secure(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    users = tmp_path / "users"
    users.write_text(entry_line("alice", "correct horse 42") + "\n", encoding="utf-8")
    port = free_tcp_port()
    config = agent_config(
        tmp_path / "agent", "  []\n", agent_extra=f"  http_listen: 127.0.0.1:{port}\n",
        top_extra=(f"console: {{users_file: {users}, tls_cert_file: {cert}, "
                   f"tls_key_file: {key}}}\n"))
    agent = AgentProcess(config).start()
    try:
        context = ssl.create_default_context(cafile=str(cert))

        def login_page() -> tuple[int, list[str]]:
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                               context=context)
            try:
                conn.request("GET", "/login")
                answer = conn.getresponse()
                answer.read()
                return answer.status, [v for k, v in answer.getheaders()
                                       if k.lower() == "set-cookie"]
            finally:
                conn.close()

        status, cookies = agent.wait_for("the https console", _answers(login_page))
        assert status == 200
        assert cookies and all("secure" in c.lower() for c in cookies), cookies
        assert _plain_http_status(port) != 200, "plain http was served a page"
    finally:
        agent.stop()


def _plain_http_status(port: int) -> int | None:
    """The status plain http gets from the https port: None when the connection fails."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/login")
        return conn.getresponse().status
    except (http.client.HTTPException, OSError):
        return None
    finally:
        conn.close()


def _answers(call):  # type: ignore[no-untyped-def]
    """`call`'s result once the server answers, None while it is not listening yet."""
    def attempt():  # type: ignore[no-untyped-def]
        try:
            return call()
        except (ConnectionError, ssl.SSLError, OSError):
            return None
    return attempt

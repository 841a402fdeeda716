"""A real SMTP server (aiosmtpd) on loopback that keeps every message it accepts.

Optionally with STARTTLS (a self-signed certificate for 127.0.0.1 made with
`cryptography`) and AUTH (one user and password). aiosmtpd's Controller cannot start on
port 0 (its readiness check connects to the port it was given), so a free port is picked
by binding first. `stop()` and `restart()` take the server away and bring it back on the
same port (a mail server down on its own).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from peers.ports import free_tcp_port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpPeer:
    port: int
    cert: Path | None = None
    mails: list[Mail] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)     # recipients answered 550
    starter: Callable[[], Controller] | None = None
    controller: Controller | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        """The server goes away: connections are refused until `restart`."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def restart(self) -> None:
        """The same server again, on the same port."""
        if self.controller is None and self.starter is not None:
            self.controller = self.starter()


class _Handler:
    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 (aiosmtpd's hook name)
                          options: Any) -> str:
        if address in self.peer.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        self.peer.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 (the certificate is also its own CA file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextlib.contextmanager
def running_smtp(tls_dir: Path | None = None, user: str | None = None,
                 password: str | None = None) -> Iterator[SmtpPeer]:
    """aiosmtpd on a free loopback port; with `tls_dir`, STARTTLS is required, and with
    `user`/`password`, AUTH (only after STARTTLS, as aiosmtpd insists by default)."""
    peer = SmtpPeer(port=free_tcp_port())
    kwargs: dict[str, Any] = {}
    if tls_dir is not None:
        cert, key = self_signed(tls_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        peer.cert = cert
        kwargs.update(tls_context=context, require_starttls=True)
    if user is not None:
        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                         auth_data: Any) -> AuthResult:
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            if ok:
                peer.logins.append(user)
            return AuthResult(success=ok, handled=False)   # False: aiosmtpd answers 535
        kwargs.update(authenticator=authenticate, auth_required=True)
    def start() -> Controller:
        controller = Controller(_Handler(peer), hostname="127.0.0.1", port=peer.port,
                                **kwargs)
        controller.start()
        return controller

    peer.starter = start
    peer.restart()
    try:
        yield peer
    finally:
        peer.stop()

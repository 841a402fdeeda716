"""Email channel: one UTF-8 mail per group over SMTP, with STARTTLS and AUTH when configured.

SMTP's own reply classes decide retrying: a 4xx reply or a lost connection is retried, a
5xx reply (recipient refused, authentication rejected, message refused) is not.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime

from alerts.delivery import render
from alerts.delivery.channels._common import delivery_id, reveal
from alerts.model import DeliveryError, Notification
from config.model import SecretRef


def split_host_port(address: str, default_port: int = 25) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if host and port.isdigit():
        return host.strip("[]"), int(port)
    return address, default_port


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailChannel:
    name: str
    smtp: str                                   # host[:port]
    sender: str
    to: tuple[str, ...]
    starttls: bool = False
    username: str | None = None
    password: SecretRef | None = None
    timeout: float = 10.0
    lang: render.Lang = "ko"
    zone: tzinfo
    clock: Callable[[], datetime]
    ca_file: str | None = None
    places: Mapping[str, render.Place] = field(default_factory=dict)   # by device id

    def message(self, notifications: Sequence[Notification],
                group: Mapping[str, str]) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = render.subject(notifications, group, self.lang)
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Date"] = format_datetime(self.clock().astimezone(self.zone))
        domain = self.sender.rpartition("@")[2] or "lifeline"
        # Stable: a re-send of the same group after a crash carries the same Message-ID.
        mail["Message-ID"] = f"<{delivery_id(self.name, notifications)}@{domain}>"
        mail["X-Lifeline-Status"] = render.group_status(notifications)
        # base64: 7-bit clean for any relay, the usual encoding of Korean mail.
        mail.set_content(render.body(notifications, group, self.lang, self.zone,
                                     self.places),
                         charset="utf-8", cte="base64")
        return mail

    def send(self, notifications: Sequence[Notification], group: Mapping[str, str]) -> None:
        mail = self.message(notifications, group)
        host, port = split_host_port(self.smtp)
        where = f"smtp {host}:{port}"
        try:
            with smtplib.SMTP(host, port, timeout=self.timeout) as client:
                self._session(client)
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise DeliveryError(f"{where}: recipients refused: {refused}",
                                retryable=False) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{where}: {exc.smtp_code} {_text(exc.smtp_error)}",
                                retryable=exc.smtp_code < 500) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"{where}: {exc}", retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = "timed out" if isinstance(exc, socket.timeout) else type(exc).__name__
            raise DeliveryError(f"{where}: {reason}") from None

    def _session(self, client: smtplib.SMTP) -> None:
        client.ehlo()
        if self.starttls:
            context = ssl.create_default_context(cafile=self.ca_file)
            client.starttls(context=context)
            client.ehlo()
        if self.username and self.password is not None:
            client.login(self.username, reveal(self.password, self.name))


def _text(error: bytes | str) -> str:
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return text.splitlines()[0][:200] if text else ""

"""What the channels share: secret-free error text, HTTP posting, a stable delivery id."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from alerts.model import DeliveryError, Notification
from config.model import SecretError, SecretRef
from config.retry import parse_retry_after


def scrub_url(url: str) -> str:
    """`scheme://host:port` and nothing else: paths (Slack, Teams) and query strings often
    carry the webhook's secret, and user:password may sit in the authority."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    tail = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"


def reveal(secret: SecretRef, channel: str) -> str:
    """The secret now, or a retryable DeliveryError naming where it looked (an operator
    may fix a secret file while notifications wait)."""
    try:
        return secret.reveal()
    except SecretError as exc:
        raise DeliveryError(f"channel {channel}: {exc}") from None


def delivery_id(channel: str, notifications: Sequence[Notification]) -> str:
    """The same for the same channel and notifications: lets a receiver drop a re-post
    made after a crash between its answer and our record of it (at-least-once)."""
    digest = hashlib.sha256(channel.encode())
    for notification_id in sorted(n.id for n in notifications):
        digest.update(b"\0" + notification_id.encode())
    return digest.hexdigest()[:32]


def post_json(url: str, body: Any, *, headers: Mapping[str, str], timeout: float,
              ca_file: str | None = None) -> None:
    """POST `body` as UTF-8 JSON. 2xx is delivered; 429, 5xx and network failures raise a
    retryable DeliveryError; any other status a permanent one. Messages name the host only."""
    where = scrub_url(url)
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    try:
        response = requests.post(
            url, data=data, timeout=timeout, verify=ca_file or True, allow_redirects=False,
            headers={"Content-Type": "application/json; charset=utf-8", **headers})
    except requests.Timeout:
        raise DeliveryError(f"{where}: no answer within {timeout:g}s") from None
    except requests.RequestException as exc:
        # str(exc) repeats the full URL with its query string: name the failure only.
        reason = "connection refused" if "refused" in str(exc).lower() else type(exc).__name__
        raise DeliveryError(f"{where}: {reason}") from None
    status = response.status_code
    response.close()
    if 200 <= status < 300:
        return
    message = f"{where}: HTTP {status} {response.reason or ''}".rstrip()
    retryable = status == 429 or status >= 500
    raise DeliveryError(message, retryable=retryable,
                        retry_after=parse_retry_after(response.headers.get("Retry-After")))

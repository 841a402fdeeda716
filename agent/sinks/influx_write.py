"""One HTTP write of line protocol to InfluxDB, and what a failed one means.

Two transports, one per write API (`storage.influxdb.api`), chosen by `transport_for`:

- `InfluxTransport` ("v2"): `/api/v2/write?org=&bucket=&precision=ns` through
  influxdb-client's synchronous WriteApi, `Authorization: Token ...` (InfluxDB 2.x, 3,
  1.8+, VictoriaMetrics).
- `InfluxV1Transport` ("v1"): `/write?db=&rp=&precision=ns` through urllib3, HTTP basic
  authentication when a username or password is set (InfluxDB 1.x, VictoriaMetrics).

Both gzip the body, leave retrying to the sink (urllib3's own retries are off) and raise
`InfluxWriteError` unless the server answered 2xx. The sink's module docstring has the
table of what each kind of failure makes it do. No message ever holds a secret.
"""
from __future__ import annotations

import base64
import gzip
import json
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import urlencode

from config.model import InfluxSettings, SecretError, SecretRef
from config.retry import parse_retry_after

if TYPE_CHECKING:       # influxdb-client and urllib3 are imported where first used
    import urllib3
    from influxdb_client.client.influxdb_client import InfluxDBClient
    from influxdb_client.client.write_api import WriteApi

FailureKind = Literal["retry", "config", "rejected"]
# InfluxDB 1.x answers 500 for a retention policy that does not exist: waiting won't fix it.
_V1_CONFIG_ERRORS = ("retention policy not found", "database not found")


class InfluxWriteError(Exception):
    """A batch was not delivered. The message never contains the token or password."""

    def __init__(self, kind: FailureKind, message: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


class Transport(Protocol):
    """One write of a batch; the sink owns the retry policy."""

    def send(self, payload: bytes) -> None:
        """Raises InfluxWriteError unless InfluxDB answered 2xx."""

    def reset(self) -> None:
        """Forget clients and credentials: the next send reads the secrets again."""


def transport_for(settings: InfluxSettings, timeout: float = 10.0) -> Transport:
    """The transport of the configured write API."""
    if settings.api == "v1":
        return InfluxV1Transport(settings, timeout)
    return InfluxTransport(settings, timeout)


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    text = " ".join(str(text).split())[:300]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def failure(status: int, message: str, retry_after: str | None,
            secrets: tuple[str, ...] = ()) -> InfluxWriteError:
    """What an HTTP error answer means for the batch (by status, as the sink's table says)."""
    text = _scrub(f"HTTP {status}: {message}".rstrip(": "), secrets)
    if status in (401, 403, 404):
        return InfluxWriteError("config", text, status)
    if status == 429 or status >= 500:
        return InfluxWriteError("retry", text, status, parse_retry_after(retry_after))
    return InfluxWriteError("rejected", text, status)


def unreachable(exc: BaseException, secrets: tuple[str, ...] = ()) -> InfluxWriteError:
    """No answer at all: refused, reset, timed out."""
    return InfluxWriteError("retry", f"cannot reach InfluxDB: {_scrub(_root(exc), secrets)}")


def classify(exc: BaseException, secret: str | None = None) -> InfluxWriteError:
    """What an exception from influxdb-client's write API means for the batch."""
    secrets = (secret,) if secret else ()
    status = getattr(exc, "status", None)
    if not isinstance(status, int) or status <= 0:
        return unreachable(exc, secrets)
    message = getattr(exc, "message", None) or getattr(exc, "reason", None) or ""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    headers = getattr(exc, "headers", None) or {}
    return failure(status, str(message), getattr(exc, "retry_after", None)
                   or headers.get("Retry-After"), secrets)


def _root(exc: BaseException) -> str:
    """The innermost reason of a urllib3 error chain ('Connection refused', ...)."""
    reason = getattr(exc, "reason", None)
    while isinstance(reason, BaseException) and getattr(reason, "reason", None) is not None:
        reason = getattr(reason, "reason", None)
    return f"{type(exc).__name__}: {reason or exc}"


class InfluxTransport:
    """The v2 write through influxdb-client's synchronous WriteApi.

    The client is built on first use and rebuilt after `reset` (so a token changed in its
    file is picked up)."""

    def __init__(self, settings: InfluxSettings, timeout: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout
        self._client: InfluxDBClient | None = None
        self._write_api: WriteApi | None = None
        self._token: str | None = None

    def send(self, payload: bytes) -> None:
        from influxdb_client.domain.write_precision import WritePrecision

        try:
            write_api = self._api()
        except SecretError as exc:
            raise InfluxWriteError("config", f"InfluxDB token: {exc}") from None
        try:
            # influxdb-client annotates the parameter as WritePrecision, whose members are
            # plain strings: its own constant does not type-check.
            write_api.write(bucket=self._settings.bucket, org=self._settings.org,
                            record=payload,
                            write_precision=WritePrecision.NS)  # type: ignore[arg-type]
        except Exception as exc:
            raise classify(exc, self._token) from None

    def _api(self) -> WriteApi:
        if self._write_api is None:
            from influxdb_client.client.influxdb_client import InfluxDBClient
            from influxdb_client.client.write_api import SYNCHRONOUS

            token = self._settings.token.reveal() if self._settings.token else ""
            self._token = token or None
            client = InfluxDBClient(url=self._settings.url, token=token,
                                    org=self._settings.org, enable_gzip=True,
                                    timeout=int(self._timeout * 1000), retries=False)
            self._client = client
            self._write_api = client.write_api(write_options=SYNCHRONOUS)
        return self._write_api

    def reset(self) -> None:
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]  # influxdb-client: unannotated
        self._client = self._write_api = None


class InfluxV1Transport:
    """The v1 write: `POST /write?db=&rp=&precision=ns`, gzipped, basic authentication
    when a username or password is configured (read on the first send and after `reset`,
    so fixing the password file needs no restart)."""

    def __init__(self, settings: InfluxSettings, timeout: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout
        self._pool: urllib3.PoolManager | None = None
        self._headers: dict[str, str] | None = None
        self._secrets: tuple[str, ...] = ()
        query = {"db": settings.database, "precision": "ns"}
        if settings.retention_policy:
            query["rp"] = settings.retention_policy
        self._url = f"{settings.url.rstrip('/')}/write?{urlencode(query)}"

    def send(self, payload: bytes) -> None:
        import urllib3

        try:
            headers = self._prepare()
        except SecretError as exc:
            raise InfluxWriteError("config", f"InfluxDB username or password: {exc}") from None
        assert self._pool is not None
        try:
            answer = self._pool.request(
                "POST", self._url, body=gzip.compress(payload, compresslevel=6),
                headers=headers, retries=False, redirect=False,
                timeout=urllib3.Timeout(connect=self._timeout, read=self._timeout))
        except urllib3.exceptions.HTTPError as exc:
            raise unreachable(exc, self._secrets) from None
        if 200 <= answer.status < 300:
            return
        message = _v1_message(answer.data)
        if answer.status == 500 and any(m in message for m in _V1_CONFIG_ERRORS):
            raise InfluxWriteError("config", _scrub(f"HTTP 500: {message}", self._secrets),
                                   500)
        raise failure(answer.status, message, answer.headers.get("Retry-After"),
                      self._secrets)

    def _prepare(self) -> dict[str, str]:
        if self._headers is None:
            import urllib3

            headers = {"Content-Type": "text/plain; charset=utf-8",
                       "Content-Encoding": "gzip"}
            user = _reveal(self._settings.username)
            password = _reveal(self._settings.password)
            if user or password:
                pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
                headers["Authorization"] = f"Basic {pair}"
                self._secrets = tuple(s for s in (password, pair) if s)
            self._pool = self._pool or urllib3.PoolManager(num_pools=1, maxsize=1)
            self._headers = headers
        return self._headers

    def reset(self) -> None:
        if self._pool is not None:
            self._pool.clear()
        self._headers = None


def _reveal(value: str | SecretRef | None) -> str:
    if isinstance(value, SecretRef):
        return value.reveal()
    return value or ""


def _v1_message(body: bytes) -> str:
    """InfluxDB 1.x says what went wrong as {"error": "..."}; anything else as it is."""
    text = body[:2000].decode("utf-8", "replace")
    try:
        decoded = json.loads(text)
    except ValueError:
        return text.strip()
    error = decoded.get("error") if isinstance(decoded, dict) else None
    return str(error) if error else text.strip()

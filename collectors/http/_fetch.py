"""The blocking half of an HTTP check, run in the collector's thread pool.

One request with `requests` (stream=True), bounded in time by an absolute deadline (each
socket operation gets at most the time left; the body loop checks the deadline between
socket reads, so a server dripping bytes cannot stretch a poll; a worker still inside
`requests` when the event loop gives up has its sockets shut by `_abort`) and in memory
by `MAX_BODY`.
"""
from __future__ import annotations

import re
import ssl
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import requests
from cryptography import x509
from urllib3.connection import HTTPConnection
from urllib3.util.ssltransport import SSLTransport

from collectors.base import ResultCode
from collectors.http._abort import Attempt, tracking
from collectors.http.catalogue import HttpResult

MAX_BODY = 1024 * 1024          # bytes read at most; more is body_read_error
MAX_REDIRECTS = 10
CHUNK = 64 * 1024
_TLS_REASON = re.compile(r"certificate verify failed: ([^()'\"]+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """Everything one attempt needs; `deadline` is on the time.monotonic() clock."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: str | None
    auth: tuple[str, str] | None
    verify: bool
    follow_redirects: bool
    deadline: float
    read_body: bool


@dataclass(slots=True)
class Fetched:
    """What came back. `failure` is set when no usable response came; `code` overrides
    the Lifeline code that failure would map to (a redirect loop is a bad response)."""

    status: int | None = None
    response_time: float | None = None
    body: bytes = b""
    too_large: bool = False
    encoding: str | None = None
    content_type: str = ""
    cert_not_after: datetime | None = None
    failure: HttpResult | None = None
    code: ResultCode | None = None
    error: str | None = None
    history: list[int] = field(default_factory=list)


def fetch(session: requests.Session, req: Request, attempt: Attempt) -> Fetched:
    """Make one request. Never raises for what the server or network does."""
    if attempt.aborted or _left(req) <= 0:
        return Fetched(failure=HttpResult.TIMEOUT, error="deadline passed before the request")
    with tracking(attempt):
        return _fetch(session, req, attempt)


def _fetch(session: requests.Session, req: Request, attempt: Attempt) -> Fetched:
    t0 = _time.perf_counter()
    try:
        resp = session.request(
            req.method, req.url, headers=dict(req.headers), data=req.body, auth=req.auth,
            timeout=(_left(req), _left(req)), verify=req.verify, stream=True,
            allow_redirects=req.follow_redirects)
    except Exception as exc:   # requests' errors, and anything urllib3 lets through
        return _failed(exc, req)
    with resp:
        got = Fetched(status=resp.status_code, response_time=_time.perf_counter() - t0,
                      encoding=resp.encoding, content_type=resp.headers.get("Content-Type", ""),
                      cert_not_after=_cert_not_after(resp),
                      history=[r.status_code for r in resp.history])
        if req.read_body and req.method != "HEAD":
            _read_body(resp, req, attempt, got)
    return got


def _left(req: Request) -> float:
    return req.deadline - _time.monotonic()


def _read_body(resp: requests.Response, req: Request, attempt: Attempt,
               got: Fetched) -> None:
    body = bytearray()
    try:
        # read1: whatever one socket read brings, so the deadline is checked even when a
        # server drips a byte at a time (iter_content would wait for a full chunk).
        while chunk := resp.raw.read1(CHUNK, decode_content=True):
            body += chunk
            if len(body) > MAX_BODY:
                got.too_large = True
                got.failure = HttpResult.BODY_READ_ERROR
                got.error = f"body larger than {MAX_BODY // 1024} KiB: stopped reading"
                del body[MAX_BODY:]
                break
            if attempt.aborted or _left(req) <= 0:
                got.failure, got.error = HttpResult.TIMEOUT, "body not read within the timeout"
                break
    except Exception as exc:
        timed_out = _left(req) <= 0 or _is(exc, requests.exceptions.ReadTimeout) \
            or "timed out" in str(exc)
        got.failure = HttpResult.TIMEOUT if timed_out else HttpResult.BODY_READ_ERROR
        got.error = ("body not read within the timeout" if timed_out
                     else f"body read failed: {_short(exc)}")
    got.body = bytes(body)


def _failed(exc: BaseException, req: Request) -> Fetched:
    exceptions = requests.exceptions
    if isinstance(exc, exceptions.TooManyRedirects):
        return Fetched(failure=HttpResult.CONNECTION_FAILED, code=ResultCode.BAD_RESPONSE,
                       error=f"more than {MAX_REDIRECTS} redirects (a redirect loop?)")
    if isinstance(exc, (exceptions.ConnectTimeout, exceptions.ReadTimeout)) or (
            _left(req) <= 0 and "timed out" in str(exc)):
        return Fetched(failure=HttpResult.TIMEOUT, error="no answer within the timeout")
    if isinstance(exc, exceptions.SSLError):
        reason = _TLS_REASON.search(str(exc))
        return Fetched(failure=HttpResult.CONNECTION_FAILED,
                       error="TLS: " + (f"certificate verify failed: {reason[1].strip()}"
                                        if reason else _short(exc)))
    if isinstance(exc, (exceptions.InvalidURL, exceptions.InvalidHeader,
                        exceptions.MissingSchema, exceptions.InvalidSchema)):
        return Fetched(failure=HttpResult.CONNECTION_FAILED, code=ResultCode.CONFIG_ERROR,
                       error=f"bad request settings: {_short(exc)}")
    text = str(exc)
    if "NameResolutionError" in text or "Name or service not known" in text \
            or "getaddrinfo" in text:
        return Fetched(failure=HttpResult.DNS_ERROR, error=f"DNS: cannot resolve {_host(req)}")
    if "Connection refused" in text:
        return Fetched(failure=HttpResult.CONNECTION_FAILED,
                       error=f"connection refused by {_host(req)}")
    return Fetched(failure=HttpResult.CONNECTION_FAILED, error=_short(exc))


def _cert_not_after(resp: requests.Response) -> datetime | None:
    """The server certificate's notAfter, read from the live socket (also when
    verify_tls is off, so that an expired certificate still reports its days)."""
    sock = _tls_socket(resp)
    if sock is None:
        return None
    try:
        der = sock.getpeercert(binary_form=True)
    except (ValueError, OSError):
        return None
    if not der:
        return None
    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None


def _tls_socket(resp: requests.Response) -> ssl.SSLSocket | SSLTransport | None:
    """The response's TLS socket; None for plain HTTP or a connection already gone."""
    connection = resp.raw.connection if resp.raw is not None else None
    sock = connection.sock if isinstance(connection, HTTPConnection) else None
    return sock if isinstance(sock, (ssl.SSLSocket, SSLTransport)) else None


def _is(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether `exc`, or an exception it was raised from or during, is a `kind`."""
    link: BaseException | None = exc
    while link is not None:
        if isinstance(link, kind):
            return True
        link = link.__cause__ or link.__context__
    return False


def _host(req: Request) -> str:
    return urlsplit(req.url).hostname or req.url


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


__all__ = ["CHUNK", "MAX_BODY", "MAX_REDIRECTS", "Fetched", "Request", "fetch"]

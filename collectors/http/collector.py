"""`HttpCollector`, the `collectors.base.Collector` for HTTP: one check of one device.

Requests go through one `requests.Session` per collector (connection reuse, a bounded
urllib3 pool, proxies from the environment ignored, cookies never kept) in a bounded
thread pool, so the agent's event loop is never blocked. Each attempt ends by
`poll.timeout` (the event loop stops waiting then, and shuts the sockets of a worker still
waiting); `poll.retries` more attempts are made only after a timeout or a connection failure.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time as _time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from collectors.base import (
    FieldValue,
    HttpFacts,
    JsonValue,
    PollResult,
    ResultCode,
    Sample,
    device_tags,
    poll_sample,
)
from collectors.http import _abort
from collectors.http._abort import Attempt
from collectors.http._fetch import MAX_REDIRECTS, Fetched, Request, fetch
from collectors.http._json import JsonRefusedError, bounded_json
from collectors.http.catalogue import MEASUREMENT, HttpResult
from collectors.http.kiosk import kiosk_sample
from config.expectations import Expectation
from config.model import HttpCredentials, SecretError

if TYPE_CHECKING:
    from config.model import Credentials
    from inventory.model import Config, Device, PollSpec

log = logging.getLogger(__name__)

MAX_WORKERS = 16
JSON_FACTS_MAX = 64 * 1024      # bodies larger than this are not kept in HttpFacts.document
# The worker's own socket timeouts normally end an attempt first (with a precise error);
# the event loop stops waiting this much later whatever the worker is doing.
GRACE = 0.25
_RETRIED = (HttpResult.TIMEOUT, HttpResult.CONNECTION_FAILED, HttpResult.DNS_ERROR)
_FAILURE_CODES = {HttpResult.TIMEOUT: ResultCode.TIMEOUT,
                  HttpResult.DNS_ERROR: ResultCode.CONNECTION_ERROR,
                  HttpResult.CONNECTION_FAILED: ResultCode.CONNECTION_ERROR,
                  HttpResult.BODY_READ_ERROR: ResultCode.BAD_RESPONSE}


class _ConfigError(Exception):
    """The check cannot start: wrong credentials kind, unreadable secret."""


@dataclass(frozen=True, slots=True)
class _Check:
    """A device's poll settings prepared once: parsed expectations, compiled regex."""

    spec: PollSpec
    url: str
    server: str               # the URL without user info, for the `server` tag
    agent_host: str
    expectations: tuple[Expectation, ...]
    regex: re.Pattern[str] | None

    @property
    def reads_body(self) -> bool:
        return self.spec.method != "HEAD"

    @property
    def checks_body(self) -> bool:
        return bool(self.spec.expect_text or self.regex or self.expectations)


@dataclass(slots=True)
class _Verdict:
    code: ResultCode
    result: HttpResult
    error: str | None = None
    failed: list[str] = field(default_factory=list)
    document: JsonValue = None
    string_match: bool | None = None


class HttpCollector:
    """Runs HTTP checks. Create one per process; `await aclose()` before the loop ends."""

    def __init__(self, credentials: Mapping[str, Credentials], *,
                 max_workers: int = MAX_WORKERS, zone: tzinfo | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._credentials = dict(credentials)
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="lifeline-http")
        self._session = _session(max_workers)
        self._zone = zone
        self._now = now
        self._checks: dict[str, _Check] = {}

    @classmethod
    def from_config(cls, config: Config) -> HttpCollector:
        return cls(config.credentials, max_workers=max(1, min(MAX_WORKERS,
                                                              config.agent.max_in_flight)),
                   zone=config.agent.zone)

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._session.close()

    async def collect(self, device: Device) -> PollResult:
        """Check once. Every failure is returned as a result code and an error message."""
        started = self._now()
        t0 = _time.perf_counter()
        check: _Check | None = None
        fetched: Fetched | None = None
        try:
            check = self._check(device)
            fetched = await self._attempts(check, self._auth(check.spec))
            verdict = _judge(check, fetched)
        except _ConfigError as exc:
            verdict = _Verdict(ResultCode.CONFIG_ERROR, HttpResult.CONNECTION_FAILED, str(exc))
        except Exception as exc:   # a bug must not stop the other devices' polls
            log.exception("HTTP check of %s failed unexpectedly", device.id)
            verdict = _Verdict(ResultCode.BAD_RESPONSE, HttpResult.CONNECTION_FAILED,
                               f"internal error: {type(exc).__name__}")
        duration = _time.perf_counter() - t0
        tags = device_tags(device, agent_host=check.agent_host if check else None,
                           hostname=None)
        samples = self._samples(check, fetched, verdict, tags, started)
        samples.append(poll_sample(verdict.code, duration, tags, started))
        return PollResult(device_id=device.id, code=verdict.code, started=started,
                          duration=duration, error=verdict.error, samples=tuple(samples),
                          facts=self._facts(fetched, verdict, started))

    # --- preparing -----------------------------------------------------------------------

    def _check(self, device: Device) -> _Check:
        spec = device.poll
        if spec is None or spec.protocol != "http" or not spec.url:
            raise _ConfigError(f"device {device.id} has no HTTP poll settings (url)")
        cached = self._checks.get(device.id)
        if cached is not None and cached.spec == spec:
            return cached
        try:
            regex = re.compile(spec.expect_regex) if spec.expect_regex else None
        except re.error as exc:
            raise _ConfigError(f"device {device.id}: {exc}") from None
        parts = urlsplit(spec.url)
        netloc = parts.netloc.rpartition("@")[2]
        check = self._checks[device.id] = _Check(
            spec, spec.url, urlunsplit(parts._replace(netloc=netloc)),
            spec.address or netloc, spec.expect_json, regex)
        return check

    def _auth(self, spec: PollSpec) -> tuple[dict[str, str], tuple[str, str] | None]:
        headers = dict(spec.headers)
        if spec.credentials is None:
            return headers, None
        creds = self._credentials.get(spec.credentials)
        if not isinstance(creds, HttpCredentials):
            raise _ConfigError(f"credentials {spec.credentials!r} are not HTTP credentials")
        try:
            if creds.token is not None:
                headers["Authorization"] = f"Bearer {creds.token.reveal()}"
                return headers, None
            if creds.username is not None:
                password = creds.password.reveal() if creds.password else ""
                return headers, (creds.username, password)
        except SecretError as exc:
            raise _ConfigError(f"credentials {creds.name}: {exc}") from None
        return headers, None

    # --- running -------------------------------------------------------------------------

    async def _attempts(self, check: _Check,
                        auth: tuple[dict[str, str], tuple[str, str] | None]) -> Fetched:
        spec = check.spec
        loop = asyncio.get_running_loop()
        overall = _time.monotonic() + spec.deadline
        fetched = Fetched(failure=HttpResult.TIMEOUT, error="not attempted")
        for _ in range(spec.retries + 1):
            deadline = min(_time.monotonic() + spec.timeout, overall)
            if deadline - _time.monotonic() <= 0:
                break
            request = Request(method=spec.method, url=check.url, headers=auth[0],
                              body=spec.body, auth=auth[1], verify=spec.verify_tls,
                              follow_redirects=spec.follow_redirects, deadline=deadline,
                              read_body=check.reads_body)
            fetched = await self._attempt(loop, request)
            if fetched.failure not in _RETRIED or fetched.code is not None:
                break
        return fetched

    async def _attempt(self, loop: asyncio.AbstractEventLoop, request: Request) -> Fetched:
        attempt = Attempt()
        job = loop.run_in_executor(self._pool, fetch, self._session, request, attempt)
        try:
            return await asyncio.wait_for(job, request.deadline - _time.monotonic() + GRACE)
        except TimeoutError:
            attempt.abort()     # frees the worker thread (or it never starts)
            return Fetched(failure=HttpResult.TIMEOUT, error="no answer within the timeout")
        except BaseException:   # cancelled with the agent: let the worker go too
            attempt.abort()
            raise

    # --- results -------------------------------------------------------------------------

    def _samples(self, check: _Check | None, fetched: Fetched | None, verdict: _Verdict,
                 tags: dict[str, str], at: datetime) -> list[Sample]:
        if check is None or fetched is None:
            return []
        point_tags = {**tags, "server": check.server, "method": check.spec.method,
                      "result": verdict.result.label, "result_type": verdict.result.label}
        fields: dict[str, FieldValue] = {"result_code": int(verdict.result)}
        if fetched.status is not None:
            point_tags["status_code"] = str(fetched.status)
            fields["http_response_code"] = fetched.status
            fields["response_status_code_match"] = int(
                fetched.status in check.spec.expect_status)
            fields["content_length"] = len(fetched.body)
        if fetched.response_time is not None:
            fields["response_time"] = round(fetched.response_time, 6)
        if verdict.string_match is not None:
            fields["response_string_match"] = int(verdict.string_match)
        days = _days_left(fetched, at)
        if days is not None:
            fields["cert_expiry_days"] = days
        samples = [Sample(MEASUREMENT, point_tags, fields, at)]
        if check.spec.profile == "kiosk" and verdict.document is not None:
            kiosk = kiosk_sample(verdict.document, tags, at, self._zone)
            if kiosk is not None:
                samples.append(kiosk)
        return samples

    def _facts(self, fetched: Fetched | None, verdict: _Verdict, at: datetime) -> HttpFacts:
        if fetched is None:
            return HttpFacts(result=verdict.result.label)
        document = (verdict.document if verdict.document is not None
                    and len(fetched.body) <= JSON_FACTS_MAX else None)
        return HttpFacts(result=verdict.result.label, status_code=fetched.status,
                         document=document, failed_expectations=tuple(verdict.failed),
                         cert_expiry_days=_days_left(fetched, at))


def _session(max_workers: int) -> requests.Session:
    session = requests.Session()
    session.trust_env = False                  # no proxies or .netrc from the environment
    session.max_redirects = MAX_REDIRECTS
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # checks share it
    session.headers["User-Agent"] = "lifeline-http-check"
    adapter = HTTPAdapter(pool_connections=64, pool_maxsize=max_workers, max_retries=0)
    _abort.install(adapter)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # verify_tls: false is a per-check decision written in the config; don't warn per poll.
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return session


def _judge(check: _Check, fetched: Fetched) -> _Verdict:
    spec = check.spec
    if fetched.failure is not None and not fetched.too_large:
        code = fetched.code or _FAILURE_CODES[fetched.failure]
        return _Verdict(code, fetched.failure, fetched.error)
    assert fetched.status is not None
    if fetched.status not in spec.expect_status:
        code = ResultCode.AUTH_FAILURE if fetched.status == 401 else ResultCode.BAD_RESPONSE
        expected = ", ".join(map(str, spec.expect_status))
        return _Verdict(code, HttpResult.RESPONSE_STATUS_CODE_MISMATCH,
                        f"status {fetched.status}, expected {expected}")
    if fetched.too_large:
        return _Verdict(ResultCode.BAD_RESPONSE, HttpResult.BODY_READ_ERROR, fetched.error)
    return _judge_body(check, fetched)


def _judge_body(check: _Check, fetched: Fetched) -> _Verdict:
    spec = check.spec
    failed: list[str] = []
    text = fetched.body.decode(fetched.encoding or "utf-8", errors="replace")
    if spec.expect_text is not None and spec.expect_text not in text:
        failed.append(f"body does not contain {spec.expect_text!r}")
    if check.regex is not None and check.regex.search(text) is None:
        failed.append(f"body does not match /{check.regex.pattern}/")
    document, bad_json = _document(check, fetched)
    if bad_json:
        failed.append(bad_json)
    elif check.expectations:
        failed += [why for e in check.expectations if (why := e.check(document)) is not None]
    if failed:
        return _Verdict(ResultCode.BAD_RESPONSE, HttpResult.RESPONSE_STRING_MISMATCH,
                        "; ".join(failed)[:500], failed, document, False)
    return _Verdict(ResultCode.SUCCESS, HttpResult.SUCCESS, None, [], document,
                    True if check.checks_body else None)


def _document(check: _Check, fetched: Fetched) -> tuple[JsonValue, str | None]:
    """The body as JSON when the check wants it (expect_json, kiosk profile) or the server
    says it is JSON; the second item says why it is not, when it must be."""
    must = bool(check.expectations) or check.spec.profile == "kiosk"
    if not (must or "json" in fetched.content_type.lower()):
        return None, None
    try:
        return bounded_json(fetched.body), None
    except JsonRefusedError as exc:
        return None, (str(exc) if must else None)


def _days_left(fetched: Fetched, at: datetime) -> float | None:
    if fetched.cert_not_after is None:
        return None
    return round((fetched.cert_not_after - at).total_seconds() / 86400, 3)


__all__ = ["JSON_FACTS_MAX", "MAX_WORKERS", "HttpCollector"]

"""The TCP collector (`poll.protocol: tcp`): connect to a port, optionally send a string
and expect a reply; Telegraf's `net_response` measurement.

Public API: `TcpCollector.from_config(config)`, a `collectors.base.Collector`; `ENTRIES`
and `TAGS`, this collector's part of the metric catalogue.

An attempt connects to `poll.address` (host:port: RTSP 554 on a camera, a kiosk's service
port), writes `poll.send` if given, and when `poll.expect_text` or `poll.expect_regex` is
given reads until the reply holds it (at most 64 KiB), the server closes, or the attempt's
`poll.timeout` ends: the whole attempt, connect and reply, takes at most `timeout`. Only a
connect that timed out or failed is tried again (`poll.retries`).

| outcome                          | result (tag) / result_code | poll result_code   |
|----------------------------------|----------------------------|--------------------|
| connected (and the reply held)   | success / 0                | success            |
| no connection within the timeout | timeout / 1                | timeout            |
| refused, unreachable, no name    | connection_failed / 2      | connection_error   |
| connected, no reply in time, or  | read_failed / 3            | bad_response       |
| closed before one                |                            |                    |
| a reply without the expected text| string_mismatch / 4        | bad_response       |

A port that accepts and never answers is a device that is up with a service that is not:
`device_bad_answer`, not `device_down`.
"""
from __future__ import annotations

import asyncio
import re
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING

from collectors.base import FieldValue, PollResult, ResultCode, Sample, device_tags, poll_sample
from collectors.catalogue_entry import Entry, MeasurementTags

if TYPE_CHECKING:
    from inventory.model import Config, Device, PollSpec

MEASUREMENT = "net_response"
MAX_REPLY = 64 * 1024


class TcpResult(IntEnum):
    """Telegraf's `net_response` result_code (the `result` tag is the lower-case name)."""

    SUCCESS = 0
    TIMEOUT = 1
    CONNECTION_FAILED = 2
    READ_FAILED = 3
    STRING_MISMATCH = 4

    @property
    def label(self) -> str:
        return self.name.lower()


_CODES = ", ".join(f"{r.value} {r.label}" for r in TcpResult)
_POLL_CODES = {TcpResult.SUCCESS: ResultCode.SUCCESS, TcpResult.TIMEOUT: ResultCode.TIMEOUT,
               TcpResult.CONNECTION_FAILED: ResultCode.CONNECTION_ERROR,
               TcpResult.READ_FAILED: ResultCode.BAD_RESPONSE,
               TcpResult.STRING_MISMATCH: ResultCode.BAD_RESPONSE}

ENTRIES: tuple[Entry, ...] = (
    Entry(MEASUREMENT, "response_time", "gauge", "seconds",
          "time to connect, or to the expected reply when expect_* is set"),
    Entry(MEASUREMENT, "result_code", "enum", "", f"Telegraf's result ({_CODES})"),
    Entry(MEASUREMENT, "string_found", "gauge", "boolean",
          "1 when the reply held expect_text / expect_regex (only when one is set)"),
)
TAGS: MeasurementTags = {MEASUREMENT: ["server", "port", "protocol", "result", "result_type"]}


@dataclass(frozen=True, slots=True)
class _Outcome:
    result: TcpResult
    response_time: float | None = None
    error: str | None = None
    string_found: bool | None = None


class TcpCollector:
    """Runs TCP checks on the event loop (no threads). One per process."""

    def __init__(self, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._now = now
        self._regex: dict[str, re.Pattern[str]] = {}

    @classmethod
    def from_config(cls, config: Config) -> TcpCollector:
        return cls()

    async def aclose(self) -> None:
        return None

    async def collect(self, device: Device) -> PollResult:
        """Check once; every failure is returned as a result code and an error."""
        started = self._now()
        t0 = _time.perf_counter()
        spec = device.poll
        if spec is None or spec.protocol != "tcp" or not spec.address or not spec.port:
            outcome = _Outcome(TcpResult.CONNECTION_FAILED,
                               error=f"device {device.id} has no tcp poll settings (host:port)")
            code = ResultCode.CONFIG_ERROR
        else:
            outcome = await self._attempts(spec)
            code = _POLL_CODES[outcome.result]
        duration = _time.perf_counter() - t0
        host = spec.address if spec else None
        tags = device_tags(device, agent_host=host, hostname=None)
        samples: list[Sample] = []
        if spec is not None and spec.address and spec.port:
            samples.append(_sample(tags, spec, outcome, started))
        samples.append(poll_sample(code, duration, tags, started))
        return PollResult(device_id=device.id, code=code, started=started, duration=duration,
                          error=outcome.error, samples=tuple(samples))

    async def _attempts(self, spec: PollSpec) -> _Outcome:
        outcome = _Outcome(TcpResult.TIMEOUT, error="not attempted")
        for _ in range(spec.retries + 1):
            outcome = await self._attempt(spec)
            if outcome.result not in (TcpResult.TIMEOUT, TcpResult.CONNECTION_FAILED):
                break
        return outcome

    async def _attempt(self, spec: PollSpec) -> _Outcome:
        assert spec.address is not None and spec.port is not None
        t0 = _time.perf_counter()
        deadline = asyncio.get_running_loop().time() + spec.timeout
        try:
            async with asyncio.timeout_at(deadline):
                reader, writer = await asyncio.open_connection(spec.address, spec.port)
        except TimeoutError:
            return _Outcome(TcpResult.TIMEOUT,
                            error=f"no connection within {spec.timeout:g} s")
        except OSError as exc:
            return _Outcome(TcpResult.CONNECTION_FAILED, error=_why(exc))
        try:
            return await self._converse(spec, reader, writer, deadline, t0)
        finally:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 0.5)
            except (OSError, TimeoutError):
                pass

    async def _converse(self, spec: PollSpec, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter, deadline: float, t0: float) -> _Outcome:
        connected = _time.perf_counter() - t0
        expecting = spec.expect_text is not None or spec.expect_regex is not None
        try:
            async with asyncio.timeout_at(deadline):
                if spec.send is not None:
                    writer.write(spec.send.encode())
                    await writer.drain()
                if not expecting:
                    return _Outcome(TcpResult.SUCCESS, connected)
                reply, found = await self._read(spec, reader)
        except TimeoutError:
            return _Outcome(TcpResult.READ_FAILED, error=f"connected, but no reply within "
                                                         f"{spec.timeout:g} s")
        except OSError as exc:
            return _Outcome(TcpResult.READ_FAILED, error=f"connected, then {_why(exc)}")
        elapsed = _time.perf_counter() - t0
        if found:
            return _Outcome(TcpResult.SUCCESS, elapsed, string_found=True)
        if not reply:
            return _Outcome(TcpResult.READ_FAILED, elapsed, "connected, but the server closed "
                                                            "without a reply")
        shown = reply[:80].decode("utf-8", errors="replace").encode("unicode_escape").decode()
        return _Outcome(TcpResult.STRING_MISMATCH, elapsed,
                        f"reply does not hold the expected text: {shown!r}", False)

    async def _read(self, spec: PollSpec, reader: asyncio.StreamReader) -> tuple[bytes, bool]:
        """Read until the reply holds the expectation, the server closes, or 64 KiB."""
        reply = b""
        while len(reply) < MAX_REPLY:
            chunk = await reader.read(MAX_REPLY - len(reply))
            if not chunk:
                return reply, False
            reply += chunk
            if self._holds(spec, reply.decode("utf-8", errors="replace")):
                return reply, True
        return reply, False

    def _holds(self, spec: PollSpec, text: str) -> bool:
        if spec.expect_text is not None and spec.expect_text not in text:
            return False
        if spec.expect_regex is not None:
            pattern = self._regex.get(spec.expect_regex)
            if pattern is None:
                pattern = self._regex[spec.expect_regex] = re.compile(spec.expect_regex)
            return pattern.search(text) is not None
        return True


def _why(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return exc.strerror or str(exc) or type(exc).__name__


def _sample(tags: dict[str, str], spec: PollSpec, outcome: _Outcome, at: datetime) -> Sample:
    label = outcome.result.label
    point_tags = {**tags, "server": spec.address or "", "port": str(spec.port),
                  "protocol": "tcp", "result": label, "result_type": label}
    fields: dict[str, FieldValue] = {"result_code": int(outcome.result)}
    if outcome.response_time is not None:
        fields["response_time"] = round(outcome.response_time, 6)
    if outcome.string_found is not None:
        fields["string_found"] = int(outcome.string_found)
    return Sample(MEASUREMENT, point_tags, fields, at)


__all__ = ["ENTRIES", "MEASUREMENT", "TAGS", "TcpCollector", "TcpResult"]

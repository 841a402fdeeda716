"""The TCP collector against real listeners on loopback: one that answers like an RTSP
camera, a closed port, one that accepts and never answers, one that answers the wrong
thing, one that closes at once."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest

from collectors.base import PollResult, ResultCode
from collectors.catalogue import read, undeclared
from collectors.tcp import TcpCollector, TcpResult
from inventory.model import Device, PollSpec

pytestmark = pytest.mark.peer   # real listening sockets

OPTIONS = "OPTIONS rtsp://camera/ RTSP/1.0\r\nCSeq: 1\r\n\r\n"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def camera(port: int, **poll: object) -> Device:
    poll.setdefault("timeout", 0.5)
    poll.setdefault("retries", 0)
    return Device(id="cam-1", name="camera", category="cctv_camera", site="cctv-center",
                  poll=PollSpec(protocol="tcp", address="127.0.0.1", port=port,
                                **poll))  # type: ignore[arg-type]


async def rtsp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = await reader.readuntil(b"\r\n\r\n")
    assert request.startswith(b"OPTIONS ")
    writer.write(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: DESCRIBE, SETUP, PLAY\r\n\r\n")
    await writer.drain()
    writer.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(5)          # accepts, reads nothing, answers nothing
    writer.close()


async def wrong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    await writer.drain()
    writer.close()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


def check(handler: Handler | None, **poll: object) -> PollResult:
    """One check against a listener running `handler` (None: a closed port)."""
    async def run() -> PollResult:
        collector = TcpCollector()
        if handler is None:
            with socket.socket() as s:          # a port that was free a moment ago
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            return await collector.collect(camera(port, **poll))
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await collector.collect(camera(port, **poll))
        finally:
            server.close()
            await collector.aclose()
    return asyncio.run(run())


def point(result: PollResult) -> tuple[dict[str, str], dict[str, object]]:
    sample = next(s for s in result.samples if s.measurement == "net_response")
    return dict(sample.tags), dict(sample.fields)


def test_a_port_that_accepts_is_up_with_the_connect_time() -> None:
    result = check(silent)
    assert result.code is ResultCode.SUCCESS and result.error is None
    tags, fields = point(result)
    assert tags["result"] == "success" and tags["protocol"] == "tcp"
    assert tags["server"] == "127.0.0.1" and tags["port"].isdigit()
    assert fields["result_code"] == TcpResult.SUCCESS
    assert 0 < fields["response_time"] < 0.5  # type: ignore[operator]
    assert "string_found" not in fields
    assert undeclared(result.samples, read()) == []


def test_send_and_expect_an_rtsp_answer() -> None:
    result = check(rtsp, send=OPTIONS, expect_text="RTSP/1.0 200")
    assert result.code is ResultCode.SUCCESS, result.error
    assert point(result)[1]["string_found"] == 1
    regex = check(rtsp, send=OPTIONS, expect_regex=r"^RTSP/1\.\d 200")
    assert regex.code is ResultCode.SUCCESS, regex.error


def test_a_closed_port_is_a_connection_error() -> None:
    result = check(None, retries=1)
    assert result.code is ResultCode.CONNECTION_ERROR and not result.reachable
    assert result.error == "connection refused"
    tags, fields = point(result)
    assert tags["result"] == "connection_failed" and fields["result_code"] == 2
    assert "response_time" not in fields


def test_a_listener_that_never_answers_is_a_bad_answer_not_an_outage() -> None:
    result = check(silent, send=OPTIONS, expect_text="RTSP/1.0", timeout=0.4)
    assert result.code is ResultCode.BAD_RESPONSE and result.reachable
    assert result.error == "connected, but no reply within 0.4 s"
    assert point(result)[0]["result"] == "read_failed"
    assert result.duration < 1.5


def test_a_wrong_reply_is_a_string_mismatch() -> None:
    result = check(wrong, send=OPTIONS, expect_text="RTSP/1.0 200")
    assert result.code is ResultCode.BAD_RESPONSE
    assert result.error is not None and "HTTP/1.1 400" in result.error
    tags, fields = point(result)
    assert tags["result"] == "string_mismatch" and fields["string_found"] == 0


def test_a_server_that_hangs_up_at_once_gave_no_reply() -> None:
    result = check(hang_up, expect_text="SSH-2.0")
    assert result.code is ResultCode.BAD_RESPONSE
    assert result.error == "connected, but the server closed without a reply"

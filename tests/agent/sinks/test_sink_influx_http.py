"""The InfluxDB sink against an HTTP server the test controls (real sockets on loopback).

VictoriaMetrics accepts every token and ignores most bad lines, so the answers it never
gives (401, 400, 429, 500) come from this server; influxdb-client talks to it as to
InfluxDB. What the server accepted is recorded in order, decompressed.
"""
from __future__ import annotations

import gzip
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from agent.sinks.influx import InfluxSink, RetryPolicy
from agent.sinks.influx_write import InfluxTransport, InfluxWriteError
from agent.sinks.spool import Spool
from collectors.base import Sample
from config.model import InfluxSettings, SecretRef

from kits.waiting import eventually

FAST = RetryPolicy(initial=0.02, maximum=0.1, config_error=0.05)
Answer = tuple[int, dict[str, str], bytes]


class Recorder:
    """A fake InfluxDB write endpoint: `answer(request)` decides each reply."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.accepted: list[bytes] = []
        self.answer: Callable[[dict], Answer] = lambda request: (204, {}, b"")
        self.lock = threading.Lock()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        body = gzip.decompress(raw) if handler.headers.get("Content-Encoding") == "gzip" else raw
        url = urlparse(handler.path)
        request = {"path": url.path, "query": parse_qs(url.query), "body": body,
                   "headers": dict(handler.headers)}
        status, headers, reply = self.answer(request)
        with self.lock:
            self.requests.append(request)
            if 200 <= status < 300:
                self.accepted += body.splitlines()
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(reply)))
        handler.end_headers()
        handler.wfile.write(reply)


@pytest.fixture
def server() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            recorder.handle(self)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield recorder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def samples(count: int, start: int = 0, **extra_tags: str) -> list[Sample]:
    base = datetime(2030, 1, 1, tzinfo=UTC)
    return [Sample("ups", {"device_id": "ups-1", **extra_tags}, {"charge": i},
                   base + timedelta(seconds=i)) for i in range(start, start + count)]


def make_sink(tmp_path: Path, url: str, token: SecretRef | None = None,
              batch_size: int = 100) -> InfluxSink:
    settings = InfluxSettings(url=url, org="district", bucket="infra", token=token,
                              batch_size=batch_size, flush_interval=0.05)
    return InfluxSink(settings, Spool(tmp_path / "spool", 10**7), retry=FAST)


def charges(lines: list[bytes]) -> list[int]:
    return [int(line.split(b"charge=")[1].split(b"i")[0]) for line in lines]


def test_writes_are_gzipped_line_protocol_with_token_org_bucket_and_ns(server, tmp_path,
                                                                       monkeypatch):
    recorder, url = server
    monkeypatch.setenv("LL_TEST_INFLUX_TOKEN", "tok-Secret-1")
    sink = make_sink(tmp_path, url, SecretRef(env="LL_TEST_INFLUX_TOKEN"))
    sink.write(samples(10))
    eventually(lambda: len(recorder.accepted) == 10)
    sink.close()
    request = recorder.requests[0]
    assert request["path"] == "/api/v2/write"
    assert request["query"] == {"org": ["district"], "bucket": ["infra"], "precision": ["ns"]}
    assert request["headers"]["Content-Encoding"] == "gzip"
    assert request["headers"]["Authorization"] == "Token tok-Secret-1"
    assert recorder.accepted[0] == b"ups,device_id=ups-1 charge=0i 1893456000000000000"
    assert sink.stats().points_written == 10


def test_a_5xx_is_retried_and_every_point_arrives_once_in_order(server, tmp_path, caplog):
    recorder, url = server
    failures = iter([(500, {}, b'{"message":"engine down"}')] * 3)
    recorder.answer = lambda request: next(failures, (204, {}, b""))
    sink = make_sink(tmp_path, url, batch_size=7)
    with caplog.at_level(logging.INFO, logger="lifeline.sinks.influx"):
        for start in range(0, 30, 10):
            sink.write(samples(10, start))
        eventually(lambda: len(recorder.accepted) >= 30)
        sink.close()
    assert charges(recorder.accepted) == list(range(30))
    stats = sink.stats()
    assert (stats.points_written, stats.write_errors, stats.points_pending) == (30, 3, 0)
    assert stats.last_error == "HTTP 500: engine down"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "engine down" in warnings[0].getMessage()
    assert any("accepts writes again" in r.getMessage() for r in caplog.records)
    assert json.loads(json.dumps(stats.as_json()))["last_error"] == "HTTP 500: engine down"


def test_429_retry_after_is_read_from_the_real_answer(server):
    recorder, url = server
    recorder.answer = lambda request: (429, {"Retry-After": "7"}, b'{"message":"slow down"}')
    transport = InfluxTransport(InfluxSettings(url=url, org="o", bucket="b"))
    with pytest.raises(InfluxWriteError) as caught:
        transport.send(b"m v=1i 1\n")
    failure = caught.value
    assert (failure.kind, failure.status, failure.retry_after) == ("retry", 429, 7.0)
    assert FAST.delay(failure, 1) == 7.0
    assert RetryPolicy(max_retry_after=5).delay(failure, 1) == 5


def test_backoff_doubles_up_to_its_maximum():
    failure = InfluxWriteError("retry", "refused")
    policy = RetryPolicy(initial=1, maximum=60)
    assert [policy.delay(failure, n) for n in (1, 2, 3, 7, 8, 100)] == [1, 2, 4, 60, 60, 60]


def test_a_bad_token_is_reported_once_kept_and_sent_after_the_file_is_fixed(
        server, tmp_path, caplog):
    recorder, url = server
    token_file = tmp_path / "influx.token"
    token_file.write_text("tok-Wrong-777\n")
    recorder.answer = lambda request: (
        (204, {}, b"") if request["headers"].get("Authorization") == "Token tok-Right-1"
        else (401, {}, b'{"code":"unauthorized","message":"unauthorized access"}'))
    sink = make_sink(tmp_path, url, SecretRef(file=token_file))
    with caplog.at_level(logging.INFO, logger="lifeline.sinks.influx"):
        sink.write(samples(5))
        eventually(lambda: sink.stats().write_errors >= 3)
        stats = sink.stats()
        assert stats.points_pending == 5 and stats.points_written == 0
        assert stats.last_error == "HTTP 401: unauthorized access"
        token_file.write_text("tok-Right-1\n")       # the operator fixes it; no restart
        eventually(lambda: len(recorder.accepted) == 5)
        sink.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "401" in errors[0] and "fix the token" in errors[0]
    assert not any("tok-Wrong" in r.getMessage() or "tok-Right" in r.getMessage()
                   for r in caplog.records)
    assert sink.stats().points_written == 5


def test_a_token_echoed_by_the_server_never_reaches_stats(server, tmp_path, monkeypatch):
    recorder, url = server
    monkeypatch.setenv("LL_TEST_INFLUX_TOKEN", "tok-Echo-42")
    recorder.answer = lambda request: (
        500, {}, json.dumps({"message": f"bad {request['headers']['Authorization']}"}).encode())
    sink = make_sink(tmp_path, url, SecretRef(env="LL_TEST_INFLUX_TOKEN"))
    sink.write(samples(1))
    eventually(lambda: sink.stats().write_errors >= 1)
    sink.close(timeout=0.1)
    assert "tok-Echo-42" not in (sink.stats().last_error or "")
    assert "***" in (sink.stats().last_error or "")


def test_a_rejected_point_is_isolated_and_dropped_the_rest_delivered_in_order(
        server, tmp_path, caplog):
    recorder, url = server
    recorder.answer = lambda request: (
        (400, {}, b'{"code":"invalid","message":"unable to parse"}')
        if b"poison" in request["body"] else (204, {}, b""))
    sink = make_sink(tmp_path, url, batch_size=20)
    points = samples(7) + samples(1, 7, poison="yes") + samples(12, 8)
    with caplog.at_level(logging.ERROR, logger="lifeline.sinks.influx"):
        sink.write(points)
        eventually(lambda: sink.stats().points_rejected == 1 and not sink.stats().points_pending)
        sink.close()
    assert charges(recorder.accepted) == [i for i in range(20) if i != 7]
    assert [r for r in caplog.records if "rejected a point" in r.getMessage()
            and "poison=yes" in r.getMessage()]


def test_close_leaves_what_cannot_go_in_the_spool_for_the_next_sink(server, tmp_path):
    recorder, url = server
    recorder.answer = lambda request: (503, {}, b"")
    sink = make_sink(tmp_path, url)
    sink.write(samples(4))
    sink.close(timeout=0.2)
    assert sink.stats().points_pending == 4
    with pytest.raises(RuntimeError, match="closed"):
        sink.write(samples(1))
    recorder.answer = lambda request: (204, {}, b"")
    again = make_sink(tmp_path, url)
    eventually(lambda: len(recorder.accepted) == 4)
    again.close()
    assert charges(recorder.accepted) == [0, 1, 2, 3]


def test_an_outage_does_not_fdatasync_the_spool_on_every_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    syncs = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (syncs.append(fd), real(fd)))
    # Nothing listens on port 9: every send is refused, the sender backs off. Its clock
    # stands still, so the backoff lasts through the writes however long they take here.
    settings = InfluxSettings(url="http://127.0.0.1:9", org="o", bucket="b", batch_size=20,
                              flush_interval=60.0)
    sink = InfluxSink(settings, Spool(tmp_path / "spool", 1 << 20), monotonic=lambda: 1000.0)
    try:
        sink.write(samples(20))                 # a full batch: sent, refused
        eventually(lambda: sink.stats().write_errors >= 1, "the first refused send")
        for i in range(100):            # five full batches' worth, while backing off
            sink.write(samples(10, start=20 + 10 * i))
        writes_synced = len(syncs)
    finally:
        sink.close(0.1)
    assert sink.stats().points_pending == 1020
    # One sync before the first (failed) send; none per write while backing off.
    assert writes_synced <= 3, writes_synced


def test_the_v1_write_is_gzipped_line_protocol_to_write_with_db_rp_and_basic_auth(
        server, tmp_path, monkeypatch):
    recorder, url = server
    monkeypatch.setenv("LL_TEST_INFLUX_USER", "noc-writer")
    monkeypatch.setenv("LL_TEST_INFLUX_PASSWORD", "pw-Secret-5")
    settings = InfluxSettings(url=url + "/", api="v1", database="infra", retention_policy="",
                              username=SecretRef(env="LL_TEST_INFLUX_USER"),
                              password=SecretRef(env="LL_TEST_INFLUX_PASSWORD"),
                              flush_interval=0.05)
    sink = InfluxSink(settings, Spool(tmp_path / "spool", 10**7), retry=FAST)
    sink.write(samples(3))
    eventually(lambda: len(recorder.accepted) == 3)
    sink.close()
    request = recorder.requests[0]
    assert request["path"] == "/write"
    assert request["query"] == {"db": ["infra"], "precision": ["ns"]}    # no rp: the default
    assert request["headers"]["Content-Encoding"] == "gzip"
    assert request["headers"]["Authorization"] == "Basic bm9jLXdyaXRlcjpwdy1TZWNyZXQtNQ=="
    assert recorder.accepted[0] == b"ups,device_id=ups-1 charge=0i 1893456000000000000"


def test_a_password_echoed_by_a_v1_server_never_reaches_stats(server, tmp_path, monkeypatch):
    recorder, url = server
    monkeypatch.setenv("LL_TEST_INFLUX_PASSWORD", "pw-Echo-8")
    recorder.answer = lambda request: (
        500, {}, json.dumps({"error": f"bad {request['headers']['Authorization']} "
                                      "pw-Echo-8"}).encode())
    settings = InfluxSettings(url=url, api="v1", database="infra", username="noc",
                              password=SecretRef(env="LL_TEST_INFLUX_PASSWORD"),
                              flush_interval=0.05)
    sink = InfluxSink(settings, Spool(tmp_path / "spool", 10**7), retry=FAST)
    sink.write(samples(1))
    eventually(lambda: sink.stats().write_errors >= 1)
    sink.close(timeout=0.1)
    error = sink.stats().last_error or ""
    assert error.startswith("HTTP 500: bad Basic ***") and "pw-Echo-8" not in error

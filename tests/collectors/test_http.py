"""The HTTP collector against a real local HTTP/HTTPS server (tests/peers/http.py),
including the bad servers: hanging, dripping, 3 GiB, redirect loops, bad certificates,
invalid JSON; and a slow check that does not hold up the others."""
from __future__ import annotations

import asyncio
import json
import logging
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collectors.base import PollResult, ResultCode
from collectors.catalogue import read, undeclared
from collectors.http._fetch import MAX_BODY
from collectors.http.collector import HttpCollector
from config.expectations import parse
from config.model import HttpCredentials, SecretRef
from inventory.model import Device, PollSpec

from kits.facts import http_facts
from peers.http import BASIC, TOKEN, HttpPeer, default_health, start_http_peer
from peers.snmp import stop
from tests.conftest import run_lifeline

pytestmark = pytest.mark.peer    # a real HTTP/HTTPS server process

CREDENTIALS = {
    "basic": HttpCredentials("basic", username=BASIC[0],
                             password=SecretRef(env="LL_TEST_KIOSK_PASSWORD")),
    "bearer": HttpCredentials("bearer", token=SecretRef(env="LL_TEST_KIOSK_TOKEN")),
    "unset": HttpCredentials("unset", token=SecretRef(env="LL_TEST_NOT_SET_ANYWHERE")),
}


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpPeer]:
    server = start_http_peer(tmp_path_factory.mktemp("http-peer"))
    yield server
    stop(server.proc)


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LL_TEST_KIOSK_PASSWORD", BASIC[1])
    monkeypatch.setenv("LL_TEST_KIOSK_TOKEN", TOKEN)
    monkeypatch.delenv("LL_TEST_NOT_SET_ANYWHERE", raising=False)


def device(url: str, device_id: str = "kiosk-1", **poll: Any) -> Device:
    poll.setdefault("timeout", 2.0)
    poll.setdefault("retries", 0)
    # written as in the YAML; the loader parses them once
    poll["expect_json"] = tuple(parse(text) for text in poll.get("expect_json", ()))
    return Device(id=device_id, name="kiosk", category="kiosk", site="district-hall",
                  poll=PollSpec(protocol="http", url=url, **poll))


def check(*devices: Device) -> list[PollResult]:
    async def run() -> list[PollResult]:
        collector = HttpCollector(CREDENTIALS)
        try:
            return list(await asyncio.gather(*(collector.collect(d) for d in devices)))
        finally:
            await collector.aclose()

    return asyncio.run(run())


def point(result: PollResult, measurement: str = "http_response") -> Any:
    found = [s for s in result.samples if s.measurement == measurement]
    assert len(found) == 1, [s.measurement for s in result.samples]
    return found[0]


def set_health(peer: HttpPeer, health: dict[str, Any]) -> None:
    requests.post(f"{peer.http}/health", data=json.dumps(health), timeout=5).raise_for_status()


# --- answers that are fine ---------------------------------------------------------------

def test_a_good_check_reports_telegraf_fields_and_common_tags(peer: HttpPeer) -> None:
    [result] = check(device(f"{peer.http}/ok", expect_text="lifeline"))
    assert (result.code, result.error) == (ResultCode.SUCCESS, None)
    p = point(result)
    assert p.tags["server"] == f"{peer.http}/ok" and p.tags["method"] == "GET"
    assert (p.tags["status_code"], p.tags["result"], p.tags["result_type"]) == (
        "200", "success", "success")
    assert p.tags["agent_host"] == peer.http.removeprefix("http://")
    assert {"device_id", "category", "site"} <= set(p.tags)
    assert p.fields["http_response_code"] == 200 and p.fields["result_code"] == 0
    assert p.fields["content_length"] == len(b"lifeline ok")
    assert p.fields["response_string_match"] == 1
    assert p.fields["response_time"] >= 0 and "cert_expiry_days" not in p.fields
    assert point(result, "lifeline_poll").fields["up"] == 1
    assert undeclared(result.samples, read()) == []


def test_redirects_are_followed_and_headers_and_body_are_sent(peer: HttpPeer) -> None:
    followed, echoed = check(
        device(f"{peer.http}/redirect", "a", expect_text="lifeline ok"),
        device(f"{peer.http}/echo", "b", method="POST", body="probe=1",
               headers=(("X-Kiosk", "k-1"),), expect_json=('method == "POST"',
                                                           'headers.X-Kiosk == "k-1"',
                                                           'body == "probe=1"')))
    assert followed.code is ResultCode.SUCCESS
    assert echoed.code is ResultCode.SUCCESS, echoed.error
    assert http_facts(echoed).document["headers"]["User-Agent"] == "lifeline-http-check"


def test_status_mismatch_and_401(peer: HttpPeer) -> None:
    down, refused, listed = check(
        device(f"{peer.http}/status/503", "a"), device(f"{peer.http}/auth", "b"),
        device(f"{peer.http}/status/503", "c", expect_status=(200, 503)))
    assert down.code is ResultCode.BAD_RESPONSE and down.error == "status 503, expected 200"
    assert point(down).fields["result_code"] == 6
    assert point(down).tags["result"] == "response_status_code_mismatch"
    assert point(down).fields["response_status_code_match"] == 0
    assert refused.code is ResultCode.AUTH_FAILURE
    assert listed.code is ResultCode.SUCCESS


def test_basic_and_bearer_credentials_from_the_environment(peer: HttpPeer) -> None:
    basic, bearer, unset = check(
        device(f"{peer.http}/auth", "a", credentials="basic"),
        device(f"{peer.http}/auth", "b", credentials="bearer"),
        device(f"{peer.http}/auth", "c", credentials="unset"))
    assert (basic.code, bearer.code) == (ResultCode.SUCCESS, ResultCode.SUCCESS)
    assert unset.code is ResultCode.CONFIG_ERROR
    assert unset.error == ("credentials unset: environment variable LL_TEST_NOT_SET_ANYWHERE "
                           "is not set")
    for result in (basic, bearer, unset):
        assert BASIC[1] not in repr(result) and TOKEN not in repr(result)


def test_proxies_from_the_environment_are_ignored(peer: HttpPeer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy on a closed port: a check that used it would fail to connect.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    [result] = check(device(f"{peer.http}/ok"))
    assert result.code is ResultCode.SUCCESS, result.error


def test_connections_are_reused(peer: HttpPeer) -> None:
    def accepted() -> int:
        return int(requests.get(f"{peer.http}/connections", timeout=5).json()["connections"])

    async def three_polls() -> list[PollResult]:
        collector = HttpCollector(CREDENTIALS)
        try:
            return [await collector.collect(device(f"{peer.http}/ok")) for _ in range(3)]
        finally:
            await collector.aclose()

    before = accepted()
    results = asyncio.run(three_polls())
    assert all(r.code is ResultCode.SUCCESS for r in results)
    assert accepted() - before == 2, "one connection for three polls (+1 for /connections)"


# --- JSON expectations and the kiosk profile ---------------------------------------------

def test_json_expectations_and_the_kiosk_point(peer: HttpPeer) -> None:
    set_health(peer, default_health())
    [result] = check(device(f"{peer.http}/health", profile="kiosk",
                            expect_json=('printer.paper == "ok"', "uptime_s > 60",
                                         "card_reader.ok == true")))
    assert result.code is ResultCode.SUCCESS, result.error
    assert http_facts(result).document["printer"]["paper_level"] == 80
    kiosk = point(result, "kiosk")
    assert kiosk.fields["printer_paper_level"] == 80 and kiosk.fields["card_reader_ok"] == 1
    assert kiosk.fields["uptime_s"] == 3600
    assert 200 < kiosk.fields["last_issuance_age_seconds"] < 3600
    assert kiosk.tags["printer_paper"] == "ok" and kiosk.tags["serial"] == "KIOSK-01"
    assert kiosk.tags["device_id"] == "kiosk-1"
    assert all(not isinstance(v, str) for v in kiosk.fields.values())
    assert undeclared(result.samples, read()) == []


def test_paper_out_fails_its_expectation_with_the_facts_kept(peer: HttpPeer) -> None:
    health = default_health()
    health["printer"].update(paper="out", paper_level=0)
    health["uptime_s"] = 12
    set_health(peer, health)
    try:
        [result] = check(device(f"{peer.http}/health", profile="kiosk",
                                expect_json=('printer.paper == "ok"', "uptime_s > 60",
                                             "card_reader.missing == 1")))
    finally:
        set_health(peer, default_health())
    assert result.code is ResultCode.BAD_RESPONSE
    assert http_facts(result).failed_expectations == (
        'printer.paper == "ok": printer.paper is "out"', "uptime_s > 60: uptime_s is 12",
        "card_reader.missing == 1: card_reader.missing is missing")
    assert http_facts(result).document["printer"]["paper"] == "out"
    assert point(result).fields["result_code"] == 1
    assert point(result).fields["response_string_match"] == 0
    assert point(result, "kiosk").tags["printer_paper"] == "out"


def test_invalid_json_is_a_bad_response(peer: HttpPeer) -> None:
    [result] = check(device(f"{peer.http}/not-json", expect_json=("a == 1",)))
    assert result.code is ResultCode.BAD_RESPONSE
    assert result.error is not None and result.error.startswith("body is not valid JSON")
    assert point(result).tags["result"] == "response_string_mismatch"


@pytest.mark.parametrize("depth", [100_000, 200])
def test_json_nested_too_deep_is_a_bad_response_without_a_traceback(
        peer: HttpPeer, depth: int, caplog: pytest.LogCaptureFixture) -> None:
    # 100,000 levels break Python's decoder itself; 200 decode but are still refused.
    body = '{"printer": ' + "[" * depth + "]" * depth + "}"
    requests.post(f"{peer.http}/health", data=body, timeout=5).raise_for_status()
    caplog.set_level(logging.DEBUG)
    try:
        [result] = check(device(f"{peer.http}/health", profile="kiosk"))
    finally:
        set_health(peer, default_health())
    assert result.code is ResultCode.BAD_RESPONSE
    assert result.error == "body is JSON nested more than 64 levels deep"
    assert point(result).tags["result"] == "response_string_mismatch"
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


def test_regex_mismatch(peer: HttpPeer) -> None:
    ok, bad = check(device(f"{peer.http}/ok", "a", expect_regex=r"^lifeline\s+ok$"),
                    device(f"{peer.http}/ok", "b", expect_regex=r"^kiosk"))
    assert ok.code is ResultCode.SUCCESS
    assert (bad.code, bad.error) == (ResultCode.BAD_RESPONSE, "body does not match /^kiosk/")


# --- servers that misbehave --------------------------------------------------------------

def test_a_server_that_never_answers_times_out(peer: HttpPeer) -> None:
    [result] = check(device(f"{peer.http}/hang", timeout=0.5))
    assert result.code is ResultCode.TIMEOUT and not result.reachable
    assert point(result).fields["result_code"] == 4
    assert point(result, "lifeline_poll").fields["up"] == 0
    requests.get(f"{peer.http}/release", timeout=5)


def test_a_dripping_body_is_bounded_by_the_timeout_not_per_read(peer: HttpPeer) -> None:
    # One byte every 0.1 s never trips a 0.5 s per-read timeout: only an overall one ends it.
    [result] = check(device(f"{peer.http}/drip", timeout=0.5))
    assert result.code is ResultCode.TIMEOUT, result.error
    assert result.error == "body not read within the timeout"
    assert point(result).fields["http_response_code"] == 200


def test_dripping_headers_end_at_the_deadline_and_free_the_worker(peer: HttpPeer) -> None:
    # requests' per-read timeouts never end this; the event loop gives up at the deadline
    # and shuts the socket, so the only worker thread is free for the next check at once
    # (were it still held by the drip, the /ok check would time out waiting for it).
    async def run() -> tuple[PollResult, PollResult]:
        collector = HttpCollector(CREDENTIALS, max_workers=1)
        try:
            dripped = await collector.collect(device(f"{peer.http}/drip-headers", "a",
                                                     timeout=0.5))
            return dripped, await collector.collect(device(f"{peer.http}/ok", "b",
                                                           timeout=5.0))
        finally:
            await collector.aclose()

    dripped, after = asyncio.run(run())
    assert dripped.code is ResultCode.TIMEOUT
    assert after.code is ResultCode.SUCCESS, after.error


def test_a_3_gib_body_is_cut_at_the_cap_with_memory_bounded(peer: HttpPeer) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux
    [result] = check(device(f"{peer.http}/huge", timeout=10))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.code is ResultCode.BAD_RESPONSE
    assert result.error == f"body larger than {MAX_BODY // 1024} KiB: stopped reading"
    p = point(result)
    assert p.tags["result"] == "body_read_error" and p.fields["content_length"] == MAX_BODY
    assert grown_mib < 64


def test_a_redirect_loop_is_a_bad_response(peer: HttpPeer) -> None:
    [result] = check(device(f"{peer.http}/loop"))
    assert result.code is ResultCode.BAD_RESPONSE
    assert result.error == "more than 10 redirects (a redirect loop?)"
    [unfollowed] = check(device(f"{peer.http}/loop", follow_redirects=False,
                                expect_status=(302,)))
    assert unfollowed.code is ResultCode.SUCCESS


def test_refused_connection(peer: HttpPeer) -> None:
    [result] = check(device("http://127.0.0.1:9/"))
    assert result.code is ResultCode.CONNECTION_ERROR
    assert result.error == "connection refused by 127.0.0.1"
    assert point(result).tags["result"] == "connection_failed"
    assert "http_response_code" not in point(result).fields


# --- TLS ---------------------------------------------------------------------------------

def test_self_signed_certificate_valid_10_days(peer: HttpPeer) -> None:
    verified, unverified = check(device(f"{peer.https}/ok", "a"),
                                 device(f"{peer.https}/ok", "b", verify_tls=False))
    assert verified.code is ResultCode.CONNECTION_ERROR
    # our prefix; what follows is OpenSSL's own reason, worded by its version
    assert (verified.error or "").startswith("TLS: certificate verify failed: ")
    assert unverified.code is ResultCode.SUCCESS
    days = point(unverified).fields["cert_expiry_days"]
    assert 9 < days <= 10 and http_facts(unverified).cert_expiry_days == days


def test_expired_certificate(peer: HttpPeer) -> None:
    verified, unverified = check(device(f"{peer.https_expired}/ok", "a"),
                                 device(f"{peer.https_expired}/ok", "b", verify_tls=False))
    assert verified.code is ResultCode.CONNECTION_ERROR
    assert unverified.code is ResultCode.SUCCESS
    assert -2 < point(unverified).fields["cert_expiry_days"] < 0


# --- one slow check does not hold up the others ------------------------------------------

def test_fast_checks_finish_while_a_slow_server_holds_its_request(peer: HttpPeer) -> None:
    def held() -> int:
        return int(requests.get(f"{peer.http}/held", timeout=5).json()["held"])

    async def run() -> tuple[list[PollResult], bool, int, PollResult]:
        collector = HttpCollector(CREDENTIALS)
        try:
            slow = asyncio.create_task(collector.collect(device(f"{peer.http}/hang", "slow",
                                                                timeout=30.0)))
            fast = await asyncio.gather(*(collector.collect(device(f"{peer.https}/ok", f"f{i}",
                                                                   verify_tls=False))
                                          for i in range(6)))
            loop = asyncio.get_running_loop()
            holding = await loop.run_in_executor(None, held)
            slow_done = slow.done()
            await loop.run_in_executor(None, requests.get, f"{peer.http}/release")
            return fast, slow_done, holding, await slow
        finally:
            await collector.aclose()

    fast, slow_done_early, holding, slow = asyncio.run(run())
    assert all(r.code is ResultCode.SUCCESS for r in fast)
    assert not slow_done_early and holding == 1
    assert slow.code is ResultCode.SUCCESS, "released, the slow check completes normally"


# --- the command -------------------------------------------------------------------------

def test_lifeline_poll_json_runs_http_and_host_checks(peer: HttpPeer, write) -> None:
    set_health(peer, default_health())
    path: Path = write("lifeline.yaml", f"""\
        agent: {{name: test, timezone: Asia/Seoul}}
        credentials:
          kiosk-api: {{version: http, username: {BASIC[0]}, password_env: LL_TEST_KIOSK_PASSWORD}}
        devices:
          - id: kiosk-1
            name: kiosk
            category: kiosk
            site: district-hall
            poll:
              protocol: http
              url: {peer.http}/health
              profile: kiosk
              expect_json: ['printer.paper == "ok"']
          - id: vms-1
            name: CCTV VMS
            category: server
            site: district-hall
            poll: {{protocol: http, url: "{peer.https}/auth", credentials: kiosk-api,
                    verify_tls: false}}
          - id: noc-host
            name: the agent's own host
            category: server
            site: district-hall
            poll: {{protocol: host}}
        """)
    done = run_lifeline("poll", path, "--json", env={"LL_TEST_KIOSK_PASSWORD": BASIC[1]})
    assert done.returncode == 0, done.stderr
    rows = {r["device_id"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert [rows[d]["result"] for d in ("kiosk-1", "vms-1", "noc-host")] == ["success"] * 3
    measurements = {s["measurement"] for s in rows["kiosk-1"]["samples"]}
    assert measurements == {"http_response", "kiosk", "lifeline_poll"}
    vms = next(s for s in rows["vms-1"]["samples"] if s["measurement"] == "http_response")
    assert 9 < vms["fields"]["cert_expiry_days"] <= 10
    host = {s["measurement"] for s in rows["noc-host"]["samples"]}
    assert {"cpu", "mem", "disk", "system", "lifeline_poll"} <= host
    assert BASIC[1] not in done.stdout + done.stderr

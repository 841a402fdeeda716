"""The web console (issue 16) on a real `lifeline run` agent: its own net-snmp snmpd
(stopped mid-test, so its devices go down), a webhook receiver, a users file; driven by
Debian's headless chromium (tests/peers/browser.py) and plain HTTP.

One agent for the module. The browser scenario is one test (its steps depend on each
other: xdist may put separate tests on separate workers); the other tests only read, or
come from an address of their own (127.0.0.2, 127.0.0.3) so the login limit they trip
does not lock the scenario out."""
from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from agent.web.users import entry_line

from peers.agent import ROOT, AgentProcess, agent_config
from peers.browser import running_browser
from peers.ports import free_tcp_port
from peers.snmp import Peer, start_snmpd, stop
from peers.webhook import WebhookPeer, running_webhook

pytestmark = pytest.mark.peer

PASSWORD = "correct horse 42"
HOSTILE = "<script>window.pwned=1</script>"
SECRETS = ("authpass123", "privpass123", "$argon2", PASSWORD)


@dataclass
class Scenario:
    agent: AgentProcess
    port: int
    snmpd: Peer
    hook: WebhookPeer
    tmp: Path

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _devices(address: str) -> str:
    poll = (f"poll: {{protocol: snmp, address: \"{address}\", credentials: v2, profile: switch,"
            " interval: 1s, timeout: 800ms, retries: 0}")
    v3 = (f"poll: {{protocol: snmp, address: \"{address}\", credentials: v3, profile: switch,"
          " interval: 2s, timeout: 800ms, retries: 0}")
    return (f"  - {{id: core-1, name: Core switch, category: backbone_switch, site: hall,"
            f" acquired: 2012-03-01, criticality: critical, {poll}}}\n"
            f"  - {{id: edge-1, name: \"Edge {HOSTILE}\", category: switch, site: hall,"
            f" parent: core-1, acquired: 2015-01-01, {poll}}}\n"
            f"  - {{id: access-1, name: Access switch, category: switch, site: hall,"
            f" parent: edge-1, acquired: 2016-01-01, {poll}}}\n"
            f"  - {{id: v3-sw, name: V3 switch, category: switch, site: annex,"
            f" acquired: 2020-01-01, {v3}}}\n"
            "  - {id: kiosk-1, name: Kiosk 1, category: kiosk, site: annex,"
            " operating_hours: \"Mon-Fri 09:00-18:00\", acquired: 2018-05-01}\n")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("console")
    snmpd = start_snmpd(tmp / "snmpd")
    users = tmp / "users"
    users.write_text(entry_line("alice", PASSWORD) + "\n", encoding="utf-8")
    port = free_tcp_port()
    with running_webhook() as hook:
        top = ("  v3: {version: 3, user: noc, auth_protocol: SHA, auth_key_env: LL_TEST_AUTH,"
               " priv_protocol: AES, priv_key_env: LL_TEST_PRIV}\n"
               f"console: {{users_file: {users}, read_only: false, refresh: 1s}}\n"
               "alerts:\n  thresholds: {outage_polls: 2}\n"
               f"  channels: [{{name: hook, type: webhook, url: \"{hook.url()}\","
               " group_wait: 0s, group_interval: 1s}]\n"
               "  routes: [{match: {}, channels: [hook]}]\n")
        config = agent_config(tmp / "agent", _devices(snmpd.address),
                              agent_extra=f"  http_listen: 127.0.0.1:{port}\n", top_extra=top)
        agent = AgentProcess(config).start()
        try:
            agent.wait_polls("core-1", 2)
            yield Scenario(agent, port, snmpd, hook, tmp)
        finally:
            agent.stop()
            stop(snmpd.proc)


def _request(scenario: Scenario, method: str, path: str, *, body: str | None = None,
             headers: dict[str, str] | None = None,
             source: str = "127.0.0.1") -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", scenario.port, timeout=30,
                                      source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, \
            answer.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    found = {}
    for part in headers.get("set-cookie", "").split(", "):
        name, _, rest = part.partition("=")
        if name in ("ll_csrf", "ll_session"):
            found[name] = rest.split(";", 1)[0]
    return found


def _login(scenario: Scenario, source: str, password: str = PASSWORD) -> tuple[int, dict[str, str]]:
    """A login as a browser makes it: the form's CSRF cookie first, then the post."""
    _, headers, _ = _request(scenario, "GET", "/login", source=source)
    cookies = _cookies(headers)
    form = urllib.parse.urlencode({"csrf": cookies["ll_csrf"], "user": "alice",
                                   "password": password, "next": "/"})
    status, headers, _ = _request(
        scenario, "POST", "/login", body=form, source=source,
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Cookie": f"ll_csrf={cookies['ll_csrf']}"})
    return status, {**cookies, **_cookies(headers)}


def test_the_operator_watches_acks_silences_and_downloads_in_a_browser(
        scenario: Scenario) -> None:
    with running_browser() as browser:
        context = browser.new_context(accept_downloads=True,  # type: ignore[attr-defined]
                                      viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(scenario.url("/"))
        page.fill("input[name=user]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.login button")
        page.wait_for_selector("#board")
        assert page.locator("html").get_attribute("lang") == "ko"
        loaded = page.evaluate("performance.timeOrigin")
        # The board's device text is shown, never run.
        assert page.evaluate("window.pwned") is None

        stop(scenario.snmpd.proc)           # core-1 and edge-1 stop answering
        core = page.locator("li.problem[data-device=core-1].kind-outage")
        core.wait_for(timeout=60_000)
        assert page.evaluate("performance.timeOrigin") == loaded   # no reload
        assert "edge-1" in core.locator(".behind").inner_text()   # suppressed behind it
        assert page.locator("li.problem[data-device=edge-1].kind-outage").count() == 0
        # A switch behind a switch behind core-1: under core-1's row too, not lost under
        # edge-1's (whose own row the board does not show).
        core.locator(".behind", has_text="access-1").wait_for(timeout=30_000)
        assert page.locator("li.problem[data-device=access-1].kind-outage").count() == 0
        page.screenshot(path=str(scenario.tmp / "board.png"), full_page=True)
        # Lifecycle notices are folded apart, never among what is down.
        assert page.locator("#problems li.kind-lifecycle").count() == 0
        page.click("#lifecycle-notices > summary")
        notices = page.locator("#lifecycle-problems li.problem")
        assert notices.count() >= 1
        # Every row's ack form sits in the same place: its own last line, left-aligned.
        # (Measured in one go: the board's refresh replaces the rows every second.)
        places = page.evaluate("""() => [...document.querySelectorAll("li.problem")]
            .filter(li => li.querySelector("form.ack")).map(li => {
              const row = li.getBoundingClientRect(), sev = li.querySelector(".sev")
                .getBoundingClientRect(), form = li.querySelector("form.ack")
                .getBoundingClientRect();
              return [Math.round(form.left - row.left), form.top >= sev.bottom]; })""")
        assert len(places) >= 2 and all(below for _, below in places), places
        assert len({x for x, _ in places}) == 1, places

        core.locator("input[name=comment]").fill("cable check")
        core.locator("form.ack button").click()
        page.wait_for_selector("li.problem[data-device=core-1] .flag.acked")
        assert "alice" in page.locator("li.problem[data-device=core-1] .flag.acked").inner_text()

        page.goto(scenario.url("/devices/core-1"))
        page.fill("form.silence input[name=reason]", "switch replacement")
        page.fill("form.silence input[name=duration]", "2h")
        page.click("form.silence button")
        page.wait_for_selector("#notice")
        page.goto(scenario.url("/alerts"))
        row = page.locator("table.silences tr[data-silence]")
        assert "device_id=core-1" in row.inner_text() and "alice" in row.inner_text()

        page.goto(scenario.url("/lifecycle?year=2027"))
        with page.expect_download() as download:
            page.click("#download-xlsx")
        saved = scenario.tmp / "plan.xlsx"
        download.value.save_as(saved)
        workbook = load_workbook(saved)
        cells = [str(c) for s in workbook.worksheets for r in s.iter_rows(values_only=True)
                 for c in r if c is not None]
        assert any("core-1" in c for c in cells)

        # A board that can no longer refresh says so instead of looking current.
        page.goto(scenario.url("/"))
        assert page.locator("#stale").is_hidden()
        page.route("**/api/v1/board*", lambda route: route.abort())
        page.locator("#stale").wait_for(state="visible", timeout=10_000)
        page.unroute("**/api/v1/board*")

        page.goto(scenario.url("/lifecycle?year=2027"))
        page.click("#lang-en")
        page.wait_for_selector("html[lang=en]")
        assert page.locator("nav a").first.inner_text() == "Board"
        page.goto(scenario.url("/"))
        assert page.locator("html").get_attribute("lang") == "en"
        context.close()

    # Who acked and silenced, through the same store `lifeline alerts` reads.
    listed = subprocess.run([sys.executable, "-m", "agent.cli", "alerts",
                             str(scenario.agent.config), "list", "--format", "json"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    document = json.loads(listed.stdout)
    assert any(s["author"] == "alice" and s["reason"] == "switch replacement"
               for s in document["silences"])


def test_unauthenticated_requests_are_sent_to_log_in(scenario: Scenario) -> None:
    status, headers, _ = _request(scenario, "GET", "/alerts")
    assert status == 303 and headers["location"].startswith("/login")
    assert _request(scenario, "GET", "/api/v1/board")[0] == 401
    assert _request(scenario, "GET", "/healthz")[0] == 200       # a supervisor's question


def test_a_post_without_the_csrf_token_is_refused(scenario: Scenario) -> None:
    status, cookies = _login(scenario, "127.0.0.3")
    assert status == 303 and "ll_session" in cookies
    session = f"ll_session={cookies['ll_session']}; ll_csrf={cookies['ll_csrf']}"
    body = json.dumps({"matchers": ["device_id=core-1"], "duration": "1h", "reason": "x"})
    refused = _request(scenario, "POST", "/api/v1/silences", body=body, source="127.0.0.3",
                       headers={"Cookie": session, "Content-Type": "application/json"})
    assert refused[0] == 403
    form = urllib.parse.urlencode({"matchers": "device_id=core-1", "duration": "1h",
                                   "reason": "x"})
    assert _request(scenario, "POST", "/silences", body=form, source="127.0.0.3",
                    headers={"Cookie": session, "Content-Type":
                             "application/x-www-form-urlencoded"})[0] == 403
    accepted = _request(scenario, "POST", "/api/v1/silences", body=body, source="127.0.0.3",
                        headers={"Cookie": session, "Content-Type": "application/json",
                                 "X-CSRF-Token": cookies["ll_csrf"]})
    assert accepted[0] == 200, accepted[2]
    silence_id = json.loads(accepted[2])["id"]
    assert _request(scenario, "POST", f"/api/v1/silences/{silence_id}/remove",
                    source="127.0.0.3", headers={"Cookie": session,
                                                  "X-CSRF-Token": cookies["ll_csrf"]})[0] == 200


def test_logins_are_rate_limited(scenario: Scenario) -> None:
    for _ in range(5):
        assert _login(scenario, "127.0.0.2", "wrong")[0] == 401
    status, _ = _login(scenario, "127.0.0.2")           # even the right password now
    assert status == 429


def test_no_secret_on_any_page_or_answer_and_device_text_escaped(scenario: Scenario) -> None:
    _, cookies = _login(scenario, "127.0.0.4")
    session = {"Cookie": f"ll_session={cookies['ll_session']}"}
    paths = ["/", "/alerts", "/lifecycle", "/devices/core-1", "/devices/edge-1",
             "/devices/v3-sw", "/devices/kiosk-1", "/api/v1/board", "/api/v1/devices",
             "/api/v1/devices/v3-sw", "/api/v1/devices/edge-1", "/api/v1/alerts",
             "/api/v1/silences", "/api/v1/acks", "/api/v1/history", "/api/v1/lifecycle",
             "/api/v1/plan?year=2027", "/metrics", "/healthz"]
    for path in paths:
        status, headers, text = _request(scenario, "GET", path, headers=session,
                                         source="127.0.0.4")
        assert status == 200, (path, status)
        for secret in SECRETS:
            assert secret not in text, (path, secret)
        assert re.search(r"\bpublic\b", text) is None, path       # the v2c community
        # Pages escape device text; JSON carries it as data (the board's script puts it
        # in textContent) and says it is JSON, never to be sniffed as HTML.
        if headers["content-type"].startswith("text/html"):
            assert HOSTILE not in text, path
        assert headers["x-content-type-options"] == "nosniff"
    _, _, device = _request(scenario, "GET", "/devices/edge-1", headers=session,
                            source="127.0.0.4")
    assert "Edge &lt;script&gt;window.pwned=1&lt;/script&gt;" in device


def test_a_console_beyond_loopback_needs_authentication(tmp_path: Path) -> None:
    config = agent_config(tmp_path, "", agent_extra="  http_listen: 0.0.0.0:9108\n")
    result = subprocess.run([sys.executable, "-m", "agent.cli", "run", str(config)],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1
    assert f"{config}:" in result.stderr and "agent.http_listen" in result.stderr
    assert "Traceback" not in result.stderr


def test_korean_pages_say_hours_states_and_results_in_korean(scenario: Scenario) -> None:
    _, cookies = _login(scenario, "127.0.0.5")
    session = {"Cookie": f"ll_session={cookies['ll_session']}"}
    _, _, board = _request(scenario, "GET", "/?lang=ko", headers=session, source="127.0.0.5")
    assert "월~금 09:00~18:00" in board and "Mon-Fri" not in board
    _, _, kiosk = _request(scenario, "GET", "/devices/kiosk-1?lang=ko", headers=session,
                           source="127.0.0.5")
    assert "월~금 09:00~18:00" in kiosk and "Mon-Fri" not in kiosk
    _, _, core = _request(scenario, "GET", "/devices/core-1?lang=ko", headers=session,
                          source="127.0.0.5")
    for english in (">critical<", ">success<", ">timeout<", ">model<", ">serial<", "max "):
        assert english not in core, english
    _, _, due = _request(scenario, "GET", "/lifecycle?lang=ko", headers=session,
                         source="127.0.0.5")
    assert ">backbone_switch<" not in due           # the category's Korean name instead
    _, _, english = _request(scenario, "GET", "/devices/kiosk-1?lang=en", headers=session,
                             source="127.0.0.5")
    assert "Mon-Fri 09:00-18:00" in english


def test_the_board_api_keeps_lifecycle_notices_apart(scenario: Scenario) -> None:
    _, cookies = _login(scenario, "127.0.0.6")
    status, _, text = _request(scenario, "GET", "/api/v1/board?lang=ko", source="127.0.0.6",
                               headers={"Cookie": f"ll_session={cookies['ll_session']}"})
    assert status == 200
    board = json.loads(text)
    assert board["lifecycle"] and all(p["alert"]["kind"] == "lifecycle"
                                      for p in board["lifecycle"])
    assert all(p["alert"]["kind"] != "lifecycle" for p in board["problems"])
    [kiosk] = [k for s in board["sites"] for k in s["kiosks"] if k["device_id"] == "kiosk-1"]
    assert kiosk["hours"] == "Mon-Fri 09:00-18:00" and kiosk["hours_text"] == "월~금 09:00~18:00"

"""HTTP poll keys: loaded into PollSpec, and bad ones refused at load with a location."""
from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from inventory.load import load_config


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_http_keys_reach_the_poll_spec(write) -> None:
    path = write("main.yaml", """\
        credentials:
          kiosk-api: {version: http, token_env: KIOSK_TOKEN}
        devices:
          - id: kiosk-1
            name: kiosk
            category: kiosk
            poll:
              protocol: http
              url: https://127.0.0.1:8443/health
              method: POST
              credentials: kiosk-api
              profile: kiosk
              headers: {X-Kiosk: "1", Accept: application/json}
              body: '{"probe": true}'
              expect_status: [200, 204]
              expect_text: printer
              expect_regex: 'paper.*(ok|low)'
              expect_json: ['printer.paper == "ok"', 'uptime_s > 60', 'card_reader.ok == true']
              follow_redirects: false
              verify_tls: false
              timeout: 3s
              retries: 0
        """)
    spec = load_config(path).device("kiosk-1").poll
    assert spec is not None
    assert (spec.protocol, spec.url, spec.method, spec.profile) == (
        "http", "https://127.0.0.1:8443/health", "POST", "kiosk")
    assert spec.headers == (("X-Kiosk", "1"), ("Accept", "application/json"))
    assert spec.body == '{"probe": true}'
    assert spec.expect_status == (200, 204)
    assert spec.expect_regex == "paper.*(ok|low)"
    # parsed once, at load: the collector never parses them again
    assert [(e.path, e.op, e.value) for e in spec.expect_json] == [
        (("printer", "paper"), "==", "ok"), (("uptime_s",), ">", 60),
        (("card_reader", "ok"), "==", True)]
    assert (spec.follow_redirects, spec.verify_tls, spec.timeout, spec.retries) == (
        False, False, 3.0, 0)


def test_defaults_for_a_plain_check(write) -> None:
    path = write("main.yaml", """\
        devices:
          - {id: web, name: web, category: server,
             poll: {protocol: http, url: "http://127.0.0.1:8080/"}}
        """)
    spec = load_config(path).device("web").poll
    assert spec is not None
    assert (spec.headers, spec.body, spec.expect_regex, spec.expect_json) == ((), None, None, ())
    assert spec.follow_redirects and spec.verify_tls and spec.expect_status == (200,)


def test_bad_expectations_and_regex_are_located(write) -> None:
    path = write("main.yaml", """\
        devices:
          - id: k
            name: kiosk
            category: kiosk
            poll:
              protocol: http
              url: http://127.0.0.1:8080/health
              expect_regex: 'paper(ok'
              expect_json:
                - 'printer.paper == "ok"'
                - 'printer.paper == ok'
                - '__import__("os").system("x")'
                - 'uptime_s > [1]'
                - 'uptime_s > true'
        """)
    problems = problems_of(path)
    assert problems[0].startswith(f"{path}:8: devices[0].poll.expect_regex: "
                                  "not a regular expression: 'paper(ok'")
    assert problems[1] == (f"{path}:11: devices[0].poll.expect_json[1]: 'printer.paper == ok':"
                           " ok is not a JSON value (quote text: \"ok\")")
    assert problems[2].startswith(f"{path}:12: devices[0].poll.expect_json[2]: "
                                  "not PATH OP VALUE")
    assert problems[3].startswith(f"{path}:13: devices[0].poll.expect_json[3]: ")
    assert "compare with a number, text" in problems[3]
    assert problems[4].startswith(f"{path}:14: devices[0].poll.expect_json[4]: ")
    assert "needs a number or text" in problems[4]
    assert len(problems) == 5


def test_unknown_http_key_gets_a_hint(write) -> None:
    path = write("main.yaml", """\
        devices:
          - id: k
            name: kiosk
            category: kiosk
            poll: {protocol: http, url: "http://127.0.0.1:1/", expect_jsn: ['a == 1']}
        """)
    assert problems_of(path) == [
        f"{path}:5: devices[0].poll.expect_jsn: unknown key 'expect_jsn' "
        "(did you mean 'expect_json'?)"]

"""What messages say (issue 17, Channels): where the device is, durations in the channel's
language, Korean without English words, a recovery that reads as one, a description for
every rule; and Teams' Workflows format (`teams_adaptive`). Against the real webhook
receiver; the last test runs the engine's own texts through the outbox to it."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.delivery import render
from alerts.delivery.channels import build_channels
from alerts.delivery.rule_texts import RULE_TEXTS
from alerts.evaluation import rules
from alerts.service import AlertService
from collectors.base import ResultCode

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import T0, make_notification
from kits.alerts_engine import SNMP, down, up, write_config
from peers.webhook import WebhookPeer, running_webhook
from tests.conftest import ROOT

DEVICES = f"""\
- {{id: pc-01, name: 민원실 PC 1, category: backbone_switch, criticality: critical,
   site: 본청, location: 1층 민원실, poll: {{protocol: snmp, address: 10.1.2.3, credentials: v2}}}}
- {{id: web-1, name: 홈페이지, category: backbone_switch, site: 본청,
   poll: {{protocol: http, url: "https://www.example.go.kr/health"}}}}
- {{id: sw-x, name: SW-X, category: backbone_switch, poll: {SNMP}}}
"""
HANGUL_TEXT = re.compile(r"[가-힣]")
EVIL = "<!channel> <https://evil.example|Click> [Click](https://evil.example) *b* & \x1b[2J\r\nend"


@pytest.fixture
def peer() -> Iterator[WebhookPeer]:
    with running_webhook() as peer:
        yield peer


def _hook(tmp_path: Path, url: str, extra: str = ""):
    config = write_config(tmp_path, DEVICES, f"""\
        channels:
          - {{name: hook, type: webhook, url: "{url}", group_wait: 0s, group_interval: 0s{extra}}}
        """)
    return config, build_channels(config, FakeClock(T0))["hook"]


def _runs(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every TextRun of a Workflows message's card, in order."""
    [attachment] = body["attachments"]
    card = attachment["content"]
    return [run for block in card["body"] for run in block["inlines"]]


# ---- the texts themselves ----------------------------------------------------------------

def _rules_in_rules_py() -> set[str]:
    """Every rule name rules.py checks or emits: the names given to `b.check(...)` and
    first to `b.add(...)` (literals, or module constants), the tables' rules, and the
    lifecycle family."""
    tree = ast.parse((ROOT / "alerts/evaluation/rules.py").read_text(encoding="utf-8"))
    found = {*rules.LIFECYCLE_RULES, *rules.KIOSK_OUTAGE_RULES,
             *(r.rule for r in rules.NAS_RULES.values())}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        args = node.args if node.func.attr == "check" else node.args[:1] \
            if node.func.attr == "add" else []
        for arg in args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
            elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name):
                found.update(getattr(rules, arg.value.id))
            elif isinstance(arg, ast.Name) and isinstance(getattr(rules, arg.id, None), str):
                found.add(getattr(rules, arg.id))
    return found


def test_every_rule_has_a_description_and_a_recovery_and_no_other_rule_does() -> None:
    assert set(RULE_TEXTS) == _rules_in_rules_py()
    for rule, text in RULE_TEXTS.items():
        assert all((text.description, text.description_ko, text.recovered, text.recovered_ko)), rule
        assert HANGUL_TEXT.search(text.description_ko) and HANGUL_TEXT.search(text.recovered_ko)


@pytest.mark.parametrize("seconds, ko, en", [
    (97, "1분 37초", "1 min 37 s"), (0.4, "0초", "0 s"), (3600, "1시간", "1 h"),
    (90061, "1일 1시간 1분 1초", "1 d 1 h 1 min 1 s")])
def test_durations_in_the_channels_language(seconds: float, ko: str, en: str) -> None:
    assert (render.duration(seconds, "ko"), render.duration(seconds, "en")) == (ko, en)


def test_korean_result_codes_are_korean_words() -> None:
    assert set(rules.CODE_KO) == set(ResultCode)
    assert not [w for w in rules.CODE_KO.values() if re.search(r"[A-Za-z]", w)]


# ---- where, durations and recoveries in a message ---------------------------------------

def test_a_message_says_where_and_a_recovery_reads_as_one(tmp_path, peer):
    _, hook = _hook(tmp_path, peer.url(), ", format: json")
    firing = make_notification(device_id="pc-01", labels={"device_name": "민원실 PC 1"},
                               summary_ko="민원실 PC 1: 응답 없음 (시간 초과)")
    resolved = make_notification("resolved", device_id="pc-01", seq=2,
                                 labels={"device_name": "민원실 PC 1"},
                                 summary_ko="민원실 PC 1: 응답 없음 (시간 초과)",
                                 ends_at=T0.replace(minute=1, second=37))
    hook.send([firing], {})
    hook.send([resolved], {})
    fired, recovered = (r.body for r in peer.received)
    annotations = fired["alerts"][0]["annotations"]
    assert (annotations["location"], annotations["address"]) == ("1층 민원실", "10.1.2.3")
    assert annotations["description"].startswith("장비가 수집 요청에 응답하지 않습니다.")
    assert recovered["title"] == "[Lifeline] 복구: 민원실 PC 1: 응답 재개"
    lines = render.alert_lines(resolved, "ko", T0.tzinfo, hook.places)
    assert lines[0] == "[복구] 심각 · 민원실 PC 1: 응답 재개"
    assert "  위치: 본청 · 1층 민원실 · 10.1.2.3" in lines
    assert "  경보 내용: 민원실 PC 1: 응답 없음 (시간 초과)" in lines
    assert lines[-1].endswith("(지속 시간 1분 37초)")
    english = render.alert_lines(resolved, "en", T0.tzinfo, hook.places)
    assert english[0] == "[RESOLVED] critical · 민원실 PC 1: answering again"
    assert english[-1].endswith("(lasted 1 min 37 s)")


def test_where_an_http_check_is_and_a_device_no_longer_in_the_inventory(tmp_path, peer):
    _, hook = _hook(tmp_path, peer.url())
    web = render.alert_lines(make_notification(device_id="web-1", rule="http_check_failed"),
                             "ko", T0.tzinfo, hook.places)
    assert "  위치: 본청 · www.example.go.kr" in web
    gone = render.alert_lines(make_notification(device_id="gone-1"), "ko", T0.tzinfo,
                              hook.places)
    assert "  위치: district-hall" in gone          # the site label it fired with
    bare = render.alert_lines(make_notification(device_id="sw-x", labels={"site": ""}), "ko",
                              T0.tzinfo, hook.places)
    assert "  위치: 127.0.0.1" in bare and not [ln for ln in bare if "본청" in ln]


def test_a_recovery_of_an_alert_that_ended_without_clearing_says_why(tmp_path, peer):
    _, hook = _hook(tmp_path, peer.url())
    ended = make_notification("resolved", device_id="pc-01", description="device retired",
                              description_ko="장비 불용(폐기) 처리: 더 이상 감시하지 않음")
    hook.send([ended], {})
    title = peer.received[0].body["title"]
    assert title == "[Lifeline] 복구: pc-01 name: 장비 불용(폐기) 처리: 더 이상 감시하지 않음"


# ---- Teams Workflows (Adaptive Card) -----------------------------------------------------

def test_teams_adaptive_is_a_workflows_message_with_one_adaptive_card(tmp_path, peer):
    _, hook = _hook(tmp_path, peer.url(), ", format: teams_adaptive")
    hook.send([make_notification(device_id="pc-01", labels={"device_name": "민원실 PC 1"}),
               make_notification("resolved", device_id="sw-x", labels={"device_name": "SW-X"})],
              {"kind": "outage"})
    body = peer.received[0].body
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert {block["type"] for block in card["body"]} == {"RichTextBlock"}
    texts = [run["text"] for run in _runs(body)]
    assert texts[0] == "[Lifeline] 발생 2건: outage"
    assert _runs(body)[0]["color"] == "Attention"
    assert "[발생] 심각 · bb-sw-1 응답 없음" not in texts
    assert "[발생] 심각 · pc-01 응답 없음" in texts
    assert "[복구] 심각 · SW-X: 응답 재개" in texts
    assert "위치: 본청 · 1층 민원실 · 10.1.2.3" in texts


def test_teams_adaptive_all_recovered_is_green_and_long_groups_are_cut(tmp_path, peer):
    _, hook = _hook(tmp_path, peer.url(), ", format: teams_adaptive, lang: en")
    hook.send([make_notification("resolved", device_id=f"ws-{i}", seq=i) for i in range(25)],
              {"kind": "outage"})
    runs = _runs(peer.received[0].body)
    assert runs[0]["color"] == "Good" and runs[0]["text"] == "[Lifeline] RESOLVED 25 alerts: outage"
    headlines = [r["text"] for r in runs if r["text"].startswith("[RESOLVED]")]
    assert len(headlines) == 20 and runs[-1]["text"] == "+5"


def test_teams_adaptive_shows_device_text_as_written_and_obeys_none(tmp_path, peer):
    _, hook = _hook(tmp_path, peer.url(), ", format: teams_adaptive")
    hook.send([make_notification(device_id="sw-7", summary_ko=f"model {EVIL}",
                                 labels={"device_name": EVIL})], {"kind": "outage"})
    body = peer.received[0].body
    card = body["attachments"][0]["content"]
    assert "msteams" not in card or "entities" not in card["msteams"]     # no mentions
    blocks = card["body"]
    # Markdown is read in TextBlocks only; there is none: every line is a TextRun.
    assert not [b for b in blocks if b["type"] != "RichTextBlock"]
    assert all(run["type"] == "TextRun" for b in blocks for run in b["inlines"])
    texts = [run["text"] for run in _runs(body)]
    shown = "\n".join(texts)
    assert "<!channel> <https://evil.example|Click> [Click](https://evil.example) *b* &" in shown
    assert "&lt;" not in shown and "\\(" not in shown                  # nothing escaped to show
    assert not [t for t in texts if "\n" in t or "\r" in t or "\x1b" in t]


# ---- the engine's own texts, end to end -------------------------------------------------

def test_korean_from_the_engine_down_and_back_has_no_english_but_names(tmp_path, peer):
    config, _ = _hook(tmp_path, peer.url(), ", format: teams_adaptive")
    clock = FakeClock(T0)
    svc = AlertService.open(config, clock=clock)
    try:
        for _ in range(3):
            svc.observe(down("pc-01", clock, ResultCode.TIMEOUT))
            svc.tick()
            clock.advance(30)
        svc.deliver_due(wait=True)
        clock.advance(7)
        svc.observe(up("pc-01", clock))
        svc.tick()
        svc.deliver_due(wait=True)
    finally:
        svc.close()
    fired, recovered = ([run["text"] for run in _runs(r.body)] for r in peer.accepted)
    assert "[발생] 심각 · 민원실 PC 1: 응답 없음 (시간 초과)" in fired
    assert "[복구] 심각 · 민원실 PC 1: 응답 재개" in recovered
    assert "  경보 내용: 민원실 PC 1: 응답 없음 (시간 초과)".strip() in recovered
    assert [t for t in recovered if t.startswith("종료: ") and t.endswith("(지속 시간 1분 37초)")]
    names = re.compile(r"Lifeline|KST|pc-01|민원실 PC 1|10\.1\.2\.3")
    for text in fired + recovered:          # English only in names and the time zone
        assert not re.search(r"[A-Za-z]", names.sub("", text)), text

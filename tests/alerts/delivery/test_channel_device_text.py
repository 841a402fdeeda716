"""Device text reaches people escaped (issue 12, item 6): Slack and Teams bodies against the
real webhook receiver, mail against the real SMTP server.

A model, serial, sysName or ifAlias is whatever a device (or whoever configured it) says.
In a message it must read as written: no Slack mention or link, no Teams link, no
terminal control sequence in a mail, no header broken by a line feed.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.delivery.channels import build_channels
from alerts.model import Notification

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import T0, load, make_notification
from peers.smtp import running_smtp
from peers.webhook import WebhookPeer, running_webhook

MENTION_AND_LINK = "<!channel> <https://evil.example|Click>"
MARKDOWN_LINK = "[Click](https://evil.example)"
TERMINAL = "\x1b]0;owned\x07\x1b[2J\r\n\u202e"
EVIL = f"{MENTION_AND_LINK} {MARKDOWN_LINK} *b* & {TERMINAL}end"
CONTROL = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + ["\u202e"]


def evil_notification() -> Notification:
    return make_notification(device_id="sw-7", instance=f"Gi0/1 {EVIL}", summary=f"model {EVIL}",
                             summary_ko=f"model {EVIL}", description=EVIL,
                             labels={"device_name": EVIL})


def _controls(text: str, allowed: str = "") -> list[str]:
    return [c for c in CONTROL if c in text and c not in allowed]


@pytest.fixture
def peer() -> Iterator[WebhookPeer]:
    with running_webhook() as peer:
        yield peer


def _hook(tmp_path: Path, url: str, fmt: str):
    config = load(tmp_path, f"""\
        alerts:
          channels:
            - {{name: hook, type: webhook, url: "{url}", format: {fmt}, group_wait: 0s}}
        """)
    return build_channels(config, FakeClock(T0))["hook"]


def test_slack_shows_a_mention_and_a_link_as_text(tmp_path: Path, peer: WebhookPeer) -> None:
    _hook(tmp_path, peer.url(), "slack").send([evil_notification()], {"kind": "outage"})
    body = peer.received[0].body
    header, section = body["blocks"]
    mrkdwn = [body["text"], section["text"]["text"]]
    for text in mrkdwn:
        assert "<" not in text and ">" not in text
        assert "&lt;!channel&gt; &lt;https://evil.example|Click&gt;" in text
        assert " &amp; " in text
        assert not _controls(text, allowed="\n")
    # Our own lines stay lines: the device's CR LF did not add one.
    assert len(section["text"]["text"].splitlines()) == 6     # headline, device, where, …
    assert not _controls(header["text"]["text"])


def test_teams_shows_links_as_text(tmp_path: Path, peer: WebhookPeer) -> None:
    _hook(tmp_path, peer.url(), "teams").send([evil_notification()], {"kind": "outage"})
    body = peer.received[0].body
    [section] = body["sections"]
    for text in (body["title"], section["activityTitle"], section["text"]):
        assert "<" not in text and ">" not in text
        assert "](https" not in text                  # no Markdown link left
        assert not _controls(text, allowed="\n")
    assert "&lt;!channel&gt;" in section["text"]
    assert "[Click]\\(https://evil.example\\)" in section["text"]
    assert "\\*b\\* &amp; " in section["activityTitle"]
    assert not _controls(body["summary"])


def test_mail_subject_and_text_show_device_text_without_control_characters(
        tmp_path: Path) -> None:
    with running_smtp() as smtp:
        config = load(tmp_path, f"""\
            alerts:
              channels:
                - {{name: mail, type: email, smtp: "{smtp.address}", from: noc@example.org,
                   to: [oncall@example.org], timeout: 5s, group_wait: 0s}}
            """)
        build_channels(config, FakeClock(T0))["mail"].send([evil_notification()],
                                                           {"kind": "outage"})
    [received] = smtp.mails
    subject = str(received.message["Subject"])
    assert subject.startswith("[Lifeline] ") and MENTION_AND_LINK in subject
    assert not _controls(subject)
    text = received.message.get_content()
    assert MENTION_AND_LINK in text and MARKDOWN_LINK in text     # plain text: as written
    assert not _controls(text, allowed="\n")
    # The device's CR LF added no line: the alert is its six lines, as with any other.
    [alert] = [part for part in text.split("\n\n") if part.startswith("[")]
    assert len(alert.splitlines()) == 6 and alert.splitlines()[-1].startswith("  시작: ")

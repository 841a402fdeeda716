"""Email channel against a real SMTP server (aiosmtpd), with STARTTLS and AUTH."""
from __future__ import annotations

from pathlib import Path

import pytest

from alerts.delivery.channels import build_channels
from alerts.delivery.outbox import Outbox
from alerts.model import DeliveryError

from kits.alerts_clock import FakeClock
from kits.alerts_delivery import T0, enqueue, load, make_notification
from peers.ports import free_tcp_port
from peers.smtp import running_smtp

PASSWORD = "mail-pass-7781"


def channel(tmp_path: Path, smtp: str, extra: str = "", wait: str = "0s"):
    config = load(tmp_path, f"""\
        alerts:
          channels:
            - {{name: mail, type: email, smtp: "{smtp}", from: noc@example.org,
               to: [oncall@example.org, boss@example.org], timeout: 5s, group_wait: {wait}{extra}}}
        """)
    return config, build_channels(config, FakeClock(T0))["mail"]


def test_one_readable_korean_mail_per_group(tmp_path):
    with running_smtp() as peer:
        _, mail = channel(tmp_path, peer.address)
        mail.send([make_notification(device_id="sw-1"),
                   make_notification("resolved", device_id="sw-2")],
                  {"kind": "outage", "site": "district-hall"})
    [received] = peer.mails
    assert received.sender == "noc@example.org"
    assert received.recipients == ["oncall@example.org", "boss@example.org"]
    message = received.message
    assert message["Subject"] == "[Lifeline] 발생 2건: outage, district-hall"
    assert message["To"] == "oncall@example.org, boss@example.org"
    assert message["Date"].datetime.isoformat() == "2024-05-02T09:00:00+09:00"
    assert message.get_content_charset() == "utf-8"
    text = message.get_content()
    assert "[발생] 심각 · sw-1 응답 없음" in text
    assert "[복구] 심각 · sw-2 name: 응답 재개" in text      # a recovery reads as one
    assert "  경보 내용: sw-2 응답 없음" in text
    assert "시작: 2024-05-02 09:00:00 KST" in text
    assert "종료: 2024-05-02 09:12:00 KST (지속 시간 12분)" in text
    assert message["Message-ID"].endswith("@example.org>")


def test_subject_header_is_rfc2047_encoded_and_english_reads_well(tmp_path):
    with running_smtp() as peer:
        _, korean = channel(tmp_path, peer.address)
        korean.send([make_notification()], {})
        _, english = channel(tmp_path, peer.address, ", lang: en")
        english.send([make_notification("resolved")], {})
    raw = peer.mails[0].message.as_bytes().decode("ascii")   # headers are 7-bit clean
    assert "Subject: [Lifeline] =?utf-8?b?" in raw
    english_mail = peer.mails[1].message
    assert english_mail["Subject"] == "[Lifeline] RESOLVED: bb-sw-1 name: answering again"
    assert "Ended: 2024-05-02 09:12:00 KST (lasted 12 min)" in english_mail.get_content()


def test_starttls_and_auth_with_a_password_file(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    with running_smtp(tls_dir=tmp_path, user="noc", password=PASSWORD) as peer:
        _, mail = channel(tmp_path, peer.address,
                          f", starttls: true, username: noc, password_file: {secret},"
                          f" ca_file: {peer.cert}")
        mail.send([make_notification()], {})
    assert peer.logins == ["noc"] and len(peer.mails) == 1


def test_a_wrong_password_is_permanent_and_never_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("LL_TEST_SMTP_PASS", "wrong-" + PASSWORD)
    with running_smtp(tls_dir=tmp_path, user="noc", password=PASSWORD) as peer:
        _, mail = channel(tmp_path, peer.address,
                          f", starttls: true, username: noc, password_env: LL_TEST_SMTP_PASS,"
                          f" ca_file: {peer.cert}")
        with pytest.raises(DeliveryError) as caught:
            mail.send([make_notification()], {})
    assert not caught.value.retryable and "535" in str(caught.value)
    assert PASSWORD not in str(caught.value) and peer.mails == []


def test_an_untrusted_certificate_is_refused(tmp_path):
    with running_smtp(tls_dir=tmp_path) as peer:
        _, mail = channel(tmp_path, peer.address, ", starttls: true")
        with pytest.raises(DeliveryError, match="SSLCertVerificationError"):
            mail.send([make_notification()], {})
    assert peer.mails == []


def test_a_refused_recipient_is_permanent(tmp_path):
    with running_smtp() as peer:
        peer.refuse = {"oncall@example.org", "boss@example.org"}
        _, mail = channel(tmp_path, peer.address)
        with pytest.raises(DeliveryError, match="recipients refused") as caught:
            mail.send([make_notification()], {})
    assert not caught.value.retryable


def test_a_server_that_is_not_there_is_retried(tmp_path):
    _, mail = channel(tmp_path, f"127.0.0.1:{free_tcp_port()}")
    with pytest.raises(DeliveryError, match="ConnectionRefusedError") as caught:
        mail.send([make_notification()], {})
    assert caught.value.retryable


def test_a_burst_through_the_outbox_is_one_mail(tmp_path):
    with running_smtp() as peer:
        config, _ = channel(tmp_path, peer.address, wait="30s")
        clock = FakeClock(T0)
        outbox = Outbox(tmp_path / "alerts.db", config, build_channels(config, clock), clock)
        enqueue(outbox, [make_notification(device_id=f"sw-{i}") for i in range(5)])
        outbox.deliver_due(wait=True)
        for _ in range(3):
            clock.advance(30)
            outbox.deliver_due(wait=True)
    [received] = peer.mails
    assert received.message["Subject"] == "[Lifeline] 발생 5건: outage, district-hall"
    assert outbox.stats()["mail"].delivered == 5

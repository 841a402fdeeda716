"""The agent raising alerts end to end: a real snmpd stops answering (SIGSTOP) and comes
back (SIGCONT), a real webhook server receives the notices, and the agent is restarted
while the alert fires: one firing notice, one recovery, nothing twice."""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peers.agent import AgentProcess, agent_config, snmp_devices_yaml
from peers.snmp import Peer, start_snmpd, stop
from peers.webhook import WebhookPeer

pytestmark = pytest.mark.peer


@pytest.fixture
def own_snmpd(tmp_path: Path) -> Iterator[Peer]:
    """An snmpd of this test's own, so it can be frozen without disturbing others."""
    peer = start_snmpd(tmp_path / "snmpd")
    yield peer
    os.kill(peer.proc.pid, signal.SIGCONT)
    stop(peer.proc)


def _notices(hook: WebhookPeer, device_id: str, rule: str) -> list[dict[str, Any]]:
    return [alert for request in hook.accepted for alert in request.body["alerts"]
            if alert["labels"].get("device_id") == device_id
            and alert["labels"].get("rule") == rule]


def _events(hook: WebhookPeer) -> list[str]:
    return [a["event"] for a in _notices(hook, "sw-0", "device_down")]


def test_outage_fires_once_across_a_restart_and_recovers(
        tmp_path: Path, own_snmpd: Peer, hook: WebhookPeer) -> None:
    alerts = ("alerts:\n  channels:\n"
              f"    - {{name: hook, type: webhook, url: \"{hook.url()}\", group_wait: 0s, "
              "group_interval: 0s, retry_initial: 1s}\n"
              "  routes:\n    - {match: {}, channels: [hook]}\n")
    config = agent_config(tmp_path, snmp_devices_yaml(own_snmpd.address, 1),
                          top_extra=alerts)
    first = AgentProcess(config).start()
    try:
        first.wait_polls("sw-0", 2)
        os.kill(own_snmpd.proc.pid, signal.SIGSTOP)          # the switch stops answering
        first.wait_for("the outage notice", lambda: "firing" in _events(hook))
    finally:
        assert first.stop() == 0, first.log()

    second = AgentProcess(config).start()                    # restarted while firing
    try:
        second.wait_polls("sw-0", 5)                          # still down, past outage_polls
        os.kill(own_snmpd.proc.pid, signal.SIGCONT)          # and back
        second.wait_for("the recovery notice", lambda: "resolved" in _events(hook),
                        timeout=45)
    finally:
        assert second.stop() == 0, second.log()

    assert _events(hook) == ["firing", "resolved"], _events(hook)
    firing, resolved = _notices(hook, "sw-0", "device_down")
    assert firing["fingerprint"] == resolved["fingerprint"]
    assert resolved["endsAt"] and firing["startsAt"] == resolved["startsAt"]
    assert firing["labels"]["site"] == "district-hall"
    status = second.status() or {}
    assert status["alerts"]["delivery"], status["alerts"]


def test_an_answer_without_the_profiles_data_is_a_finding_and_never_ends_an_outage(
        tmp_path: Path, own_snmpd: Peer, hook: WebhookPeer) -> None:
    """Issue 12 (2): a UPS whose card answers but has no UPS-MIB (here: net-snmp polled
    with the ups profile) is not healthy. It raises profile_no_data, and an outage that
    was firing stays firing: an answer Lifeline cannot use is no recovery."""
    alerts = ("alerts:\n  thresholds: {outage_polls: 2, bad_answer_for: 1s}\n  channels:\n"
              f"    - {{name: hook, type: webhook, url: \"{hook.url()}\", group_wait: 0s, "
              "group_interval: 0s, retry_initial: 1s}\n"
              "  routes:\n    - {match: {}, channels: [hook]}\n")
    devices = snmp_devices_yaml(own_snmpd.address, 1, prefix="ups", profile="ups",
                                category="ups")
    config = agent_config(tmp_path, devices, top_extra=alerts)
    os.kill(own_snmpd.proc.pid, signal.SIGSTOP)              # silent from the start
    agent = AgentProcess(config).start()
    try:
        agent.wait_for("the outage notice", lambda: any(
            a["event"] == "firing" for a in _notices(hook, "ups-0", "device_down")))
        os.kill(own_snmpd.proc.pid, signal.SIGCONT)          # answers again, without UPS data
        agent.wait_for("the finding", lambda: any(
            a["event"] == "firing" for a in _notices(hook, "ups-0", "profile_no_data")))
        polls = (agent.status() or {})["devices"]["ups-0"]["polls"]
        agent.wait_polls("ups-0", polls + 3)                 # and keeps answering so
    finally:
        assert agent.stop() == 0, agent.log()
    assert [a["event"] for a in _notices(hook, "ups-0", "device_down")] == ["firing"]
    [finding] = _notices(hook, "ups-0", "profile_no_data")
    assert "has no ups" in finding["annotations"]["summary"]
    device = (agent.status() or {})["devices"]["ups-0"]
    assert device["failures"] == device["polls"]            # never counted as healthy

"""Issue 13, items 1-3, told end to end: `lifeline run` polls real snmpd devices every
second or two, a real webhook server on loopback receives the notices, and the devices
fail by being frozen (SIGSTOP) and thawed (SIGCONT). Each story waits for what the
agent says (its notices, its status file), never for a fixed time.

1. A recovery after flapping, once flapping settled in a long outage, is one `resolved`,
   not a firing marked flapping.
2. A firing the webhook never took (503 past `expire_after`, or a 400) is told when the
   webhook takes posts again while the alert still fires; a recovery whose firing never
   got there is withheld, and the status and the log say so.
3. Children behind a parent that comes back stay quiet unless they fail their own
   `outage_polls` after it.
"""
from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from peers.agent import AgentProcess, agent_config, snmp_devices_yaml
from peers.snmp import Peer, start_snmpd, stop
from peers.webhook import WebhookPeer

pytestmark = pytest.mark.peer


@pytest.fixture
def snmpds(tmp_path: Path) -> Iterator[Callable[[str], Peer]]:
    """Starts snmpds of this test's own (so they can be frozen); thaws and stops them."""
    started: list[Peer] = []

    def start(name: str) -> Peer:
        peer = start_snmpd(tmp_path / f"snmpd-{name}")
        started.append(peer)
        return peer

    yield start
    for peer in started:
        os.kill(peer.proc.pid, signal.SIGCONT)
        stop(peer.proc)


def freeze(peer: Peer) -> None:
    os.kill(peer.proc.pid, signal.SIGSTOP)


def thaw(peer: Peer) -> None:
    os.kill(peer.proc.pid, signal.SIGCONT)


def notices(hook: WebhookPeer, device_id: str = "sw-0",
            rule: str = "device_down") -> list[dict[str, Any]]:
    """The alerts of every post the webhook accepted, for one device and rule."""
    return [alert for request in hook.accepted for alert in request.body["alerts"]
            if alert["labels"].get("device_id") == device_id
            and alert["labels"].get("rule") == rule]


def events(hook: WebhookPeer, device_id: str = "sw-0") -> list[str]:
    return [a["event"] for a in notices(hook, device_id)]


def channel(hook: WebhookPeer, **timing: str) -> str:
    keys = {"group_wait": "0s", "group_interval": "0s", "retry_initial": "1s", **timing}
    return ("  channels:\n"
            f"    - {{name: hook, type: webhook, url: \"{hook.url()}\", "
            + ", ".join(f"{k}: {v}" for k, v in keys.items()) + "}\n"
            "  routes:\n    - {match: {}, channels: [hook]}\n")


def delivery(agent: AgentProcess) -> dict[str, Any]:
    return ((agent.status() or {}).get("alerts") or {}).get("delivery", {}).get("hook", {})


def firing_in_status(agent: AgentProcess, device_id: str) -> dict[str, Any] | None:
    alerts = ((agent.status() or {}).get("alerts") or {}).get("alerts", {})
    return next((a for a in alerts.get("firing", []) if a["device_id"] == device_id
                 and a["rule"] == "device_down"), None)


# ---- 1. flapping ----------------------------------------------------------------------

def test_a_recovery_after_flapping_is_a_resolved(tmp_path: Path, snmpds, hook) -> None:
    device = snmpds("flappy")
    alerts = ("alerts:\n  thresholds: {outage_polls: 2, flap_changes: 4, flap_window: 5m,"
              " flap_stable: 20s}\n" + channel(hook))
    config = agent_config(tmp_path, snmp_devices_yaml(device.address, 1), top_extra=alerts)
    agent = AgentProcess(config).start()
    try:
        agent.wait_polls("sw-0", 2)
        told: list[str] = []
        for change in ("firing", "resolved", "firing", "resolved"):   # each one told
            freeze(device) if change == "firing" else thaw(device)
            told.append(change)
            agent.wait_for(f"notices {told}", lambda t=tuple(told): tuple(events(hook)) == t)
        freeze(device)                                     # the fifth change: flapping
        agent.wait_for("the flapping notice", lambda: len(events(hook)) == 5)
        assert notices(hook)[-1]["flapping"] is True, notices(hook)
        # it stays down until flapping settles (flap_stable), the alert still firing
        agent.wait_for("flapping to settle while down", lambda: (
            (a := firing_in_status(agent, "sw-0")) is not None and a["flapping"] is False))
        told_before = len(notices(hook))
        thaw(device)                                       # and comes back for good
        agent.wait_for("the recovery notice", lambda: len(notices(hook)) > told_before,
                       timeout=45)
        agent.wait_polls("sw-0", (agent.status() or {})["devices"]["sw-0"]["polls"] + 3)
    finally:
        assert agent.stop() == 0, agent.log()
    after = notices(hook)[told_before:]
    assert [(a["event"], a["flapping"]) for a in after] == [("resolved", False)], after
    assert after[0]["endsAt"] is not None


# ---- 2. a firing that never reached the channel ----------------------------------------

@pytest.mark.parametrize("refusal", [503, 400], ids=["expired", "refused"])
def test_a_missed_firing_is_told_when_the_channel_takes_posts_again(
        tmp_path: Path, snmpds, hook, refusal: int) -> None:
    device = snmpds("sw")
    alerts = ("alerts:\n  thresholds: {outage_polls: 2}\n"
              + channel(hook, retry_max="2s", expire_after="6s"))
    config = agent_config(tmp_path, snmp_devices_yaml(device.address, 1), top_extra=alerts)
    agent = AgentProcess(config).start()
    try:
        agent.wait_polls("sw-0", 2)
        with hook.lock:
            hook.statuses[:] = [refusal] * 100_000        # the webhook refuses every post
        freeze(device)
        given_up = "expired" if refusal == 503 else "failed"
        agent.wait_for(f"the firing {given_up}", lambda: delivery(agent).get(given_up))
        while_missed = delivery(agent)
        with hook.lock:
            hook.statuses.clear()                          # the webhook takes posts again
        agent.wait_for("the missed firing", lambda: "firing" in events(hook))
        thaw(device)
        agent.wait_for("the recovery", lambda: "resolved" in events(hook))
        agent.wait_for("the figures", lambda: delivery(agent).get("retold"))
    finally:
        assert agent.stop() == 0, agent.log()
    assert events(hook) == ["firing", "resolved"]
    assert while_missed.get("untold") == 1, while_missed      # the operator is told
    assert delivery(agent)["untold"] == 0
    assert "still owed" in agent.log()


def test_a_recovery_whose_firing_never_got_there_is_withheld(
        tmp_path: Path, snmpds, hook) -> None:
    device = snmpds("sw")
    alerts = ("alerts:\n  thresholds: {outage_polls: 2}\n"
              + channel(hook, retry_max="2s", expire_after="6s"))
    config = agent_config(tmp_path, snmp_devices_yaml(device.address, 1), top_extra=alerts)
    agent = AgentProcess(config).start()
    try:
        agent.wait_polls("sw-0", 2)
        with hook.lock:
            hook.statuses[:] = [503] * 100_000
        freeze(device)
        agent.wait_for("the firing to expire", lambda: delivery(agent).get("expired"))
        thaw(device)                                       # back while the webhook is down
        agent.wait_for("the recovery withheld", lambda: delivery(agent).get("withheld"))
        with hook.lock:
            hook.statuses.clear()
        agent.wait_for("an empty outbox", lambda: delivery(agent).get("pending") == 0)
    finally:
        assert agent.stop() == 0, agent.log()
    assert events(hook) == []                              # no lone recovery
    assert delivery(agent)["withheld"] == 1
    assert "never reached this channel" in agent.log()


# ---- 3. children answering a little after their parent ---------------------------------

def test_children_answering_soon_after_their_parent_raise_nothing(
        tmp_path: Path, snmpds, hook) -> None:
    parent, children, lone = snmpds("core"), snmpds("children"), snmpds("lone")
    poll = "protocol: snmp, credentials: v2, profile: switch, timeout: 800ms, retries: 0"
    devices = (f"  - {{id: core, name: core, category: switch, site: hall,"
               f" thresholds: {{outage_polls: 2}},"
               f" poll: {{address: \"{parent.address}\", interval: 1s, {poll}}}}}\n")
    for i, peer in enumerate([children] * 4 + [lone]):
        devices += (f"  - {{id: edge-{i}, name: edge {i}, category: switch, site: hall,"
                    f" parent: core, thresholds: {{outage_polls: 3}},"
                    f" poll: {{address: \"{peer.address}\", interval: 2s, {poll}}}}}\n")
    config = agent_config(tmp_path, devices, top_extra="alerts:\n" + channel(hook))
    agent = AgentProcess(config).start()
    try:
        for i in range(5):
            agent.wait_polls(f"edge-{i}", 1)
        for peer in (parent, children, lone):
            freeze(peer)
        agent.wait_for("the parent's outage", lambda: "firing" in events(hook, "core"))
        for i in range(5):                                 # every child past its threshold
            agent.wait_for(f"edge-{i} down", lambda i=i: (
                (agent.status() or {})["devices"][f"edge-{i}"]["consecutive_failures"] >= 3))
        thaw(parent)
        agent.wait_for("the parent's recovery", lambda: "resolved" in events(hook, "core"))
        thaw(children)                                     # four answer a little later
        agent.wait_for("the child still down", lambda: "firing" in events(hook, "edge-4"))
    finally:
        assert agent.stop() == 0, agent.log()
    assert events(hook, "core") == ["firing", "resolved"]
    assert [events(hook, f"edge-{i}") for i in range(4)] == [[], [], [], []]
    assert events(hook, "edge-4") == ["firing"]

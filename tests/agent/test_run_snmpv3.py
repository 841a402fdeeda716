"""SNMPv3 credentials under `lifeline run` with real snmpd and a real webhook receiver:
wrong keys raise an alert that says so and never end an outage (issue 13, item 4), and
keys changed in their secret files take effect at a reload, the old ones never used again
(issue 12, "SNMPv3 keys changing under a running agent")."""
from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peers.agent import AgentProcess
from peers.snmp import SNMPGET, Peer, SnmpdUser, start_snmpd, stop
from peers.webhook import WebhookPeer

pytestmark = pytest.mark.peer

NOC = SnmpdUser("noc")                                            # authpass123 / privpass123
ROTATED = SnmpdUser("noc", auth="rotated-auth-2", priv="rotated-priv-2")
USM_STATS_WRONG_DIGESTS = "1.3.6.1.6.3.15.1.1.5.0"


@pytest.fixture
def snmpds() -> Iterator[list[Peer]]:
    """The test's own snmpd processes (appended by the test), stopped at the end."""
    started: list[Peer] = []
    yield started
    for peer in started:
        if peer.proc.poll() is None:
            os.kill(peer.proc.pid, signal.SIGCONT)
        stop(peer.proc)


def _config(directory: Path, address: str, *, hook: WebhookPeer | None = None) -> Path:
    """One switch polled every second over SNMPv3 (user noc, SHA/AES) with its keys in
    files next to the config: auth.key and priv.key."""
    alerts = "" if hook is None else (
        "alerts:\n  thresholds: {outage_polls: 2, bad_answer_for: 1s}\n  channels:\n"
        f"    - {{name: hook, type: webhook, url: \"{hook.url()}\", group_wait: 0s, "
        "group_interval: 0s, retry_initial: 1s}\n"
        "  routes:\n    - {match: {}, channels: [hook]}\n")
    path = directory / "lifeline.yaml"
    path.write_text(
        f"agent:\n  name: test-agent\n  state_dir: {directory / 'var'}\n"
        "credentials:\n"
        "  v3: {version: 3, user: noc, auth_protocol: SHA, auth_key_file: auth.key,\n"
        "       priv_protocol: AES, priv_key_file: priv.key}\n"
        f"{alerts}devices:\n"
        "  - id: sw-0\n    name: sw 0\n    category: switch\n    site: district-hall\n"
        f"    poll: {{protocol: snmp, address: \"{address}\", credentials: v3, "
        "profile: switch, interval: 1s, timeout: 800ms, retries: 0}\n", encoding="utf-8")
    return path


def _keys(directory: Path, auth: str, priv: str) -> None:
    for name, value in (("auth.key", auth), ("priv.key", priv)):
        (directory / name).write_text(value + "\n", encoding="utf-8")
        (directory / name).chmod(0o600)


def _notices(hook: WebhookPeer, rule: str) -> list[dict[str, Any]]:
    return [alert for request in hook.accepted for alert in request.body["alerts"]
            if alert["labels"].get("device_id") == "sw-0"
            and alert["labels"].get("rule") == rule]


def _device(agent: AgentProcess) -> dict[str, Any]:
    return dict((agent.status() or {}).get("devices", {}).get("sw-0") or {})


@pytest.mark.parametrize("wrong, says", [
    ({"auth": "wrongpass999", "priv": NOC.priv}, "authentication key"),
    ({"auth": NOC.auth, "priv": "wrongpass999"}, "privacy key"),
], ids=["wrong-auth-key", "wrong-privacy-key"])
def test_a_wrong_v3_key_raises_an_alert_that_says_so_and_never_ends_an_outage(
        tmp_path: Path, snmpds: list[Peer], hook: WebhookPeer, wrong: dict[str, str],
        says: str) -> None:
    """The switch is silent first (device_down fires), then answers, but refuses our keys:
    device_bad_answer fires naming the key, and device_down stays open. Before, a wrong
    auth key raised nothing and cleared the outage; a wrong privacy key was an outage."""
    peer = start_snmpd(tmp_path / "snmpd", users=[NOC], engine_id="lifeline-keys")
    snmpds.append(peer)
    _keys(tmp_path, wrong["auth"], wrong["priv"])
    os.kill(peer.proc.pid, signal.SIGSTOP)
    agent = AgentProcess(_config(tmp_path, peer.address, hook=hook)).start()
    try:
        agent.wait_for("the outage notice", lambda: any(
            a["event"] == "firing" for a in _notices(hook, "device_down")))
        os.kill(peer.proc.pid, signal.SIGCONT)               # answers, refusing our keys
        agent.wait_for("the bad-answer notice", lambda: any(
            a["event"] == "firing" for a in _notices(hook, "device_bad_answer")))
        agent.wait_polls("sw-0", _device(agent)["polls"] + 3)
    finally:
        assert agent.stop() == 0, agent.log()
    assert [a["event"] for a in _notices(hook, "device_down")] == ["firing"]
    [finding] = _notices(hook, "device_bad_answer")
    assert finding["event"] == "firing" and says in finding["annotations"]["summary"], finding
    device = _device(agent)
    assert device["last_result"] == "auth_failure", device
    assert device["failures"] == device["polls"], device       # never counted as healthy
    assert "wrongpass999" not in agent.log() + str(hook.accepted)


def _wrong_digests(address: str) -> int:
    """usmStatsWrongDigests of the snmpd: requests signed with a key it does not have."""
    out = subprocess.run([SNMPGET, "-v2c", "-c", "public", "-On", "-Oqv", "-t", "1", address,
                          USM_STATS_WRONG_DIGESTS], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def test_keys_changed_in_their_files_are_used_from_the_reload_on(
        tmp_path: Path, snmpds: list[Peer]) -> None:
    """Key rotation under a running agent: the switch gets new keys (snmpd restarted on the
    same address and engine id with them), the agent's polls fail as auth failures; the
    key files are rewritten and SIGHUP sent: the polls succeed again, and from then on
    the switch sees no request signed with the old key."""
    old = start_snmpd(tmp_path / "snmpd-old", users=[NOC], engine_id="lifeline-rotate")
    snmpds.append(old)
    _keys(tmp_path, NOC.auth, NOC.priv or "")
    agent = AgentProcess(_config(tmp_path, old.address)).start()
    try:
        agent.wait_for("a successful poll", lambda: _device(agent).get("last_result")
                       == "success")
        stop(old.proc)
        new = start_snmpd(tmp_path / "snmpd-new", users=[ROTATED], engine_id="lifeline-rotate",
                          port=int(old.address.rpartition(":")[2]))
        snmpds.append(new)
        agent.wait_for("polls refused with the old key", lambda: _device(agent).get(
            "last_result") == "auth_failure")
        assert "authentication key" in _device(agent)["last_error"]

        _keys(tmp_path, ROTATED.auth, ROTATED.priv or "")
        reloads = (agent.status() or {})["agent"]["reloads"]
        agent.send(signal.SIGHUP)
        agent.wait_for("the reload", lambda: (agent.status() or {})["agent"]["reloads"]
                       > reloads)
        agent.wait_for("a successful poll with the new key", lambda: _device(agent).get(
            "last_result") == "success")
        # Polls started before the reload may still have been refused: count from here.
        wrong, after = _wrong_digests(new.address), _device(agent)
        agent.wait_polls("sw-0", after["polls"] + 5)
        later = _device(agent)
    finally:
        assert agent.stop() == 0, agent.log()
    assert later["failures"] == after["failures"], later       # every poll since succeeded
    assert _wrong_digests(new.address) == wrong               # none signed with the old key
    assert "rotated-auth-2" not in agent.log() and "authpass123" not in agent.log()

"""SNMP traps and informs to a real `lifeline run` on loopback, sent by net-snmp's
`snmptrap` and `snmpinform`; the UPS is the demo lab's simulated device on its own
loopback address, so the traps' source address is the device's (`--clientaddr`)."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import run_lifeline

from agent.demo.snmp_lab import Recording, SnmpLab
from agent.device_states import DeviceStates
from agent.schedule import PollJob, phase
from collectors.base import PollResult, ResultCode, Sample, SnmpFacts

from peers.agent import AgentProcess, agent_config
from peers.snmp import free_udp_port
from peers.webhook import WebhookPeer, running_webhook

pytestmark = [pytest.mark.peer,
              pytest.mark.skipif(shutil.which("snmptrap") is None,
                                 reason="net-snmp's snmptrap (Debian snmp) is not installed")]

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
UPS_ADDRESS = "127.0.0.51"      # the UPS: polled here, and its traps come from here
OTHER_ADDRESS = "127.0.0.52"    # a second device (flood source)
STRANGER = "127.0.0.53"         # no device is polled here
ON_BATTERY = "1.3.6.1.2.1.33.2.1"      # RFC 1628 upsTrapOnBattery
COLD_START = "1.3.6.1.6.3.1.1.5.1"
UPS = "ups-110"                 # its phase in a 300 s interval is under 2 s: polled at start
LONG = 300                      # seconds between scheduled polls: only a trap explains more


@pytest.fixture
def lab() -> Iterator[SnmpLab]:
    lab = SnmpLab("public")
    yield lab
    lab.close()


def _recording(name: str) -> Recording:
    return Recording.load(DEMO / f"{name}.snmprec")


def _ups_yaml(device_id: str, address: str, port: int, interval: int) -> str:
    return (f"  - id: {device_id}\n    name: UPS {device_id}\n    category: ups\n"
            f"    site: district-hall\n"
            f"    poll: {{protocol: snmp, address: \"{address}:{port}\", credentials: v2, "
            f"profile: ups, interval: {interval}s, timeout: 1s, retries: 1}}\n")


def _config(tmp_path: Path, devices: str, trap_port: int, hook: WebhookPeer | None = None,
            traps_extra: str = "") -> Path:
    top = f"traps: {{listen: \"127.0.0.1:{trap_port}\"{traps_extra}}}\n"
    if hook is not None:
        # The default ups_for (30 s): a trap's on_battery must not wait for it.
        top += ("alerts:\n"
                f"  channels:\n    - {{name: hook, type: webhook, url: \"{hook.url()}\", "
                "group_wait: 0s, group_interval: 0s}\n"
                "  routes:\n    - {match: {}, channels: [hook]}\n")
    return agent_config(tmp_path, devices, top_extra=top)


def _send(kind: str, version: str, community: str, source: str, port: int,
          *trap: str) -> subprocess.CompletedProcess[str]:
    command = "snmpinform" if kind == "inform" else "snmptrap"
    return subprocess.run(
        [command, "-v", version, "-c", community, f"--clientaddr={source}", "-On",
         "-r", "3", "-t", "2", f"127.0.0.1:{port}", *trap],
        capture_output=True, text=True, timeout=60, check=False)


def _traps(agent: AgentProcess) -> dict[str, int]:
    status = agent.status() or {}
    if agent.proc is None or status.get("agent", {}).get("pid") != agent.proc.pid:
        return {}
    return status.get("traps") or {}


def _firing(hook: WebhookPeer, rule: str, status: str) -> list[dict[str, Any]]:
    return [a for r in hook.accepted for a in r.body.get("alerts", [])
            if a["labels"].get("rule") == rule and a["status"] == status]


def _summary(alert: dict[str, Any]) -> str:
    return str(alert.get("annotations", {}).get("summary", ""))


def test_on_battery_trap_alerts_at_once_and_the_poll_on_mains_resolves(
        tmp_path: Path, lab: SnmpLab) -> None:
    """The trap's meaning fires `ups_on_battery` itself, without the default 30 s
    `ups_for` a poll's on-battery waits for; the poll that sees mains resolves it."""
    assert phase(UPS, LONG) < 2
    ups_port = lab.add(UPS, _recording("ups-normal"), host=UPS_ADDRESS)
    trap_port = free_udp_port()
    with running_webhook() as hook:
        config = _config(tmp_path, _ups_yaml(UPS, UPS_ADDRESS, ups_port, LONG), trap_port, hook)
        agent = AgentProcess(config).start()
        try:
            agent.wait_polls(UPS, 1)
            assert not _firing(hook, "ups_on_battery", "firing")
            lab.swap(UPS, _recording("ups-battery"))
            sent = _send("trap", "2c", "public", UPS_ADDRESS, trap_port, "", ON_BATTERY,
                         "1.3.6.1.2.1.33.1.2.2.0", "i", "12")
            assert sent.returncode == 0, sent.stderr
            # Bounded well inside the 300 s until the next scheduled poll.
            found = agent.wait_for("ups_on_battery at the webhook",
                                   lambda: _firing(hook, "ups_on_battery", "firing"))
            assert found[0]["labels"]["device_id"] == UPS
            # Fired by the trap's condition, not by a poll's after ups_for: the summary
            # is the one rules.trap writes ("trap received").
            assert "트랩 수신" in _summary(found[0]), found[0]     # the webhook speaks Korean
            device = agent.wait_polls(UPS, 2)
            assert device["polls"] == 2         # the trap's poll, not a scheduled one
            assert _traps(agent)["accepted"] == 1
            assert not _firing(hook, "ups_on_battery", "resolved")    # the poll confirmed it

            # Power back: the mains trap is not one the ups profile knows, but any trap
            # is evidence, and the poll it asks for resolves the alert.
            lab.swap(UPS, _recording("ups-normal"))
            sent = _send("trap", "2c", "public", UPS_ADDRESS, trap_port, "",
                         "1.3.6.1.2.1.33.2.4")
            assert sent.returncode == 0, sent.stderr
            agent.wait_for("ups_on_battery resolved",
                           lambda: _firing(hook, "ups_on_battery", "resolved"))
        finally:
            assert agent.stop() == 0, agent.log()
        assert len(_firing(hook, "ups_on_battery", "firing")) == 1
        assert len(_firing(hook, "ups_on_battery", "resolved")) == 1
    stored = run_lifeline("metrics", config, "--device", UPS, "--measurement", "snmp_trap",
                          "--format", "json")
    assert stored.returncode == 0, stored.stderr
    assert ON_BATTERY in stored.stdout and "on_battery" in stored.stdout


def test_an_on_battery_trap_the_poll_does_not_confirm_is_ended_by_it(
        tmp_path: Path, lab: SnmpLab) -> None:
    """Evidence, not a verdict: the UPS says on battery, its poll says mains (a blip
    already over): the trap's alert fires, and the poll it asks for resolves it."""
    ups_port = lab.add(UPS, _recording("ups-normal"), host=UPS_ADDRESS)
    trap_port = free_udp_port()
    with running_webhook() as hook:
        config = _config(tmp_path, _ups_yaml(UPS, UPS_ADDRESS, ups_port, LONG), trap_port, hook)
        agent = AgentProcess(config).start()
        try:
            agent.wait_polls(UPS, 1)
            sent = _send("trap", "2c", "public", UPS_ADDRESS, trap_port, "", ON_BATTERY)
            assert sent.returncode == 0, sent.stderr
            resolved = agent.wait_for("ups_on_battery resolved by the trap's poll",
                                      lambda: _firing(hook, "ups_on_battery", "resolved"))
            assert resolved[0]["labels"]["device_id"] == UPS
            assert _firing(hook, "ups_on_battery", "firing")
            assert agent.wait_polls(UPS, 2)["polls"] == 2
        finally:
            assert agent.stop() == 0, agent.log()


def test_a_cold_start_trap_records_a_reboot_in_the_status(tmp_path: Path, lab: SnmpLab) -> None:
    ups_port = lab.add(UPS, _recording("ups-normal"), host=UPS_ADDRESS)
    trap_port = free_udp_port()
    config = _config(tmp_path, _ups_yaml(UPS, UPS_ADDRESS, ups_port, LONG), trap_port)
    agent = AgentProcess(config).start()
    try:
        assert agent.wait_polls(UPS, 1)["reboots"] == 0
        sent = _send("trap", "2c", "public", UPS_ADDRESS, trap_port, "", COLD_START)
        assert sent.returncode == 0, sent.stderr
        device = agent.wait_for("the reboot in the status",
                                lambda: (d := agent.wait_polls(UPS, 1))["reboots"] and d)
        assert device["last_reboot_by"] == "coldStart" and device["last_reboot"]
        # The poll the trap asked for does not count the same reboot again.
        assert agent.wait_polls(UPS, 2)["reboots"] == 1
    finally:
        assert agent.stop() == 0, agent.log()
    assert "rebooted (coldStart)" in agent.log()
    final = json.loads((tmp_path / "var" / "status.json").read_text())
    assert final["devices"][UPS]["reboots"] == 1


def test_a_trap_for_a_device_in_maintenance_is_stored_but_tells_no_one(
        tmp_path: Path, lab: SnmpLab) -> None:
    """Silenced for maintenance: the trap is counted and stored, and its alert fires
    silenced; the webhook hears nothing, even after the delivery at stop."""
    ups_port = lab.add(UPS, _recording("ups-normal"), host=UPS_ADDRESS)
    trap_port = free_udp_port()
    with running_webhook() as hook:
        config = _config(tmp_path, _ups_yaml(UPS, UPS_ADDRESS, ups_port, LONG), trap_port, hook)
        agent = AgentProcess(config).start()
        try:
            agent.wait_polls(UPS, 1)
            silenced = run_lifeline("alerts", config, "silence", f"device_id={UPS}",
                                    "--for", "2h", "--reason", "battery replacement")
            assert silenced.returncode == 0, silenced.stderr
            lab.swap(UPS, _recording("ups-battery"))
            sent = _send("trap", "2c", "public", UPS_ADDRESS, trap_port, "", ON_BATTERY)
            assert sent.returncode == 0, sent.stderr
            firing = agent.wait_for("ups_on_battery firing, silenced", lambda: [
                a for a in ((agent.status() or {}).get("alerts") or {}).get("alerts", {})
                .get("firing", []) if a["rule"] == "ups_on_battery"])
            assert firing[0]["silenced"] is True
            assert _traps(agent)["accepted"] == 1
        finally:
            assert agent.stop() == 0, agent.log()     # delivers what is owed, once more
        assert not [r for r in hook.received if "ups_on_battery" in json.dumps(r.body)]
    stored = run_lifeline("metrics", config, "--device", UPS, "--measurement", "snmp_trap",
                          "--format", "json")
    assert stored.returncode == 0, stored.stderr
    assert ON_BATTERY in stored.stdout


def test_each_kind_of_bad_trap_is_dropped_and_counted(tmp_path: Path, lab: SnmpLab) -> None:
    ups_port = lab.add(UPS, _recording("ups-normal"), host=UPS_ADDRESS)
    trap_port = free_udp_port()
    config = _config(tmp_path, _ups_yaml(UPS, UPS_ADDRESS, ups_port, LONG), trap_port)
    agent = AgentProcess(config).start()
    try:
        agent.wait_polls(UPS, 1)
        assert _send("trap", "2c", "not-the-community", UPS_ADDRESS, trap_port, "",
                     ON_BATTERY).returncode == 0
        assert _send("trap", "2c", "public", STRANGER, trap_port, "", ON_BATTERY).returncode == 0
        assert _send("trap", "2c", "public", STRANGER, trap_port, "", ON_BATTERY).returncode == 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((UPS_ADDRESS, 0))
            sock.sendto(b"\x30\x03\x02\x01", ("127.0.0.1", trap_port))     # truncated
        # An inform is acknowledged: snmpinform exits 0 only once it has the Response.
        inform = _send("inform", "2c", "public", UPS_ADDRESS, trap_port, "", ON_BATTERY)
        assert inform.returncode == 0, inform.stderr
        # An APC v1 trap: enterprise 318, specific 5 is upsOnBattery.
        v1 = _send("trap", "1", "public", UPS_ADDRESS, trap_port, "1.3.6.1.4.1.318",
                   UPS_ADDRESS, "6", "5", "")
        assert v1.returncode == 0, v1.stderr
        counts = agent.wait_for("every trap counted",
                                lambda: (c := _traps(agent)) and c["received"] >= 6 and c)
        assert counts == {"received": 6, "accepted": 2, "rate_limited": 0, "malformed": 1,
                          "unsupported": 0, "unknown_source": 2, "bad_community": 1,
                          "bad_keys": 0, "stale": 0, "engine_discovery": 0,
                          "informs_acknowledged": 1}
        log = agent.log()
        assert log.count(f"trap from {STRANGER}, which no device is polled at") == 1
    finally:
        assert agent.stop() == 0, agent.log()
    stored = run_lifeline("metrics", config, "--device", UPS, "--measurement", "snmp_trap",
                          "--format", "json")
    assert stored.returncode == 0, stored.stderr
    assert "1.3.6.1.4.1.318.0.5" in stored.stdout and "upsOnBattery" in stored.stdout


def _captured_trap(source: str) -> bytes:
    """One real v2c trap as snmptrap sends it, caught on a socket of our own."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(30)
        port = sock.getsockname()[1]
        assert _send("trap", "2c", "public", source, port, "", ON_BATTERY).returncode == 0
        return sock.recv(65536)


def test_a_flood_from_one_source_starves_neither_polls_nor_other_sources(
        tmp_path: Path, lab: SnmpLab) -> None:
    ups_port = lab.add(UPS, _recording("ups-normal"), host=UPS_ADDRESS)
    other_port = lab.add("rack-2", _recording("ups-normal"), host=OTHER_ADDRESS)
    trap_port = free_udp_port()
    devices = (_ups_yaml(UPS, UPS_ADDRESS, ups_port, 3)
               + _ups_yaml("rack-2", OTHER_ADDRESS, other_port, LONG))
    config = _config(tmp_path, devices, trap_port, traps_extra=", rate_per_source: 5, burst: 20")
    trap = _captured_trap(OTHER_ADDRESS)
    agent = AgentProcess(config).start()
    try:
        before = agent.wait_polls(UPS, 2)["polls"]
        informs: list[subprocess.CompletedProcess[str]] = []

        def other_source() -> None:
            informs.append(_send("inform", "2c", "public", UPS_ADDRESS, trap_port, "",
                                 ON_BATTERY))

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flood:
            flood.bind((OTHER_ADDRESS, 0))
            sender = threading.Thread(target=other_source)
            for i in range(10_000):
                flood.sendto(trap, ("127.0.0.1", trap_port))
                if i == 5_000:
                    sender.start()
        sender.join(timeout=60)
        assert informs and informs[0].returncode == 0, informs and informs[0].stderr
        agent.wait_polls(UPS, before + 3)       # polls went on through the flood
        counts = agent.wait_for("the flood counted", lambda: (c := _traps(agent))
                                and c["rate_limited"] + c["accepted"] >= 9_000 and c)
        assert counts["rate_limited"] > 8_000
        assert counts["informs_acknowledged"] == 1
        # The flood's device was polled for its traps, but not thousands of times.
        rack = (agent.status() or {})["devices"]["rack-2"]
        assert 1 <= rack["polls"] <= 20
    finally:
        assert agent.stop() == 0, agent.log()
    assert json.loads((tmp_path / "var" / "status.json").read_text())["traps"]["malformed"] == 0


def _switch_poll(device_id: str, engine_id: str, ports: int) -> PollResult:
    now = datetime.now(UTC)
    return PollResult(
        device_id=device_id, code=ResultCode.SUCCESS, started=now, duration=0.1,
        facts=SnmpFacts(engine_id=engine_id),
        samples=tuple(Sample("interface", {"ifIndex": str(i), "ifName": f"Gi0/{i}",
                                           "ifDescr": f"GigabitEthernet0/{i}"},
                             {"ifOperStatus": 1}, now) for i in range(1, ports + 1)))


def test_device_states_keep_the_monitored_ports_and_each_devices_engine_id() -> None:
    """What a trap needs of the polls: the ifIndex of the monitored ports only (not all
    48 of a switch), and which devices answered with an engine id (one engine changing
    hands on a replaced chassis)."""
    states = DeviceStates()
    ids = ("sw-1", "sw-2")
    states.adopt({d: PollJob(d, 60.0) for d in ids}, dict.fromkeys(ids, "snmp"))
    states.watch_ports({"sw-1": ("GigabitEthernet0/48",)})
    states.record(_switch_poll("sw-1", "80001f8804aa", 48))
    states.record(_switch_poll("sw-2", "80001f8804bb", 48))
    assert states.ports("sw-1", 48) == ("GigabitEthernet0/48",)
    assert states.ports("sw-1", 47) == () and states.ports("sw-2", 48) == ()
    assert states.with_engine(bytes.fromhex("80001f8804aa")) == ("sw-1",)
    states.record(_switch_poll("sw-2", "80001f8804aa", 48))
    assert set(states.with_engine(bytes.fromhex("80001f8804aa"))) == {"sw-1", "sw-2"}
    assert states.with_engine(bytes.fromhex("80001f8804bb")) == ()
    states.adopt({"sw-2": PollJob("sw-2", 60.0)}, {"sw-2": "snmp"})     # sw-1 removed
    assert states.with_engine(bytes.fromhex("80001f8804aa")) == ("sw-2",)

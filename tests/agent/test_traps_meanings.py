"""What a trap means, acted on before the poll, and SNMPv3 traps and informs, in one real
`lifeline run` shared by the tests of this module (each test tells its story on a device
of its own).

The switch and the UPS are the demo lab's simulated devices, each on a loopback address
of its own, since traps are matched to devices by the sender's address; net-snmp's
`snmptrap` sends from there (`--clientaddr`). The v3 device is the session's real snmpd
(user noc, SHA/AES) on 127.0.0.1, polled over v3, and its traps come from 127.0.0.1, or
from another address (its "other interface") with its engine id. Two more snmpds share
one engine id (cloned configurations), each polled over v3 by a device of its own.
Every device is polled every 300 s, and the scheduled first poll comes within 2 s of the
start: any later poll is one a trap asked for. The default `for` durations stay
(interface_down_for 60 s, ups_for 30 s): an alert that reaches the webhook within the
test's patience (30 s) and says "said by its trap" was fired by the trap, not by a poll.
"""
from __future__ import annotations

import json
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import run_lifeline

from agent.demo.snmp_lab import Recording, SnmpLab
from agent.schedule import phase

from peers.agent import AgentProcess, agent_config
from peers.snmp import Peer, engine_id_of, free_udp_port, start_snmpd, stop
from peers.webhook import WebhookPeer, running_webhook

pytestmark = [pytest.mark.peer,
              pytest.mark.skipif(shutil.which("snmptrap") is None,
                                 reason="net-snmp's snmptrap (Debian snmp) is not installed")]

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
LONG = 300                          # seconds between scheduled polls
SWITCH, SWITCH_ADDRESS = "sw-347", "127.0.0.61"
UPS, UPS_ADDRESS = "ups-414", "127.0.0.62"
V3_UPS = "ups-v3-271"               # polled over v3 at the session's snmpd (127.0.0.1)
CLONES = ("ups-clone-261", "ups-clone-286")     # two snmpds answering with one engine id
CLONE_ENGINE = "lifeline-clone"     # their snmpd.conf engineID (text)
OTHER_INTERFACE = "127.0.0.63"      # no device is polled here
COLD_START = "1.3.6.1.6.3.1.1.5.1"
NEUTRAL = "1.3.6.1.4.1.8072.2.3.0.1"    # net-snmp's example notification: no profile's
ON_BATTERY = "1.3.6.1.2.1.33.2.1"
V3_SENDER = ["-v", "3", "-u", "noc", "-l", "authPriv", "-a", "SHA", "-A", "authpass123",
             "-x", "AES", "-X", "privpass123"]
SENDER_ENGINE = "0x8000000001020304aa"          # the trap sender's (it is authoritative)
UPLINK = "GigabitEthernet0/24"      # ifIndex 24 (ifName Gi0/24) in switch24.snmprec
IF_OPER_24 = "1.3.6.1.2.1.2.2.1.8.24"
LINK_DOWN, LINK_UP = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4"
ALARM_ADDED = "1.3.6.1.2.1.33.2.3"                  # RFC 1628 upsTrapAlarmEntryAdded
UPS_ALARM_BATTERY_BAD = "1.3.6.1.2.1.33.1.6.3.1"


@dataclass
class Scenario:
    agent: AgentProcess
    lab: SnmpLab
    hook: WebhookPeer
    trap_port: int
    config: Path
    v3_engine: str          # the hex engine id V3_UPS's snmpd answers with
    clone_engine: str       # the CLONES'


def _recording(name: str, overrides: dict[str, tuple[int, bytes | int]] | None = None
               ) -> Recording:
    return Recording.load(DEMO / f"{name}.snmprec", overrides)


def _device(device_id: str, category: str, profile: str, address: str, port: int | str,
            extra: str = "") -> str:
    return (f"  - id: {device_id}\n    name: {device_id}\n    category: {category}\n"
            f"    site: district-hall\n"
            f"    poll: {{protocol: snmp, address: \"{address}:{port}\", credentials: v2, "
            f"profile: {profile}, interval: {LONG}s, timeout: 1s, retries: 1{extra}}}\n")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, snmpd: Peer) -> Iterator[Scenario]:
    assert all(0.3 < phase(d, LONG) < 2 for d in (SWITCH, UPS, V3_UPS, *CLONES))   # soon
    directory = tmp_path_factory.mktemp("traps")
    lab = SnmpLab("public")
    clones = [start_snmpd(directory / f"clone-{i}", engine_id=CLONE_ENGINE) for i in (1, 2)]
    try:
        with running_webhook() as hook:
            devices = (
                _device(SWITCH, "switch", "switch", SWITCH_ADDRESS,
                        lab.add(SWITCH, _recording("switch24"), host=SWITCH_ADDRESS),
                        f", monitored_interfaces: [\"{UPLINK}\"]")
                + _device(UPS, "ups", "ups", UPS_ADDRESS,
                          lab.add(UPS, _recording("ups-normal"), host=UPS_ADDRESS))
                + "".join(_device(d, "ups", "generic", *a.split(":")).replace(
                    "credentials: v2", "credentials: v3")
                    for d, a in ((V3_UPS, snmpd.address),
                                 *zip(CLONES, (c.address for c in clones), strict=True))))
            trap_port = free_udp_port()
            config = agent_config(directory, devices, top_extra=(
                # indented: one more entry of agent_config's `credentials:`
                "  v3: {version: 3, user: noc, auth_protocol: SHA, auth_key_env: LL_TEST_AUTH,"
                " priv_protocol: AES, priv_key_env: LL_TEST_PRIV}\n"
                f"traps: {{listen: \"127.0.0.1:{trap_port}\"}}\n"
                "alerts:\n"
                f"  channels:\n    - {{name: hook, type: webhook, url: \"{hook.url()}\", "
                "group_wait: 0s, group_interval: 0s}\n"
                "  routes:\n    - {match: {}, channels: [hook]}\n"))
            agent = AgentProcess(config).start()
            try:
                for device_id in (SWITCH, UPS, V3_UPS, *CLONES):
                    agent.wait_polls(device_id, 1)
                yield Scenario(agent, lab, hook, trap_port, config, engine_id_of(snmpd.address),
                               engine_id_of(clones[0].address))
            finally:
                assert agent.stop() == 0, agent.log()
    finally:
        lab.close()
        for clone in clones:
            stop(clone.proc)


def _snmptrap(scenario: Scenario, source: str, *args: str) -> None:
    sent = subprocess.run(
        ["snmptrap", "-v", "2c", "-c", "public", f"--clientaddr={source}", "-On",
         f"127.0.0.1:{scenario.trap_port}", "", *args],
        capture_output=True, text=True, timeout=60, check=False)
    assert sent.returncode == 0, sent.stderr


def _snmptrap_v1(scenario: Scenario, source: str, enterprise: str, specific: int) -> None:
    sent = subprocess.run(
        ["snmptrap", "-v", "1", "-c", "public", f"--clientaddr={source}", "-On",
         f"127.0.0.1:{scenario.trap_port}", enterprise, source, "6", str(specific), ""],
        capture_output=True, text=True, timeout=60, check=False)
    assert sent.returncode == 0, sent.stderr


def _told(hook: WebhookPeer, device_id: str, rule: str, status: str) -> list[dict[str, Any]]:
    return [a for r in hook.accepted for a in r.body.get("alerts", [])
            if a["labels"].get("device_id") == device_id and a["labels"].get("rule") == rule
            and a["status"] == status]


def _by_trap(alert: dict[str, Any]) -> bool:
    """The summary rules.trap writes (the webhook speaks Korean by default)."""
    return "트랩 수신" in str(alert.get("annotations", {}).get("summary", ""))


def test_link_down_on_the_uplink_fires_at_once_and_link_up_with_its_poll_ends_it(
        scenario: Scenario) -> None:
    """net-snmp's linkDown names the port by ifIndex only: the agent knows its names from
    the last poll and matches `monitored_interfaces` (the inventory names it by ifDescr).
    A linkDown on a port nobody watches fires nothing."""
    agent, hook = scenario.agent, scenario.hook
    _snmptrap(scenario, SWITCH_ADDRESS, LINK_DOWN, "1.3.6.1.2.1.2.2.1.1.1", "i", "1",
              "1.3.6.1.2.1.2.2.1.7.1", "i", "1", "1.3.6.1.2.1.2.2.1.8.1", "i", "2")
    scenario.lab.swap(SWITCH, _recording("switch24", {IF_OPER_24: (2, 2)}))     # down
    _snmptrap(scenario, SWITCH_ADDRESS, LINK_DOWN, "1.3.6.1.2.1.2.2.1.1.24", "i", "24",
              "1.3.6.1.2.1.2.2.1.7.24", "i", "1", IF_OPER_24, "i", "2")
    firing = agent.wait_for("interface_down from the trap",
                            lambda: _told(hook, SWITCH, "interface_down", "firing"))
    assert [a["labels"].get("instance") for a in firing] == [UPLINK]
    assert _by_trap(firing[0]), firing[0]
    agent.wait_polls(SWITCH, 2)                 # the trap's poll sees the port down too
    assert not _told(hook, SWITCH, "interface_down", "resolved")

    scenario.lab.swap(SWITCH, _recording("switch24"))
    _snmptrap(scenario, SWITCH_ADDRESS, LINK_UP, "1.3.6.1.2.1.2.2.1.1.24", "i", "24",
              "1.3.6.1.2.1.2.2.1.7.24", "i", "1", IF_OPER_24, "i", "1")
    agent.wait_for("interface_down resolved by the poll after linkUp",
                   lambda: _told(hook, SWITCH, "interface_down", "resolved"))
    assert len(_told(hook, SWITCH, "interface_down", "firing")) == 1


def test_apc_low_battery_and_an_rfc1628_alarm_fire_their_rules_before_the_poll(
        scenario: Scenario) -> None:
    """APC's v1 lowBattery (enterprise 318, specific 7) fires ups_low_battery, and RFC
    1628's upsTrapAlarmEntryAdded naming upsAlarmBatteryBad fires ups_battery_bad, each
    at once; the polls they ask for see a healthy UPS and end both."""
    agent, hook = scenario.agent, scenario.hook
    _snmptrap_v1(scenario, UPS_ADDRESS, "1.3.6.1.4.1.318", 7)
    _snmptrap(scenario, UPS_ADDRESS, ALARM_ADDED, "1.3.6.1.2.1.33.1.6.2.1.1.5", "i", "5",
              "1.3.6.1.2.1.33.1.6.2.1.2.5", "o", UPS_ALARM_BATTERY_BAD)
    for rule in ("ups_low_battery", "ups_battery_bad"):
        firing = agent.wait_for(f"{rule} from the trap",
                                lambda rule=rule: _told(hook, UPS, rule, "firing"))
        assert _by_trap(firing[0]), firing[0]
        agent.wait_for(f"{rule} ended by the trap's poll",
                       lambda rule=rule: _told(hook, UPS, rule, "resolved"))
    stored = run_lifeline("metrics", scenario.config, "--device", UPS, "--measurement",
                          "snmp_trap", "--format", "json")
    assert stored.returncode == 0, stored.stderr
    names = {p["tags"].get("trap_name") for p in json.loads(stored.stdout)}
    assert {"lowBattery", "upsTrapAlarmEntryAdded"} <= names


def _v3(scenario: Scenario, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    """net-snmp's snmptrap or snmpinform, v3, from 127.0.0.1 (where the v3 device is)."""
    return subprocess.run(
        [command, *args, "-On", "-t", "2", "-r", "1", f"127.0.0.1:{scenario.trap_port}",
         "", ON_BATTERY], capture_output=True, text=True, timeout=60, check=False)


def _traps(scenario: Scenario) -> dict[str, int]:
    return dict((scenario.agent.status() or {}).get("traps") or {})


def _traps_now(scenario: Scenario) -> dict[str, int]:
    """The trap counts of a status snapshot taken after this call: the status is written
    every few seconds, and an older one may not count traps an earlier test already had
    received (they would then be counted against this test)."""
    asked = time.time()

    def fresh() -> dict[str, int] | None:
        status = scenario.agent.status() or {}
        if status.get("written_unix", 0) <= asked:
            return None
        return dict(status.get("traps") or {}) or None

    return scenario.agent.wait_for("a status snapshot with the trap counts", fresh)


def test_v3_authpriv_traps_and_informs_are_received_and_wrong_keys_dropped(
        scenario: Scenario) -> None:
    """snmptrap -v3 authPriv (the sender's engine id, keys localized to it) fires the v3
    device's ups_on_battery; snmpinform -v3 finds our engine (an unknownEngineID report)
    and is acknowledged under it (exit 0 only once it has the Response); a wrong
    authentication key, a wrong privacy key and an unknown user are dropped and counted."""
    agent, hook = scenario.agent, scenario.hook
    before = _traps_now(scenario)
    sent = _v3(scenario, "snmptrap", *V3_SENDER, "-e", SENDER_ENGINE)
    assert sent.returncode == 0, sent.stderr
    firing = agent.wait_for("ups_on_battery from the v3 trap",
                            lambda: _told(hook, V3_UPS, "ups_on_battery", "firing"))
    assert _by_trap(firing[0]), firing[0]
    inform = _v3(scenario, "snmpinform", *V3_SENDER)
    assert inform.returncode == 0, inform.stderr
    wrong_auth = [a if a != "authpass123" else "wrongpass999" for a in V3_SENDER]
    wrong_priv = [a if a != "privpass123" else "wrongpass999" for a in V3_SENDER]
    stranger = [a if a != "noc" else "stranger" for a in V3_SENDER]
    for args in (wrong_auth, wrong_priv, stranger):
        assert _v3(scenario, "snmptrap", *args, "-e", SENDER_ENGINE).returncode == 0

    def counted() -> dict[str, int] | None:
        now = _traps(scenario)
        delta = {k: now.get(k, 0) - before.get(k, 0) for k in now}
        return delta if delta.get("bad_keys", 0) >= 3 and delta["accepted"] >= 2 else None

    delta = agent.wait_for("the v3 traps counted", counted)
    assert (delta["accepted"], delta["bad_keys"], delta["informs_acknowledged"]) == (2, 3, 1)
    assert delta["engine_discovery"] >= 1 and delta["malformed"] == 0
    assert "wrongpass999" not in agent.log() and "privpass123" not in agent.log()
    stored = run_lifeline("metrics", scenario.config, "--device", V3_UPS, "--measurement",
                          "snmp_trap", "--format", "json")
    assert stored.returncode == 0, stored.stderr
    assert {p["tags"]["version"] for p in json.loads(stored.stdout)} == {"3"}


def test_our_engine_for_informs_is_kept_private_in_the_state_dir(scenario: Scenario) -> None:
    engine = scenario.agent.state_dir / "snmp-engine.json"
    saved = json.loads(engine.read_text(encoding="utf-8"))
    assert saved["boots"] == 1 and 5 <= len(bytes.fromhex(saved["engine_id"])) <= 32
    assert stat.S_IMODE(engine.stat().st_mode) == 0o600


def _v3_from(scenario: Scenario, source: str, engine: str, *trap: str,
             boots_time: str | None = None) -> None:
    """snmptrap -v3 authPriv from `source` with engine id `engine` (its keys localized to
    it), and its boots and time if given (-Z: else net-snmp's, boots 1 and the host's
    uptime)."""
    sent = subprocess.run(
        ["snmptrap", *V3_SENDER, "-e", f"0x{engine}", f"--clientaddr={source}", "-On",
         *(["-Z", boots_time] if boots_time else []), f"127.0.0.1:{scenario.trap_port}", "",
         *trap], capture_output=True, text=True, timeout=60, check=False)
    assert sent.returncode == 0, sent.stderr


def _points(scenario: Scenario, device_id: str) -> list[dict[str, Any]]:
    stored = run_lifeline("metrics", scenario.config, "--device", device_id, "--measurement",
                          "snmp_trap", "--format", "json")
    assert stored.returncode == 0, stored.stderr
    return list(json.loads(stored.stdout))


def _device_status(scenario: Scenario, device_id: str) -> dict[str, Any]:
    return dict((scenario.agent.status() or {}).get("devices", {}).get(device_id) or {})


def test_a_v3_trap_from_another_interface_reaches_its_device_by_engine_id(
        scenario: Scenario) -> None:
    """The v3 UPS's trap comes from an address no device is polled at (a second
    interface, NAT): the engine id its polls answered with names it, and the trap is
    accepted, stored under it with that source, and its coldStart counts a reboot."""
    reboots = _device_status(scenario, V3_UPS).get("reboots", 0)
    _v3_from(scenario, OTHER_INTERFACE, scenario.v3_engine, COLD_START)
    status = scenario.agent.wait_for(
        "the reboot the trap told", lambda: (d := _device_status(scenario, V3_UPS))
        and d.get("reboots", 0) > reboots and d)
    assert status["last_reboot_by"] == "coldStart"
    sources = {p["tags"]["source"] for p in _points(scenario, V3_UPS)
               if p["tags"]["trap_oid"] == COLD_START}
    assert sources == {OTHER_INTERFACE}


def test_an_engine_id_two_devices_answer_with_is_ambiguous_and_matches_neither(
        scenario: Scenario) -> None:
    """Two snmpds answer with one engine id (cloned): a trap with it from an address no
    device is polled at is counted as from an unknown source, reaches neither, and the
    ambiguity is logged once, naming both devices."""
    agent = scenario.agent
    before = _traps_now(scenario)
    for _ in range(2):
        _v3_from(scenario, OTHER_INTERFACE, scenario.clone_engine, COLD_START)
    agent.wait_for("both counted", lambda: _traps(scenario).get("unknown_source", 0)
                   >= before.get("unknown_source", 0) + 2)
    assert _traps(scenario)["accepted"] == before["accepted"]
    said = [line for line in agent.log().splitlines()
            if scenario.clone_engine in line and "answered by devices at" in line]
    assert len(said) == 1 and all(d in said[0] for d in CLONES), said


def test_a_stale_v3_trap_says_nothing_but_has_its_device_polled(scenario: Scenario) -> None:
    """A sender whose time goes back (net-snmp's snmptrap after its host rebooted: boots
    1 again, the uptime from zero) is outside the window its first trap set: `stale`, as
    snmptrapd has it; its coldStart counts no reboot and is not stored, but its device is
    polled (said once in the log)."""
    agent, engine = scenario.agent, "8000000001020304bb"        # an engine no poll knows
    before = _traps_now(scenario)
    status = _device_status(scenario, V3_UPS)
    # One after the other from one socket to another: received in that order.
    _v3_from(scenario, "127.0.0.1", engine, NEUTRAL, boots_time="1,500000")
    _v3_from(scenario, "127.0.0.1", engine, COLD_START, boots_time="1,300")
    agent.wait_polls(V3_UPS, status["polls"] + 1)
    agent.wait_for("the stale trap's poll said", lambda: "outside its sender's time window: "
                   "nothing it says is taken" in agent.log())
    after = agent.wait_for("the stale trap counted",
                           lambda: (c := _traps(scenario))["stale"] > before["stale"] and c)
    assert (after["stale"] - before["stale"], after["accepted"] - before["accepted"]) == (1, 1)
    assert _device_status(scenario, V3_UPS).get("reboots", 0) == status.get("reboots", 0)
    stored = {p["tags"]["trap_oid"] for p in _points(scenario, V3_UPS)
              if p["tags"]["source"] == "127.0.0.1"}
    assert NEUTRAL in stored and COLD_START not in stored, stored

"""The engine driven by real SNMP polls: snmpsim recordings and an own snmpd.

Time inside the engine is a fake clock moved between real polls; nothing sleeps.
"""
from __future__ import annotations

import dataclasses

import pytest

from alerts.evaluation.engine import Engine
from alerts.evaluation.store import Store

from kits.alerts_engine import FakeClock, ListOutbox
from peers.snmp import RECORDINGS, free_udp_port, poll, start_snmpd, stop

pytestmark = pytest.mark.peer


def _creds_yaml() -> str:
    lines = ["credentials:"]
    for name in (*RECORDINGS, "public"):
        env = "LL_TEST_COMMUNITY" if name == "public" else (
            f"LL_TEST_COMMUNITY_{name.upper().replace('-', '_')}")
        lines.append(f"  {name}: {{version: 2c, community_env: {env}}}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def sim_config(tmp_path, snmpsim, monkeypatch):
    """A config for the recordings; the communities come from the environment."""
    for name in RECORDINGS:
        monkeypatch.setenv(f"LL_TEST_COMMUNITY_{name.upper().replace('-', '_')}", name)

    def make(devices: str):
        path = tmp_path / "lifeline.yaml"
        path.write_text(f"agent: {{state_dir: {tmp_path / 'var'}}}\n" + _creds_yaml()
                        + "devices:\n" + devices, encoding="utf-8")
        from inventory.load import load_config
        return load_config(path)
    return make


def _swap(config, device_id: str, **poll_changes):
    """The device as polled now: same inventory record, other address or community."""
    device = config.device(device_id)
    return dataclasses.replace(device, poll=dataclasses.replace(device.poll, **poll_changes))


class Loop:
    """Real polls into an engine whose clock moves `every` seconds per round."""

    def __init__(self, config) -> None:
        self.config, self.clock, self.sink = config, FakeClock(), ListOutbox()
        self.store = Store.in_dir(config.agent.state_dir)
        self.engine = Engine(config, self.store, self.sink, self.clock)

    def rounds(self, devices, n: int = 1, every: float = 60.0) -> None:
        for results in poll(devices, self.config.credentials, rounds=n):
            for result in results.values():
                self.engine.observe(result)
            self.engine.tick()
            self.clock.advance(every)

    def events(self):
        return [(n.event, n.alert.rule, n.alert.device_id, n.alert.instance)
                for n in self.sink.notifications]


def test_ups_swapped_to_battery_fires_and_resolves(sim_config, snmpsim):
    host = RECORDINGS["ups-normal"][0]
    config = sim_config(f"  - {{id: ups1, name: 전산실 UPS, category: ups, poll: {{protocol: snmp,"
                        f" address: '{host}:{snmpsim}', credentials: ups-normal,"
                        f" profile: ups}}}}\n")
    loop = Loop(config)
    loop.rounds([config.device("ups1")], 2)
    assert loop.events() == []
    battery_host = RECORDINGS["ups-battery"][0]
    on_battery = _swap(config, "ups1", address=f"{battery_host}:{snmpsim}",
                       credentials="ups-battery")
    loop.rounds([on_battery], 1)
    fired = {rule for event, rule, _, _ in loop.events() if event == "firing"}
    assert "ups_on_battery" not in fired                  # debounced: one poll is a blip
    loop.rounds([on_battery], 1)
    fired = {rule for event, rule, _, _ in loop.events() if event == "firing"}
    assert {"ups_on_battery", "ups_low_battery", "ups_battery_bad",
            "ups_selftest_failed"} <= fired
    loop.rounds([config.device("ups1")], 1)
    resolved = {rule for event, rule, _, _ in loop.events() if event == "resolved"}
    assert resolved == fired


def test_monitored_uplink_down_then_up(sim_config, snmpsim):
    host24, host32 = RECORDINGS["switch24"][0], RECORDINGS["switch32"][0]
    config = sim_config(
        f"  - {{id: sw1, name: Switch, category: backbone_switch, poll: {{protocol: snmp,"
        f" address: '{host24}:{snmpsim}', credentials: switch24, profile: switch,"
        f" monitored_interfaces: [GigabitEthernet0/1, GigabitEthernet0/5]}}}}\n")
    loop = Loop(config)
    loop.rounds([config.device("sw1")], 2)            # Gi0/5 is down in this recording
    assert loop.events() == [("firing", "interface_down", "sw1", "GigabitEthernet0/5")]
    repaired = _swap(config, "sw1", address=f"{host32}:{snmpsim}", credentials="switch32")
    loop.rounds([repaired], 1)
    assert loop.events()[-1] == ("resolved", "interface_down", "sw1", "GigabitEthernet0/5")


def test_drift_from_a_real_sys_object_id(sim_config, snmpsim):
    host = RECORDINGS["firewall"][0]
    config = sim_config(
        f"  - {{id: fw1, name: Firewall, category: firewall, sys_object_id: 1.3.6.1.4.1.99999.1,"
        f" poll: {{protocol: snmp, address: '{host}:{snmpsim}', credentials: firewall,"
        f" profile: firewall}}}}\n")
    loop = Loop(config)
    loop.rounds([config.device("fw1")], 1)
    assert loop.events() == [("firing", "drift", "fw1", "sys_object_id")]


def test_backbone_stopped_one_alert_children_suppressed(sim_config, snmpsim, tmp_path):
    core = start_snmpd(tmp_path / "core-snmpd")
    dead = f"127.0.0.1:{free_udp_port()}"             # nothing answers here
    try:
        fast = "timeout: 300ms, retries: 0"
        children = "".join(
            f"  - {{id: {name}, name: {name}, category: backbone_switch, parent: core,"
            f" poll: {{protocol: snmp, address: '{RECORDINGS[name][0]}:{snmpsim}',"
            f" credentials: {name}, profile: {RECORDINGS[name][1]}, {fast}}}}}\n"
            for name in ("switch32", "firewall", "router-entity"))
        config = sim_config(
            f"  - {{id: core, name: Backbone, category: backbone_switch, criticality: critical,"
            f" poll: {{protocol: snmp, address: '{core.address}', credentials: public,"
            f" profile: generic, {fast}}}}}\n" + children)
        loop = Loop(config)
        everyone = [config.device(d) for d in ("switch32", "firewall", "router-entity", "core")]
        loop.rounds(everyone, 2)
        # the recordings' error counters rise (Gi0/3 at 50/s): the error-rate rule fires
        assert ("firing", "interface_errors", "switch32", "GigabitEthernet0/3") in loop.events()
        assert not [e for e in loop.events() if e[1] == "device_down"]
        stop(core.proc)                                   # the backbone dies ...
        behind = [_swap(config, d.id, address=dead) for d in everyone[:3]]  # ... and hides them
        loop.rounds([*behind, config.device("core")], 4)
        outages = [n for n in loop.sink.notifications if n.alert.rule == "device_down"]
        assert [(n.event, n.alert.device_id) for n in outages] == [("firing", "core")]
        alert = outages[0].alert
        assert alert.suppressed == ("firewall", "router-entity", "switch32")
        assert "3 devices behind it unreachable" in alert.summary
    finally:
        stop(core.proc)

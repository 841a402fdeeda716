"""The demo lab's configuration: the example district, re-pointed at the simulators.

The inventory is the shipped example's (config/inventory/*.yaml: the backbone pair, the
server-farm and 83 workgroup switches behind them, firewalls, IPS, UPS, CCTV servers, a
PoE switch with twelve cameras behind it, the eight kiosks with their opening hours, and
every asset tracked for its lifecycle only),
so the demo's replacement plan is the example's. Every polled device gets a simulator:
its `poll` is rewritten to a loopback port, one SNMP community read from a file, short
intervals, and demo thresholds (outage after 2 polls, a few seconds of `for`).

The server-room UPS also sends traps: the agent listens for them (`traps:`) and matches
a trap to its device by the sender's address, so the UPS answers on an address of its own
(TRAP_SENDER_HOST) and keeps the example's 30 s interval: what happens between two polls
it says by trap.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from config import CONFIG_DIR

INVENTORY_DIR = CONFIG_DIR / "inventory"
RECORDINGS_DIR = CONFIG_DIR / "demo"
COMMUNITY_FILE = "snmp-community.txt"
HOOK = "demo-hook"
TRAP_SENDER = "ups-srvroom-1"       # the device that sends traps in the demo
TRAP_SENDER_HOST = "127.0.0.21"     # its own loopback address (the example's)
TRAP_SENDER_INTERVAL = 30.0         # its interval in the example, kept

# (category, profile) -> the recording that plays the device
_RECORDING_BY_CATEGORY = {"backbone_switch": "switch24", "ups": "ups-normal"}
_RECORDING_BY_PROFILE = {"switch": "switch32", "firewall": "firewall", "host": "host",
                         "ups": "ups-normal"}


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast the demo plays: poll interval and timeout, and the `for` of the rules."""

    interval: float
    timeout: float
    hold: float              # ups_for and kiosk_for
    pause: float             # how long each trouble is left on before it is put right

    @classmethod
    def of(cls, fast: bool) -> Pace:
        return cls(2.0, 0.5, 2.0, 0.0) if fast else cls(5.0, 1.0, 5.0, 8.0)


def recording_for(device: dict[str, Any]) -> str | None:
    """The recording that simulates an SNMP device (None: not simulated)."""
    poll = device.get("poll") or {}
    if poll.get("protocol", "snmp") != "snmp":
        return None
    return (_RECORDING_BY_CATEGORY.get(device.get("category", ""))
            or _RECORDING_BY_PROFILE.get(poll.get("profile", "generic")))


def example_devices() -> list[dict[str, Any]]:
    """Every device of the shipped example inventory, as plain YAML mappings."""
    devices: list[dict[str, Any]] = []
    for path in sorted(INVENTORY_DIR.glob("*.yaml")):
        devices.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["devices"])
    return devices


def zone() -> ZoneInfo:
    """The example district's time zone (its `agent.timezone`), which the demo keeps."""
    from inventory.load import load_config

    return load_config(CONFIG_DIR / "example.yaml").agent.zone


def _example_top() -> dict[str, Any]:
    document = yaml.safe_load((CONFIG_DIR / "example.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)      # the shipped example, checked by its own tests
    return document


def snmp_poll(port: int, pace: Pace, old: dict[str, Any], host: str = "127.0.0.1",
              interval: float | None = None) -> dict[str, Any]:
    poll = {"protocol": "snmp", "address": f"{host}:{port}", "credentials": "demo-snmp",
            "profile": old.get("profile", "generic"),
            "interval": f"{interval or pace.interval:g}s",
            "timeout": f"{pace.timeout:g}s", "retries": 0}
    if old.get("monitored_interfaces"):
        poll["monitored_interfaces"] = old["monitored_interfaces"]
    return poll


def camera_poll(port: int, pace: Pace) -> dict[str, Any]:
    """A camera checked on its RTSP port (agent/demo/camera_lab.py says why not ping)."""
    return {"protocol": "tcp", "address": f"127.0.0.1:{port}",
            "send": "OPTIONS rtsp://127.0.0.1/ RTSP/1.0\r\nCSeq: 1\r\n\r\n",
            "expect_text": "RTSP/1.0 200", "interval": f"{pace.interval:g}s",
            "timeout": f"{pace.timeout:g}s", "retries": 0}


def kiosk_poll(port: int, pace: Pace) -> dict[str, Any]:
    return {"protocol": "http", "url": f"http://127.0.0.1:{port}/health", "profile": "kiosk",
            "interval": f"{pace.interval:g}s", "timeout": f"{pace.timeout:g}s", "retries": 0}


def build(directory: Path, devices: list[dict[str, Any]], webhook_url: str,
          pace: Pace, trap_port: int) -> dict[str, Any]:
    """The whole demo config (devices already re-pointed), as a YAML mapping; the agent
    receives traps on 127.0.0.1:`trap_port`."""
    top = _example_top()
    hold = f"{pace.hold:g}s"
    return {
        "agent": {"name": "lifeline-demo", "state_dir": str(directory / "var"),
                  "timezone": top["agent"].get("timezone", "Asia/Seoul"),
                  "retention_days": 2},
        "service_life": top.get("service_life", {}),
        "credentials": {"demo-snmp": {"version": "2c", "community_file": COMMUNITY_FILE}},
        "traps": {"listen": f"127.0.0.1:{trap_port}"},
        "alerts": {
            "lifecycle_horizon_months": 12,
            "thresholds": {"outage_polls": 2, "ups_for": hold, "kiosk_for": hold,
                           "http_for": hold, "interface_down_for": hold,
                           "interface_error_rate": 1000000, "interface_discard_rate": 1000000,
                           "outage_repeat": "1h", "repeat": "1h"},
            "channels": [
                {"name": HOOK, "type": "webhook", "url": webhook_url, "format": "json",
                 "group_wait": "0s", "group_interval": "1s", "retry_initial": "1s",
                 "retry_max": "5s", "lang": "en"},
                {"name": "journal", "type": "log", "lang": "en"},
            ],
            # Outages and UPS alerts go to the webhook; everything (lifecycle, drift of
            # the recordings' models against the inventory, ...) to the agent's log.
            "routes": [{"match": {"kind": "outage|ups"}, "channels": [HOOK], "continue": True},
                       {"match": {}, "channels": ["journal"]}],
        },
        "devices": devices,
    }


def write(directory: Path, document: dict[str, Any], community: str) -> Path:
    """Writes DIR/lifeline.yaml and the community file it names; returns the config path."""
    directory.mkdir(parents=True, exist_ok=True)
    secret = directory / COMMUNITY_FILE
    secret.write_text(community + "\n", encoding="utf-8")
    secret.chmod(0o600)
    path = directory / "lifeline.yaml"
    header = ("# Written by `lifeline demo`: the example district re-pointed at the demo\n"
              "# lab's simulators on 127.0.0.1. Run it again with `lifeline run` while a\n"
              "# demo is running, or read what it left with `lifeline alerts`/`metrics`.\n")
    path.write_text(header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path

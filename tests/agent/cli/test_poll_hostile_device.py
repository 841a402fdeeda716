"""`lifeline poll` against a hostile agent (issue 12): numbers wider than their SNMP types
(item 3) and a sysName full of terminal control sequences (item 6), over loopback UDP."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kits.hostile_snmp import BAD, COMMUNITY_ENV, EVIL_SYS_NAME, hostile_agent
from tests.conftest import run_lifeline

pytestmark = pytest.mark.peer    # a UDP agent on loopback

CONTROL = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + ["\u202e"]


def _config(tmp_path: Path, address: str) -> Path:
    path = tmp_path / "lifeline.yaml"
    path.write_text(f"""
agent: {{name: test, timezone: Asia/Seoul}}
credentials:
  h: {{version: 2c, community_env: {COMMUNITY_ENV}}}
devices:
  - id: sw-h
    name: hostile switch
    category: backbone_switch
    site: annex
    poll: {{protocol: snmp, address: "{address}", credentials: h, profile: switch}}
""", encoding="utf-8")
    return path


def test_poll_json_reports_wide_values_and_keeps_the_rest(tmp_path: Path) -> None:
    with hostile_agent(tmp_path) as agent:
        done = run_lifeline("poll", _config(tmp_path, agent.address), "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    [obj] = [json.loads(line) for line in done.stdout.splitlines()]
    assert obj["result"] == "partial"
    for name in BAD:
        assert f"{name}: " in obj["error"]
    ports = [s for s in obj["samples"] if s["measurement"] == "interface"]
    assert len(ports) == 2


def test_poll_table_shows_no_control_characters_from_the_device(tmp_path: Path) -> None:
    with hostile_agent(tmp_path, sys_name=EVIL_SYS_NAME) as agent:
        config = _config(tmp_path, agent.address)
        table = run_lifeline("poll", config)
        lines = run_lifeline("poll", config, "--json")
    assert table.returncode == 0, table.stderr
    rows = table.stdout.split("\n")
    assert len(rows) == 5 and rows[-1] == ""            # header, rule, one device, total
    assert not [c for c in CONTROL if c in table.stdout.replace("\n", "")]
    assert "sw-evil" in rows[2] and "FAKE" in rows[2]    # shown, made harmless
    # --json keeps the device's text exactly: JSON escapes it.
    [obj] = [json.loads(line) for line in lines.stdout.splitlines()]
    assert obj["identity"]["sys_name"] == EVIL_SYS_NAME

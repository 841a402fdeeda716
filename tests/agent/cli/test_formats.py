"""One `--format` on every command that prints data (the contract), `--json` kept where a
command had it, each format parsed the way a script would parse it."""
from __future__ import annotations

import csv
import io
import json
import signal
from pathlib import Path

import pytest

from agent.cli.completion import read_parser

from peers.agent import AgentProcess, agent_config, snmp_devices_yaml
from tests.conftest import EXAMPLE, run_lifeline

# Every command that prints data, with the formats it takes.
DATA_COMMANDS = {
    ("validate",): {"table", "json", "csv"},
    ("import",): {"yaml", "table", "json", "csv"},
    ("inventory",): {"table", "json", "csv"},
    ("plan",): {"csv", "xlsx", "json", "md"},
    ("metrics",): {"table", "json", "csv"},
    ("poll",): {"table", "json", "csv", "jsonl"},
    ("status",): {"table", "json", "csv"},
    ("alerts", "list"): {"table", "json", "csv"},
    ("alerts", "history"): {"table", "json", "csv"},
}
JSON_ALIASES = {("poll",): "jsonl", ("status",): "json", ("alerts", "list"): "json"}


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_every_command_that_prints_data_takes_format() -> None:
    commands = {tuple(c.path): c for c in read_parser().walk()}
    for path, formats in DATA_COMMANDS.items():
        [option] = [o for o in commands[path].options if "--format" in o.flags]
        assert set(option.choices) == formats, path
        alias = [o for o in commands[path].options if "--json" in o.flags]
        assert bool(alias) == (path in JSON_ALIASES), path


def test_docs_command_table_says_which_take_format() -> None:
    text = (Path(EXAMPLE).parents[1] / "docs" / "commands.md").read_text(encoding="utf-8")
    for path in DATA_COMMANDS:
        row = next((line for line in text.splitlines()
                    if line.startswith(f"| `lifeline {' '.join(path[:1])}")
                    and (len(path) == 1 or path[1] in line)), None)
        assert row is not None and "--format" in row, path


def test_validate_json_and_csv(write) -> None:
    ok = run_lifeline("validate", EXAMPLE, "--format", "json")
    assert ok.returncode == 0, ok.stderr
    document = json.loads(ok.stdout)
    assert document["ok"] is True and document["summary"]["records"] > 100
    assert document["problems"] == []
    bad = write("bad.yaml", "devices:\n  - {id: a, name: A, category: swich}\n")
    as_json = run_lifeline("validate", bad, "--format", "json")
    assert as_json.returncode == 1
    [problem] = json.loads(as_json.stdout)["problems"]
    assert problem["line"] == 2 and "unknown category 'swich'" in problem["message"]
    assert f"{bad}:2: devices[0].category" in as_json.stderr      # the contract's lines stay
    as_csv = run_lifeline("validate", bad, "--format", "csv")
    [row] = _csv(as_csv.stdout)
    assert row["severity"] == "error" and row["line"] == "2" and row["file"] == str(bad)


def test_import_formats(write) -> None:
    sheet = write("assets.csv", "관리번호,품명,분류,설치장소,취득일자,수량\n"
                                "A-1,코어 스위치,backbone_switch,본청,2015-03-01,1\n"
                                "A-2,\"PC, 민원실\",pc,본청,2019-05-01,12\n")
    as_json = run_lifeline("import", sheet, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    records = json.loads(as_json.stdout)
    assert [r["category"] for r in records] == ["backbone_switch", "pc"]
    assert records[1]["quantity"] == 12 and records[0]["acquired"] == "2015-03-01"
    rows = _csv(run_lifeline("import", sheet, "--format", "csv").stdout)
    assert rows[1]["name"] == "PC, 민원실" and rows[1]["quantity"] == "12"
    table = run_lifeline("import", sheet, "--format", "table").stdout
    assert table.splitlines()[0].split()[:3] == ["ID", "CATEGORY", "NAME"]
    assert run_lifeline("import", sheet).stdout.startswith("# Imported by `lifeline import`")


def test_metrics_csv_without_points_is_a_header(write, tmp_path: Path) -> None:
    config = write("m.yaml", f"agent: {{name: m, state_dir: {tmp_path / 'var'}}}\n"
                             "devices:\n  - {id: a, name: A, category: pc}\n")
    result = run_lifeline("metrics", config, "--device", "a", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["time,measurement,tags,field,value"]


def test_alerts_history_and_list_formats(write, tmp_path: Path) -> None:
    config = write("a.yaml", f"agent: {{name: a, state_dir: {tmp_path / 'var'}}}\n"
                             "devices:\n  - {id: a, name: A, category: pc}\n")
    history = run_lifeline("alerts", config, "history", "--format", "json")
    assert history.returncode == 0, history.stderr
    assert json.loads(history.stdout) == {"days": 30, "devices": []}
    one = json.loads(run_lifeline("alerts", config, "history", "--device", "a",
                                  "--format", "json").stdout)
    assert one["availability_percent"] == 100.0 and one["outages"] == []
    listed = run_lifeline("alerts", config, "list", "--format", "csv")
    assert listed.stdout.splitlines() == ["id,state,severity,device,rule,instance,since,note"]
    old = json.loads(run_lifeline("alerts", config, "list", "--json").stdout)
    assert old["counts"]["firing"] == 0


@pytest.mark.peer
def test_poll_formats_and_the_json_alias(tmp_path: Path, snmpd) -> None:
    devices = snmp_devices_yaml(snmpd.address, 2) + snmp_devices_yaml("127.0.0.1:9", 1,
                                                                    prefix="dead")
    config = agent_config(tmp_path, devices)
    lines = run_lifeline("poll", config, "--format", "jsonl")
    assert lines.returncode == 0, lines.stderr
    by_id = {o["device_id"]: o for o in map(json.loads, lines.stdout.splitlines())}
    assert set(by_id) == {"sw-0", "sw-1", "dead-0"}
    assert by_id["sw-0"]["reachable"] is True and by_id["dead-0"]["result"] == "timeout"
    # --json is what it always printed: one object per line.
    alias = run_lifeline("poll", config, "--device", "sw-0", "--json")
    assert [json.loads(line)["device_id"] for line in alias.stdout.splitlines()] == ["sw-0"]
    document = json.loads(run_lifeline("poll", config, "--format", "json").stdout)
    assert [o["device_id"] for o in document] == ["sw-0", "sw-1", "dead-0"]   # config order
    rows = _csv(run_lifeline("poll", config, "--format", "csv").stdout)
    assert [(r["device_id"], r["reachable"]) for r in rows] == [
        ("sw-0", "yes"), ("sw-1", "yes"), ("dead-0", "no")]
    assert float(rows[0]["duration_seconds"]) > 0


@pytest.mark.peer
def test_status_formats_and_no_channel(tmp_path: Path, snmpd) -> None:
    """With no alert channel configured, `status` says so, and firing alerts reach the
    agent's log (the default log channel)."""
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1, prefix="dead",
                                                      timeout="200ms"))
    agent = AgentProcess(config).start()
    try:
        agent.wait_polls("dead-0", 1)
        table = run_lifeline("status", config)
        assert table.returncode == 0, table.stderr
        assert "alert channels: none configured" in table.stdout
        document = json.loads(run_lifeline("status", config, "--format", "json").stdout)
        assert document["alert_channels"] == [] and document["running"] is True
        assert json.loads(run_lifeline("status", config, "--json").stdout)["running"]
        [row] = _csv(run_lifeline("status", config, "--format", "csv").stdout)
        assert row["device"] == "dead-0" and row["protocol"] == "snmp"
        agent.wait_for("device_down in the log", lambda: "alert firing" in agent.log()
                       and "rule=device_down" in agent.log())
        status = agent.status() or {}
        assert "log" in status["alerts"]["delivery"], status["alerts"]
    finally:
        assert agent.stop(signal.SIGTERM) == 0, agent.log()
    assert "no alert channel configured" in agent.log()


def test_status_with_a_channel_says_nothing_of_the_kind(tmp_path: Path) -> None:
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1, interval="60s"),
                          top_extra="alerts:\n  channels:\n    - {name: j, type: log}\n")
    agent = AgentProcess(config).start()
    try:
        agent.wait_for("the first status", agent.status)
        table = run_lifeline("status", config)
        assert "none configured" not in table.stdout and "agent test-agent" in table.stdout
        document = json.loads(run_lifeline("status", config, "--format", "json").stdout)
        assert document["alert_channels"] == ["j"]
    finally:
        assert agent.stop(signal.SIGTERM) == 0, agent.log()
    assert "no alert channel configured" not in agent.log()


@pytest.mark.peer
def test_status_and_alerts_in_korean(tmp_path: Path) -> None:
    """`--lang ko` (or agent.lang) for the operators' commands: the words and headers in
    Korean, ids, rule names and times as they are; csv stays English for programs."""
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 1, prefix="dead",
                                                      timeout="200ms"),
                          top_extra="alerts:\n  thresholds: {outage_polls: 1}\n")
    agent = AgentProcess(config).start()
    try:
        agent.wait_for("device_down firing in the status", lambda: "device_down" in run_lifeline(
            "status", config).stdout)
        status = run_lifeline("status", config, "--lang", "ko")
        assert status.returncode == 0, status.stderr
        assert "에이전트 test-agent: 실행 중" in status.stdout
        assert "경보 채널: 설정 없음" in status.stdout and "dead-0: device_down (" in status.stdout
        assert "장비" in status.stdout and "DEVICE" not in status.stdout
        listing = run_lifeline("alerts", config, "list", "--lang", "ko").stdout
        assert "상태" in listing and "발생" in listing and "device_down" in listing
        assert "firing" not in listing
        english = run_lifeline("alerts", config, "list", "--lang", "en").stdout
        assert "firing" in english and "발생" not in english
        [row] = _csv(run_lifeline("alerts", config, "list", "--lang", "ko", "--format",
                                  "csv").stdout)
        assert row["state"] == "firing"
        history = run_lifeline("alerts", config, "history", "--lang", "ko").stdout
        assert "가용률" in history or "장애 없음" in history
    finally:
        assert agent.stop(signal.SIGTERM) == 0, agent.log()

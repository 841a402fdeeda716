"""`lifeline demo --fast` end to end, as a user runs it: the simulated district, the real
agent as a child process, the scenario, and what it leaves behind (webhook file, alert
store, metrics, the replacement plan)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, run_lifeline

pytestmark = pytest.mark.peer       # starts the lab's simulators and `lifeline run`


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    directory = tmp_path_factory.mktemp("demo")
    done = subprocess.run([sys.executable, "-m", "agent.cli", "demo", "--fast", "--dir",
                           str(directory)], capture_output=True, text=True, cwd=ROOT,
                          timeout=180, stdin=subprocess.DEVNULL)
    return done, directory


def alerts(directory: Path) -> list[dict[str, Any]]:
    posts = [json.loads(line) for line in
             (directory / "webhook.jsonl").read_text(encoding="utf-8").splitlines()]
    return [a for post in posts for a in post["alerts"]]


def events(directory: Path, rule: str) -> dict[str, list[str]]:
    """device_id -> the events told for `rule`, in order."""
    found: dict[str, list[str]] = {}
    for alert in alerts(directory):
        if alert["labels"]["rule"] == rule:
            found.setdefault(alert["labels"]["device_id"], []).append(alert["event"])
    return found


def behind(directory: Path, root: str) -> set[str]:
    devices = yaml.safe_load((directory / "lifeline.yaml").read_text(encoding="utf-8"))["devices"]
    parent = {d["id"]: d.get("parent") for d in devices}
    def under(device_id: str) -> bool:
        seen = set()
        while device_id and device_id not in seen:
            seen.add(device_id)
            device_id = parent.get(device_id)
            if device_id == root:
                return True
        return False
    return {d for d in parent if under(d)}


def test_the_scenario_plays_and_exits_0(demo) -> None:
    done, directory = demo
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for line in ("stopped answering", "ran out of paper", "running on battery",
                 "devices behind it suppressed", "every expected notification arrived",
                 str(directory / "webhook.jsonl"), "alerts ", "history", "metrics "):
        assert line in out, (line, out)


def test_kiosk_outage_and_paper_out_fire_and_resolve(demo) -> None:
    _, directory = demo
    down = events(directory, "device_down")
    kiosks = {d: e for d, e in down.items() if d.startswith("kiosk-")}
    assert list(kiosks.values()) == [["firing", "resolved"]], down
    paper = events(directory, "kiosk_paper_out")
    assert list(paper.values()) == [["firing", "resolved"]] and set(paper) != set(kiosks)
    outage = next(a for a in alerts(directory) if a["labels"]["rule"] == "kiosk_paper_out")
    assert outage["labels"]["kind"] == "outage"


def test_ups_on_battery_fires_and_resolves(demo) -> None:
    _, directory = demo
    assert events(directory, "ups_on_battery") == {"ups-srvroom-1": ["firing", "resolved"]}


def test_the_ups_says_it_by_trap_and_the_alert_comes_before_its_next_poll(demo) -> None:
    """The UPS sends upsTrapOnBattery from its own address: the alert is the trap's (its
    words), not a poll's, and the demo saw it before the UPS's next scheduled poll (the
    UPS keeps the example's 30 s interval). Power back, its alarm-removed trap asks for
    the poll that resolves it."""
    done, directory = demo
    config = yaml.safe_load((directory / "lifeline.yaml").read_text(encoding="utf-8"))
    ups = next(d for d in config["devices"] if d["id"] == "ups-srvroom-1")
    assert ups["poll"]["address"].startswith("127.0.0.21:") and config["traps"]["listen"]
    firing = next(a for a in alerts(directory) if a["labels"]["rule"] == "ups_on_battery"
                  and a["event"] == "firing")
    assert "said by its trap" in firing["annotations"]["summary"], firing
    assert "fired by the trap" in done.stdout and "before the UPS's next scheduled poll" in \
        done.stdout, done.stdout
    stored = run_lifeline("metrics", directory / "lifeline.yaml", "--device", "ups-srvroom-1",
                          "--measurement", "snmp_trap", "--since", "1h", "--format", "json")
    assert stored.returncode == 0, stored.stderr
    names = sorted(p["tags"].get("trap_name") for p in json.loads(stored.stdout))
    assert names == ["upsTrapAlarmEntryRemoved", "upsTrapOnBattery"], stored.stdout


def test_backbone_alert_names_the_devices_behind_it_and_they_are_not_told(demo) -> None:
    _, directory = demo
    children = behind(directory, "bb-sw-1")
    assert len(children) > 40
    firing = [a for a in alerts(directory) if a["labels"]["device_id"] == "bb-sw-1"
              and a["labels"]["rule"] == "device_down" and a["event"] == "firing"]
    assert len(firing) == 1
    suppressed = set(firing[0]["suppressed"])
    assert suppressed and suppressed <= children
    assert events(directory, "device_down")["bb-sw-1"] == ["firing", "resolved"]
    told = set(events(directory, "device_down"))
    assert not told & children, told & children


def test_plan_files_name_the_backbone_switches(demo) -> None:
    _, directory = demo
    [md] = directory.glob("plan-*.md")
    [xlsx] = directory.glob("plan-*.xlsx")
    text = md.read_text(encoding="utf-8")
    assert "행정망 백본 스위치 1" in text and "행정망 백본 스위치 2" in text
    assert xlsx.read_bytes()[:2] == b"PK"            # a zip: the workbook


def test_metrics_and_alert_history_read_back(demo) -> None:
    _, directory = demo
    config = directory / "lifeline.yaml"
    metrics = run_lifeline("metrics", config, "--device", "ups-srvroom-1", "--measurement",
                           "ups", "--since", "1h", "--format", "json")
    assert metrics.returncode == 0, metrics.stderr
    sources = {p["fields"]["output_source"] for p in json.loads(metrics.stdout)}
    assert sources == {3, 5}                         # on mains (3), then on battery (5)
    history = run_lifeline("alerts", config, "history")
    assert history.returncode == 0 and "bb-sw-1" in history.stdout, history.stderr


def test_missing_notifications_exit_2_and_name_what_is_missing(tmp_path: Path) -> None:
    import io
    from zoneinfo import ZoneInfo

    from agent.demo.scenario import Outcome, Progress, _finish

    out = io.StringIO()
    outcome = Outcome()
    outcome.expect(True, "fine")
    outcome.expect(False, "ups_on_battery firing")
    assert _finish(Progress(out, ZoneInfo("Asia/Seoul")), outcome) == 2
    assert "- ups_on_battery firing" in out.getvalue()
    assert _finish(Progress(out, ZoneInfo("Asia/Seoul")), Outcome()) == 0


def test_a_rerun_in_the_same_folder_starts_from_a_clean_store(tmp_path: Path) -> None:
    from agent.demo.scenario import forget_previous_run

    (tmp_path / "mine.txt").write_text("keep")
    assert not forget_previous_run(tmp_path)          # no demo config: nothing touched
    (tmp_path / "lifeline.yaml").write_text("agent: {}")
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "alerts.db").write_bytes(b"x")
    (tmp_path / "webhook.jsonl").write_text("{}\n")
    assert forget_previous_run(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lifeline.yaml", "mine.txt"]


def test_a_demo_ended_by_sigterm_stops_its_agent(tmp_path) -> None:
    """SIGTERM mid-scenario ends the demo as Ctrl-C does: its agent is stopped with it,
    not left running (and listening) behind it."""
    demo = subprocess.Popen([sys.executable, "-m", "agent.cli", "demo", "--fast", "--dir",
                             str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert demo.stdout is not None
    agent_pid = None
    try:
        for line in demo.stdout:
            found = re.search(r"agent started \(.*pid (\d+)\)", line)
            if found:
                agent_pid = int(found.group(1))
                break
        assert agent_pid is not None, "the demo never started its agent"
        demo.send_signal(signal.SIGTERM)
        rest = demo.communicate(timeout=60)[0]
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode != 0
    assert "agent stopped" in rest
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(agent_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(agent_pid, signal.SIGKILL)
        raise AssertionError(f"the demo's agent (pid {agent_pid}) outlived the demo")

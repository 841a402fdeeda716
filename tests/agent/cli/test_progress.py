"""The progress line: on stderr when stderr is a terminal (a real pseudo-terminal here),
never in a pipe, never with TERM=dumb, and erased before the command's own messages."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from peers.agent import agent_config, snmp_devices_yaml
from tests.conftest import ROOT, run_lifeline


def _on_terminal(*args: str | Path, term: str = "xterm") -> tuple[int, str, str]:
    """Runs `lifeline ARGS` with stderr on a pseudo-terminal and stdout on a pipe:
    (exit status, stdout, what the terminal received)."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL,
                            env={**os.environ, "TERM": term})
    os.close(terminal)
    received = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:          # EIO: the other side closed, the command is done
            break
        if not chunk:
            break
        received += chunk
    os.close(controller)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    return proc.wait(timeout=60), out, received.decode(errors="replace")


def _sheet(tmp_path: Path) -> Path:
    path = tmp_path / "assets.csv"
    rows = "".join(f"A-{i},PC {i},pc,본청,2019-05-01,1\n" for i in range(50))
    path.write_text("관리번호,품명,분류,설치장소,취득일자,수량\n" + rows, encoding="utf-8")
    return path


def test_import_shows_its_rows_on_a_terminal_only(tmp_path: Path) -> None:
    sheet = _sheet(tmp_path)
    status, out, terminal = _on_terminal("import", sheet, "--format", "json")
    assert status == 0, terminal
    assert "\rreading assets.csv: 50/50 rows" in terminal, repr(terminal)
    # erased, and the summary starts on a clean line
    assert "\r" + " " * len("reading assets.csv: 50/50 rows") + "\r" in terminal
    assert out.startswith("[")
    piped = run_lifeline("import", sheet, "--format", "json")
    assert "\r" not in piped.stderr and "reading" not in piped.stderr
    assert "50 records written to stdout" in piped.stderr
    _, _, dumb = _on_terminal("import", sheet, term="dumb")
    assert "reading" not in dumb and "\r" not in dumb.replace("\r\n", "\n")


def test_poll_counts_the_devices_done(tmp_path: Path) -> None:
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 3, timeout="200ms"))
    status, out, terminal = _on_terminal("poll", config)
    assert status == 0, terminal
    assert "polling: 0/3 devices" in terminal and "polling: 3/3 devices" in terminal
    assert out.splitlines()[-1] == "3 polled, 0 answered, 3 down"
    assert "polling" not in run_lifeline("poll", config).stderr


def test_plan_says_which_step_runs_and_problems_start_on_a_clean_line(tmp_path: Path) -> None:
    config = agent_config(tmp_path, "  - {id: a, name: A, category: pc, acquired: 2015-01-01}\n")
    status, _, terminal = _on_terminal("plan", config, "--year", "2026", "--format", "json")
    assert status == 0, terminal
    assert "loading lifeline.yaml ..." in terminal and "planning 1 records ..." in terminal
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices:\n  - {id: a, name: A, category: swich}\n", encoding="utf-8")
    status, _, terminal = _on_terminal("plan", bad, "--year", "2026")
    assert status == 1
    erased = "\r" + " " * len("loading bad.yaml ...") + "\r"
    assert erased + f"{bad}:2:" in terminal, repr(terminal)

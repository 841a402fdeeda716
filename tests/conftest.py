"""Shared fixtures: writing config files, running the real `lifeline` command."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "example.yaml"


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """write("main.yaml", text) -> path; text is dedented, parent folders made."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


def run_lifeline(*args: str | Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console entry point, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "agent.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=120,
                          env={**os.environ, **(env or {})})

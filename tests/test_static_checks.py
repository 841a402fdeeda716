"""ruff and mypy over the code, as part of the test suite (so CI runs them): both must be
clean. Their settings are in pyproject.toml ([tool.ruff], [tool.mypy]: strict)."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    done = run_tool("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing() -> None:
    done = run_tool("mypy", "--no-incremental")   # the packages, from pyproject.toml
    assert done.returncode == 0, done.stdout + done.stderr

"""The shipped systemd unit, checked by systemd's own tools (`systemd-analyze verify` and
`security`, run on a copy whose ExecStart is this checkout's console script), and the
wheel's data files that install it and the pages its Documentation= names."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "config" / "systemd" / "lifeline.service"
EXEC = "/opt/lifeline/.venv/bin/lifeline"
PREFIX = "/opt/lifeline/.venv/"
MAX_EXPOSURE = 2.0


def _settings(section: str) -> list[tuple[str, str]]:
    """(key, value) of `[section]`, in order, comments left out."""
    found, current = [], None
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found.append((key, value))
    return found


def _analyze() -> str:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package has it)")
    return analyze


def _copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's `lifeline`, as the unit's
    comment tells an installer to adjust it; and lifeline(1) where `man` finds it."""
    lifeline = Path(sys.executable).with_name("lifeline")
    assert lifeline.exists(), "the console script: run tests/setup.sh"
    copy = tmp_path / "lifeline.service"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(EXEC, str(lifeline)),
                    encoding="utf-8")
    (tmp_path / "man" / "man1").mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "lifeline.1", tmp_path / "man" / "man1" / "lifeline.1")
    return copy


def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    analyze = _analyze()
    copy = _copy(tmp_path)
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "MANPATH": str(tmp_path / "man")},
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_the_man_page_it_names_is_what_verify_looks_for(tmp_path: Path) -> None:
    """Without lifeline(1) installed, verify complains about Documentation=man:lifeline(1):
    the check above is a real one."""
    analyze = _analyze()
    copy = _copy(tmp_path)
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "MANPATH": str(tmp_path / "empty")},
                            timeout=60)
    assert "lifeline(1)" in result.stderr, result.stderr


def test_systemd_analyze_security_scores_under_2(tmp_path: Path) -> None:
    analyze = _analyze()
    copy = _copy(tmp_path)
    result = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", str(copy)],
                            capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for lifeline\.service: (\d+\.\d+)",
                      result.stdout)
    assert match is not None, result.stdout + result.stderr
    assert float(match[1]) < MAX_EXPOSURE, result.stdout


def test_the_unit_notifies_runs_as_its_own_user_and_keeps_state_private() -> None:
    service = dict(_settings("Service"))
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert service["WatchdogSec"].endswith("s")
    assert service["DynamicUser"] == "yes" and "User" not in service
    assert "ReadWritePaths" not in service          # StateDirectory= already grants it
    assert service["StateDirectory"] == "lifeline" and service["UMask"] == "0077"
    capabilities = [(k, v) for k, v in _settings("Service") if "Capabilit" in k]
    assert capabilities == [("AmbientCapabilities", "CAP_NET_RAW"),
                            ("CapabilityBoundingSet", "CAP_NET_RAW")]


def test_the_wheel_installs_the_unit_and_the_pages_it_names() -> None:
    """pyproject's data files hold the unit and every file: page of Documentation=, at the
    paths the unit names under the prefix of its ExecStart."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data_files = project["tool"]["setuptools"]["data-files"]
    installed = {f"{target}/{Path(source).name}": source
                 for target, sources in data_files.items()
                 for pattern in sources for source in map(str, ROOT.glob(pattern))}
    assert "share/lifeline/systemd/lifeline.service" in installed
    assert "share/man/man1/lifeline.1" in installed
    documentation = [v for k, v in _settings("Unit") if k == "Documentation"]
    assert "man:lifeline(1)" in documentation
    for page in (d for d in documentation if d.startswith("file://")):
        path = page.removeprefix("file://")
        assert path.startswith(PREFIX), page
        assert path.removeprefix(PREFIX) in installed, (page, sorted(installed))

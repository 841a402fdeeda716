"""Shell completion and the manual page, generated from the parser and run in the real
shells and `man`; the page the wheel installs (docs/lifeline.1) kept current."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_lifeline


def _complete(script: Path, line: str) -> list[str]:
    """What bash offers for the last word of `line`, as `complete -F` would ask."""
    program = (f"source {script}\n"
               f"COMP_LINE={line!r}\n"
               "read -ra COMP_WORDS <<< \"$COMP_LINE\"\n"
               "[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')\n"
               "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
               "_lifeline\n"
               "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], cwd=script.parent,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [word for word in done.stdout.splitlines() if word]


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("completion")
    result = run_lifeline("completion", "bash")
    assert result.returncode == 0, result.stderr
    script = directory / "lifeline.bash"
    script.write_text(result.stdout, encoding="utf-8")
    (directory / "site.yaml").write_text("devices: []\n", encoding="utf-8")
    return script


def test_bash_completes_commands_options_and_values(bash_script: Path) -> None:
    assert {"validate", "poll", "alerts", "completion", "man"} <= set(
        _complete(bash_script, "lifeline "))
    assert _complete(bash_script, "lifeline inv") == ["inventory"]
    assert set(_complete(bash_script, "lifeline poll site.yaml --f")) == {"--format"}
    assert set(_complete(bash_script, "lifeline poll site.yaml --format ")) == {
        "table", "json", "csv", "jsonl"}
    assert set(_complete(bash_script, "lifeline alerts site.yaml ")) >= {
        "list", "ack", "silence", "unsilence", "history"}
    assert "--json" in _complete(bash_script, "lifeline alerts site.yaml list --")
    assert "--device" in _complete(bash_script, "lifeline alerts site.yaml history --")
    assert _complete(bash_script, "lifeline validate si") == ["site.yaml"]     # CONFIG: files
    # An option's value is not taken for a command: `--format json` then an option.
    assert "--as-of" in _complete(bash_script, "lifeline inventory site.yaml --format csv --a")


def test_zsh_function_loads_and_describes_every_command(tmp_path: Path) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed (tests/setup.sh installs it)")
    result = run_lifeline("completion", "zsh")
    functions = tmp_path / "functions"
    functions.mkdir()
    (functions / "_lifeline").write_text(result.stdout, encoding="utf-8")
    assert subprocess.run([zsh, "-n", str(functions / "_lifeline")],
                          capture_output=True, text=True).returncode == 0
    program = (f"fpath=({functions} $fpath); autoload -Uz compinit; "
               f"compinit -u -d {tmp_path / 'dump'}; print -r -- $_comps[lifeline]; "
               # sourced outside completion: the helper functions get defined, and the
               # final call fails (_arguments only works inside completion) on stderr
               f"source {functions / '_lifeline'} 2>/dev/null; "
               "print -l ${(k)functions[(I)_lifeline*]}")
    done = subprocess.run([zsh, "-f", "-c", program], capture_output=True, text=True,
                          timeout=30)
    lines = done.stdout.splitlines()
    assert lines[0] == "_lifeline", done.stdout + done.stderr
    for name in ("_lifeline_validate", "_lifeline_poll", "_lifeline_alerts",
                 "_lifeline_alerts_list", "_lifeline_alerts_history", "_lifeline_man"):
        assert name in lines, done.stdout
    assert "'--format[output format (default table)]:FORMAT:(table json csv jsonl)'" in \
        result.stdout


def test_the_man_page_renders_with_every_command() -> None:
    page = run_lifeline("man")
    assert page.returncode == 0, page.stderr
    rendered = subprocess.run(["man", "-l", "-"], input=page.stdout, capture_output=True,
                              text=True, timeout=60,
                              env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin",
                                   "LANG": "C.UTF-8"})     # the page holds Korean (천원)
    assert rendered.returncode == 0, rendered.stderr
    assert "warning" not in rendered.stderr, rendered.stderr
    text = " ".join(rendered.stdout.split())
    for command in ("validate", "inventory", "plan", "import", "poll", "alerts list",
                    "alerts history", "metrics", "run", "status", "completion"):
        assert f"lifeline {command}" in text, command
    assert "--format FORMAT" in text and "EXIT STATUS" in text


def test_the_shipped_man_page_is_current() -> None:
    shipped = (ROOT / "docs" / "lifeline.1").read_text(encoding="utf-8")
    assert shipped == run_lifeline("man").stdout, (
        "docs/lifeline.1 is out of date: .venv/bin/lifeline man > docs/lifeline.1")

"""What the loader agrees to read: includes under the config's directory (or a root the
main file allows), regular files of a bounded size, and files that are Lifeline's; what
it says about the rest names the file and line, never what is in it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.files import MAX_FILE_BYTES
from inventory.load import load_config

from tests.conftest import run_lifeline

# Stands in for a system file reached by mistake: keys and values that are not ours.
SYSTEM_FILE = """\
root_password: hunter2-not-ours
Name: first
Name: second
backup_key: s3cr3t-value
"""
NOT_OURS = ("hunter2", "s3cr3t", "root_password", "backup_key", "'Name'", "first")


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_an_include_outside_the_config_directory_is_not_read(tmp_path: Path, write) -> None:
    write("etc/app.conf", SYSTEM_FILE)
    write("etc/other.conf", "devices:\n  - {id: x, name: X, category: pc}\n")
    path = write("lifeline/main.yaml", 'include: ["../etc/*.conf"]\n')
    result = run_lifeline("validate", path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{path}:1: include[0]: include '../etc/*.conf' reaches outside the configuration's "
        "directory (2 files not read); the main file may allow another directory with "
        "include_roots",
        f"{path}: 1 problem; nothing was loaded"]


def test_a_symbolic_link_does_not_lead_outside_either(tmp_path: Path, write) -> None:
    write("etc/app.conf", SYSTEM_FILE)
    path = write("lifeline/main.yaml", "include: [inv/*.yaml]\n")
    (tmp_path / "lifeline" / "inv").mkdir()
    (tmp_path / "lifeline" / "inv" / "app.yaml").symlink_to(tmp_path / "etc" / "app.conf")
    problems = problems_of(path)
    assert len(problems) == 1 and "reaches outside" in problems[0]


def test_include_roots_allows_a_directory(tmp_path: Path, write) -> None:
    write("shared/inventory/net.yaml", "devices:\n  - {id: sw, name: SW, category: switch}\n")
    path = write("lifeline/main.yaml", """\
        include_roots: [../shared/inventory]
        include: [../shared/inventory/*.yaml]
        devices:
          - {id: pc, name: PC, category: pc, parent: sw}
        """)
    config = load_config(path)
    assert [d.id for d in config.devices] == ["pc", "sw"]


def test_include_roots_belongs_in_the_main_file_and_must_exist(write) -> None:
    write("inv/a.yaml", "include_roots: [/]\ndevices:\n  - {id: a, name: A, category: pc}\n")
    path = write("main.yaml", "include_roots: [nowhere]\ninclude: [inv/*.yaml]\n")
    problems = problems_of(path)
    assert problems == [
        f"{path.parent / 'inv' / 'a.yaml'}:1: include_roots: 'include_roots' belongs in the "
        "main configuration file, not an include",
        f"{path}:1: include_roots[0]: not a directory: 'nowhere'"]


@pytest.mark.parametrize("how", ["validate", "include"])
def test_a_foreign_file_is_refused_without_echoing_it(write, how: str) -> None:
    foreign = write("app.conf", SYSTEM_FILE)
    path = foreign if how == "validate" else write("main.yaml", "include: [app.conf]\n")
    result = run_lifeline("validate", path)
    assert result.returncode == 1
    assert not [word for word in NOT_OURS if word in result.stderr], result.stderr
    assert result.stderr.startswith(f"{foreign}:1: not a Lifeline file")


def test_a_device_or_a_pipe_ends_at_once_with_an_error(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    for path, kind in ((Path("/dev/zero"), "device"), (pipe, "named pipe")):
        result = run_lifeline("validate", path)    # a read would never end
        assert result.returncode == 1
        assert result.stderr.splitlines()[0] == f"{path}: not a regular file (a {kind})"


def test_a_file_over_the_cap_is_not_read(tmp_path: Path, write) -> None:
    big = tmp_path / "inv" / "huge.yaml"
    big.parent.mkdir()
    with big.open("wb") as handle:
        handle.write(b"devices:\n")
        handle.truncate(MAX_FILE_BYTES + 1)             # sparse: no 16 MiB written
    path = write("main.yaml", "include: [inv/*.yaml]\n")
    assert problems_of(path) == [f"{big}: larger than 16 MiB: not read "
                                 "(split it into smaller files)"]


def test_a_huge_sheet_is_not_read(tmp_path: Path) -> None:
    sheet = tmp_path / "assets.csv"
    with sheet.open("wb") as handle:
        handle.write("구분,품명,도입연도\n".encode())
        handle.truncate(MAX_FILE_BYTES + 1)
    result = run_lifeline("import", sheet)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (f"{sheet}: larger than 16 MiB: not read "
                                             "(split it into smaller files)")


def test_an_integer_too_long_for_python_is_a_located_problem(write) -> None:
    path = write("main.yaml", "devices:\n  - {id: a, name: A, category: pc, quantity: "
                 + "9" * 5000 + "}\n")
    problems = problems_of(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:2: devices[0].quantity: ")
    assert len(problems[0]) - len(str(path)) < 200     # the value is cut short, not echoed

"""Absurd dates, horizons, durations and cells, as an operator (or a bad day) types them:
a located problem or a one-line argument error, exit 1, never a traceback."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, run_lifeline

NINE = """\
    agent: {{state_dir: {state}}}
    devices:
      - {{id: ok, name: Fine switch, category: switch, acquired: 2010-01-01}}
      - {{id: odd, name: Odd switch, category: switch, acquired: {acquired}}}
    """


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith((" ", "usage:"))]


@pytest.mark.parametrize("acquired", ["9999-12-31", "1900-01-01"])
@pytest.mark.parametrize("command", [("validate",), ("inventory",), ("plan", "--year", "2025")])
def test_a_date_outside_the_window_is_a_located_problem(write, tmp_path: Path, acquired: str,
                                                        command: tuple[str, ...]) -> None:
    path = write("main.yaml", NINE.format(state=tmp_path / "var", acquired=acquired))
    result = run_lifeline(command[0], path, *command[1:])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:4: devices[1].acquired: {acquired} is outside the dates Lifeline accepts "
        "(1950-01-01 to 2100-12-31); leave it out when there is no date",
        f"{path}: 1 problem; nothing was loaded"]


def test_every_kind_of_date_is_checked(write) -> None:
    path = write("main.yaml", """\
        devices:
          - id: a
            name: A
            category: switch
            acquired: 2010-01-01
            support_ends: 9999-12-31
            vendor_dates: {end_of_sale: 2101-01-01}
            warranty_ends: 1949-12-31
            lease_ends: 3000-01-01
            retired: 0001-01-01
        """)
    result = run_lifeline("validate", path)
    assert result.returncode == 1
    located = sorted(line.split(": ")[0:2] for line in _error_lines(result.stderr)[:-1])
    assert located == [[f"{path}:10", "devices[0].retired"],
                       [f"{path}:6", "devices[0].support_ends"],
                       [f"{path}:7", "devices[0].vendor_dates.end_of_sale"],
                       [f"{path}:8", "devices[0].warranty_ends"],
                       [f"{path}:9", "devices[0].lease_ends"]]


@pytest.mark.parametrize("args", [
    ("plan", EXAMPLE, "--year", "2025", "--horizon", "100000"),
    ("plan", EXAMPLE, "--year", "2025", "--horizon", "31"),
    ("inventory", EXAMPLE, "--as-of", "9999-12-31"),
    ("inventory", EXAMPLE, "--as-of", "1949-12-31"),
    ("inventory", EXAMPLE, "--horizon", "999999999"),
    ("inventory", EXAMPLE, "--horizon", "-5"),
    ("metrics", EXAMPLE, "--device", "bb-sw-1", "--since", "99999999d"),
    ("metrics", EXAMPLE, "--device", "bb-sw-1", "--since", "1" * 5000 + "d"),
], ids=lambda a: " ".join(map(str, a[2:]))[:40])
def test_absurd_arguments_are_one_line_and_exit_1(args: tuple[str, ...]) -> None:
    result = run_lifeline(*args)
    assert result.returncode == 1, result.stdout[-500:] + result.stderr
    assert "Traceback" not in result.stderr
    errors = _error_lines(result.stderr)
    assert len(errors) == 1 and len(errors[0]) < 200, result.stderr
    assert result.stdout == ""


def test_the_largest_sensible_arguments_still_work() -> None:
    plan = run_lifeline("plan", EXAMPLE, "--year", "2100", "--horizon", "30", "--format", "json")
    assert plan.returncode == 0, plan.stderr
    inventory = run_lifeline("inventory", EXAMPLE, "--as-of", "2100-12-31", "--horizon", "360",
                             "--format", "csv")
    assert inventory.returncode == 0, inventory.stderr


def test_a_silence_of_absurd_length_is_refused_and_not_stored(write, tmp_path: Path) -> None:
    path = write("main.yaml", NINE.format(state=tmp_path / "var", acquired="2011-01-01"))
    result = run_lifeline("alerts", path, "silence", "device_id=odd", "--for", "99999999999d",
                          "--reason", "forever")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(_error_lines(result.stderr)) == 1, result.stderr
    listing = run_lifeline("alerts", path, "list")
    assert listing.returncode == 0 and "forever" not in listing.stdout
    ten_years = run_lifeline("alerts", path, "silence", "device_id=odd", "--for", "3650d",
                             "--reason", "decommissioning")
    assert ten_years.returncode == 0, ten_years.stderr


def test_a_duration_of_absurd_length_in_the_config_is_located(write) -> None:
    path = write("main.yaml", """\
        devices:
          - {id: h, name: Host, category: server, poll: {protocol: host, interval: 99999999d}}
        """)
    result = run_lifeline("validate", path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert _error_lines(result.stderr)[0].startswith(f"{path}:2: devices[0].poll.interval: ")


@pytest.mark.parametrize("size", [1_000_000, 5_000])
def test_a_huge_sheet_cell_is_a_problem_naming_the_row(tmp_path: Path, size: int) -> None:
    sheet = tmp_path / "assets.csv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["관리번호", "구분", "품명", "도입연도"])
        writer.writerow(["a-1", "switch", "Core switch", "2015"])
        writer.writerow(["a-2", "switch", "x" * size, "2016"])
    out = tmp_path / "inventory.yaml"
    result = run_lifeline("import", sheet, "-o", out)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{sheet}: row 3") and len(lines[0]) < 200, lines
    assert lines[-1] == f"{sheet}: 1 problem; nothing was written"
    assert not out.exists()


def test_a_sheet_date_outside_the_window_is_refused(tmp_path: Path) -> None:
    sheet = tmp_path / "assets.csv"
    sheet.write_text("구분,품명,도입연도,기술지원종료일\nswitch,Core,2015,9999-12-31\n",
                     encoding="utf-8")
    result = run_lifeline("import", sheet)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith(
        f"{sheet}: row 2, column 기술지원종료일: 9999-12-31 is outside the dates")

"""The command line as a user runs it: exit codes, messages, no tracebacks."""
from __future__ import annotations

import csv
import io
import json
import re

from tests.conftest import EXAMPLE, run_lifeline


def test_validate_example_ok() -> None:
    result = run_lifeline("validate", EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert re.search(r"OK: \d+ records", result.stdout)   # the example grows


def test_validate_reports_every_problem_and_exits_1(write) -> None:
    path = write("main.yaml", """\
        devices:
          - {id: a, name: A, category: swich}
          - {id: a, name: B, category: pc, acquired: 2008-13-01}
        """)
    result = run_lifeline("validate", path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert (f"{path}:2: devices[0].category: unknown category 'swich' "
            "(did you mean 'switch'?)") in lines
    assert any(line.startswith(f"{path}:3: devices[1].acquired: not a date") for line in lines)
    assert any("duplicate id 'a'" in line for line in lines)
    assert lines[-1] == f"{path}: 3 problems; nothing was loaded"




def test_bad_arguments_exit_1() -> None:
    assert run_lifeline("inventory", EXAMPLE, "--as-of", "2021-02-30").returncode == 1
    assert run_lifeline("inventory", EXAMPLE, "--category", "nope").returncode == 1
    assert run_lifeline("frobnicate").returncode == 1


def test_inventory_json_filters_and_as_of() -> None:
    result = run_lifeline("inventory", EXAMPLE, "--as-of", "2021-01-01", "--format", "json",
                          "--category", "backbone_switch")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == ["bb-sw-1", "bb-sw-2"]
    assert all(r["status"] == "exceeded" and r["support"] == "unsupported" for r in rows)
    assert rows[0]["life_ends"] == "2015-03-01" and rows[0]["years_elapsed"] == 12


def test_inventory_status_and_site_filters_csv() -> None:
    result = run_lifeline("inventory", EXAMPLE, "--as-of", "2021-01-01", "--format", "csv",
                          "--status", "exceeded", "--site", "district-hall", "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("\ufeff")                 # a BOM, for Excel
    rows = list(csv.DictReader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    assert rows and all(r["status"] == "exceeded" and r["site"] == "district-hall" for r in rows)
    assert {"bb-sw-1", "ips-svc-1", "media-ctl-1"} <= {r["id"] for r in rows}
    assert "kiosk-emart" not in {r["id"] for r in rows}


def test_inventory_table_keeps_korean() -> None:
    result = run_lifeline("inventory", EXAMPLE, "--as-of", "2021-01-01", "--category", "kiosk",
                          "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "무인민원발급기 (이마트 금정점)" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("8 records as of 2021-01-01")


def test_validate_warns_about_unset_secrets_without_showing_values(write) -> None:
    path = write("main.yaml", "credentials:\n  v2: {version: 2c, community_env: T_COMMUNITY}\n")
    unset = run_lifeline("validate", path, env={"T_COMMUNITY_OTHER": "1"})
    assert unset.returncode == 0
    assert "warning: credentials v2: environment variable T_COMMUNITY is not set" in unset.stderr
    set_ = run_lifeline("validate", path, env={"T_COMMUNITY": "hunter2-community"})
    assert "warning" not in set_.stderr and "hunter2-community" not in set_.stdout + set_.stderr


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    result = run_lifeline("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"lifeline {version('lifeline')}"


def test_an_unexpected_error_is_one_line_and_exit_2(monkeypatch, capsys) -> None:
    """A bug in a command never prints a traceback, nor the exception's text (it may hold
    a value that is not ours to print); LIFELINE_DEBUG=1 adds the traceback."""
    from agent import cli
    from agent.cli import validate

    def broken(args) -> int:
        raise RuntimeError("community s3cr3t")

    monkeypatch.setattr(validate, "run", broken)
    monkeypatch.delenv("LIFELINE_DEBUG", raising=False)
    assert cli.main(["validate", "nothing.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (RuntimeError)" in err
    assert "s3cr3t" not in err and "Traceback" not in err
    monkeypatch.setenv("LIFELINE_DEBUG", "1")
    assert cli.main(["validate", "nothing.yaml"]) == 2
    assert "Traceback" in capsys.readouterr().err

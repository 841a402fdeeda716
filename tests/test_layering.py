"""The packages stack in one order, and none imports one above it:

    config  <-  inventory  <-  collectors  <-  alerts  <-  agent

(config reads the files; inventory is the assets; collectors poll them; alerts judge the
results and tell people; agent runs it all.) Checked on every import statement, deferred
ones inside functions included, so a cycle cannot hide behind a late import.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAYERS = ("config", "inventory", "collectors", "alerts", "agent")


def imported_packages(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in LAYERS:
                yield node.lineno, top


@pytest.mark.parametrize("package", LAYERS)
def test_no_package_imports_one_above_it(package: str) -> None:
    allowed = set(LAYERS[:LAYERS.index(package) + 1])
    upward = [f"{path.relative_to(ROOT)}:{line}: imports {top}"
              for path in sorted((ROOT / package).rglob("*.py"))
              for line, top in imported_packages(path) if top not in allowed]
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from agent.cli import main\n    import alerts.model\n")
    assert list(imported_packages(module)) == [(2, "agent"), (3, "alerts")]

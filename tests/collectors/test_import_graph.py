"""The modules of collectors/ import one another in one direction only.

The graph is built from module-level import statements, those in `if TYPE_CHECKING:`
blocks included, so a cycle cannot hide behind a type-checking import. Imports inside
functions are not edges: deferring pysnmp's import is deliberate (it costs ~150 ms and
only SNMPv3 needs it), and tests/test_layering.py sees those for the package order.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.conftest import ROOT

Graph = dict[str, set[str]]


def import_graph(package: Path) -> Graph:
    """Module name -> the modules of the same package it imports at module level."""
    paths = {_module_name(path, package.parent): path for path in package.rglob("*.py")}
    modules = set(paths)
    graph: Graph = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        graph[name] = {target for node in _module_level(tree.body)
                       for target in _targets(node, name, is_package, modules)}
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle as a path that ends where it starts (a, b, a), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        cycle = _cycle_from(start, graph, [], done)
        if cycle is not None:
            return cycle
    return None


def _cycle_from(node: str, graph: Mapping[str, set[str]], path: list[str],
                done: set[str]) -> list[str] | None:
    if node in path:
        return [*path[path.index(node):], node]
    if node in done:
        return None
    path.append(node)
    for target in sorted(graph.get(node, ())):
        cycle = _cycle_from(target, graph, path, done)
        if cycle is not None:
            return cycle
    path.pop()
    done.add(node)
    return None


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported (or type-checked): at the
    top, in `if`/`try` blocks and class bodies, not in functions."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for field in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(node, field, []))
            for handler in getattr(node, "handlers", []):
                yield from _module_level(handler.body)


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool,
             modules: set[str]) -> Iterator[str]:
    """The package's modules this statement imports (other packages' are left out)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name in modules)
        return
    base = _absolute(node, importer, is_package)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in modules:
            yield submodule         # from pkg import module
        elif base in modules:
            yield base              # from module import name


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The module a `from` import names, relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    package = importer.split(".")
    package = package if is_package else package[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def test_collectors_import_graph_has_no_cycle() -> None:
    graph = import_graph(ROOT / "collectors")
    assert graph.get("collectors.snmp.transport"), "no edges found: the graph is not read"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_find_cycle_finds_one_and_only_one_that_exists() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_the_graph_counts_type_checking_imports_and_not_deferred_ones(tmp_path: Path) -> None:
    package = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from pkg import b\n",
        "pkg/b.py": "import os\nfrom pkg.sub.c import thing\n"
                    "def f():\n    from pkg import a\n",
        "pkg/sub/__init__.py": "from .c import thing\n",
        "pkg/sub/c.py": "from .. import b as _b_for_types\n",
    })
    graph = import_graph(package)
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.sub.c"},
                     "pkg.sub": {"pkg.sub.c"}, "pkg.sub.c": {"pkg.b"}}
    assert find_cycle(graph) == ["pkg.b", "pkg.sub.c", "pkg.b"]

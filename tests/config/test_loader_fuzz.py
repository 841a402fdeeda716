"""Fuzzing the loader: no input makes it raise anything but ConfigError.

`load_config` on generated documents and text, and `read_config` (config/loader.py) on the
shipped example with one of its files mutated: it always returns a source whose settings
or problems say what it found, and never raises. Bounded by `max_examples` and
derandomized (the same examples on every run, so CI is stable), about 15 s in all.
"""
from __future__ import annotations

import shutil
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import ConfigError
from config.loader import ConfigSource, read_config
from inventory.load import load_config
from inventory.model import Config

from tests.conftest import EXAMPLE

KEYS = ["id", "name", "category", "acquired", "quantity", "parent", "poll", "protocol",
        "address", "credentials", "interval", "timeout", "retries", "operating_hours",
        "support_ends", "unit_cost_krw", "vendor_dates", "version", "community_env",
        "devices", "agent", "include", "service_life", "alerts", "channels", "routes", "x"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True), st.text(max_size=12),
                    st.dates().map(str), st.sampled_from(["pc", "switch", "2008-13-01", "60s",
                                                          "snmp", "Mon-Fri 09:00-18:00", "a"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=25)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)


def _load(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            assert isinstance(load_config(path), Config)
        except ConfigError as exc:
            assert exc.problems and all(str(p) for p in exc.problems)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_structured_garbage(document) -> None:
    _load(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=string.printable + "가나다:-[]{}&*!|>'\"%@`", max_size=200))
def test_textual_garbage(text: str) -> None:
    _load(text)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "c"]), "name": st.text(min_size=1, max_size=5),
     "category": st.sampled_from(["pc", "switch", "nope"])},
    optional={"parent": st.sampled_from(["a", "b", "c", "z"]), "acquired": scalars,
              "quantity": scalars, "operating_hours": scalars}), max_size=6))
def test_device_lists(devices) -> None:
    _load(yaml.safe_dump({"devices": devices}, allow_unicode=True))


# --- read_config on the shipped example with one file mutated ---------------------------

# The example's main file and its includes, but the 1,500-line switch list (time).
MUTABLE = ["example.yaml", *(f"inventory/{p.name}" for p in sorted(
    (EXAMPLE.parent / "inventory").glob("*.yaml")) if p.name != "workgroup_switches.yaml")]
TOKENS = [": ", "- ", "&a ", "*a", "*nowhere", "!!python/object/apply:os.system ['true']",
          "!!binary xx", "{", "}", "[", "]", "'", '"', "\t", "---\n", "...\n", "%YAML 9.9\n",
          "? ", "|", ">-", "9999-12-31", "0000-00-00", "1e309", "-1", "0x", "\x00", "\ufeff",
          "\u202e", "include: ['../../../../etc/*.conf']", "<<: *a", "~", "null", "가"]


@pytest.fixture(scope="module")
def example_tree() -> Iterator[Path]:
    """A copy of the example and its inventory files, mutated in place one at a time."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copy(EXAMPLE, root / "example.yaml")
        shutil.copytree(EXAMPLE.parent / "inventory", root / "inventory")
        yield root


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, str]:
    """(file, its text after one to four line or character edits)."""
    name = draw(st.sampled_from(MUTABLE))
    lines = (EXAMPLE.parent / name).read_text(encoding="utf-8").split("\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "repeat", "indent", "dedent", "token", "cut"]))
        if edit == "delete" and len(lines) > 1:
            del lines[at]
        elif edit == "repeat":
            lines.insert(at, lines[at])
        elif edit == "indent":
            lines[at] = " " * draw(st.integers(1, 3)) + lines[at]
        elif edit == "dedent":
            lines[at] = lines[at].lstrip()
        elif edit == "token":
            column = draw(st.integers(0, len(lines[at])))
            token = draw(st.sampled_from(TOKENS))
            lines[at] = lines[at][:column] + token + lines[at][column:]
        else:
            lines = lines[:at]
    return name, "\n".join(lines)


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_read_config_of_a_mutated_example_returns_settings_or_problems(
        example_tree: Path, mutation: tuple[str, str]) -> None:
    name, text = mutation
    path = example_tree / name
    original = path.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    try:
        source = read_config(example_tree / "example.yaml")
    finally:
        path.write_text(original, encoding="utf-8")
    assert isinstance(source, ConfigSource)
    assert source.settings is not None or source.problems
    assert all(str(problem) for problem in source.problems)

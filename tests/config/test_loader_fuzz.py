"""Fuzzing the loader: no input makes it raise anything but ConfigError."""
from __future__ import annotations

import string
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import ConfigError
from inventory.load import load_config
from inventory.model import Config

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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_structured_garbage(document) -> None:
    _load(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "가나다:-[]{}&*!|>'\"%@`", max_size=200))
def test_textual_garbage(text: str) -> None:
    _load(text)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "c"]), "name": st.text(min_size=1, max_size=5),
     "category": st.sampled_from(["pc", "switch", "nope"])},
    optional={"parent": st.sampled_from(["a", "b", "c", "z"]), "acquired": scalars,
              "quantity": scalars, "operating_hours": scalars}), max_size=6))
def test_device_lists(devices) -> None:
    _load(yaml.safe_dump({"devices": devices}, allow_unicode=True))

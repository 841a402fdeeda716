"""The shipped Grafana dashboard (config/grafana/lifeline-dashboard.json): valid JSON,
one InfluxDB (Flux) datasource input, and every measurement and field its queries name is
declared in collectors/metrics.csv."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from collectors.catalogue import read

from tests.conftest import ROOT

DASHBOARD = ROOT / "config" / "grafana" / "lifeline-dashboard.json"
MEASUREMENT = re.compile(r'r\._measurement\s*==\s*"([^"]+)"')
FIELD = re.compile(r'r\._field\s*==\s*"([^"]+)"')
REQUIRED = {"interface", "ups", "http_response", "lifeline_poll"}


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, Flux text) of every panel target."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["query"]


def undeclared(query: str, declared: set[tuple[str, str]]) -> list[str]:
    """What one query names that the catalogue does not declare."""
    measurements = set(MEASUREMENT.findall(query))
    fields = set(FIELD.findall(query))
    known = {m for m, _ in declared}
    problems = [f"measurement {m}" for m in sorted(measurements - known)]
    if not measurements:
        problems.append("no measurement named")
    for name in sorted(fields):
        if not any((m, name) in declared for m in measurements):
            problems.append(f"field {name} of {', '.join(sorted(measurements))}")
    return problems


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def declared() -> set[tuple[str, str]]:
    return {(e.measurement, e.field) for e in read()}


def test_every_query_names_only_declared_measurements_and_fields(dashboard, declared) -> None:
    problems = {title: p for title, q in queries(dashboard) if (p := undeclared(q, declared))}
    assert problems == {}


def test_covers_the_four_measurements_through_one_flux_datasource(dashboard) -> None:
    named = {m for _, q in queries(dashboard) for m in MEASUREMENT.findall(q)}
    assert named >= REQUIRED
    [source] = dashboard["__inputs"]
    assert source["pluginId"] == "influxdb" and "Flux" in source["label"]
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_INFLUXDB}", panel["title"]
            assert panel["targets"], panel["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_checker_catches_an_undeclared_field_or_measurement(declared) -> None:
    bad = 'filter(fn: (r) => r._measurement == "ups" and (r._field == "battery_chrage"))'
    assert undeclared(bad, declared) == ["field battery_chrage of ups"]
    assert undeclared('r._measurement == "upss"', declared) == ["measurement upss"]

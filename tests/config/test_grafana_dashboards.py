"""The shipped Grafana dashboards, config/grafana/lifeline-influxql.json (InfluxQL: InfluxDB
1.x, 2.x through DBRP, 3) and lifeline-promql.json (PromQL/MetricsQL: VictoriaMetrics).

Without a peer: each loads, names only catalogued measurements and fields, maps every enum
it charts to the catalogue's words, and tells interfaces apart by ifIndex and ifDescr too.

With real peers: a real agent (`lifeline run` against snmpd, snmpsim recordings and the
HTTP peer) writes to Debian's InfluxDB 1.x over the v1 API and to VictoriaMetrics, and
every panel's every query, and the device variable's, must return data from them.
Grafana fills in its variables before it sends a query; the test does the same with
concrete values (`substitute`):

| variable            | InfluxQL                                   | PromQL                  |
|---------------------|--------------------------------------------|-------------------------|
| `$timeFilter`       | `time >= STARTms and time <= ENDms`        |                         |
| `$__interval`       | `2s` (the agent polls every second)         | `2s` (and step 2s)      |
| `$__rate_interval`  |                                            | `10s`                   |
| `$__range`          |                                            | END - START, in seconds |
| `$device_id`        | `.*` (the variable's All value)            | `.*`                    |

The agent runs twice: the second time one device ("moved") has a new address where
nothing answers. Its points then sit in two series (other agent_host, no hostname), and
"Devices answering" must still count it once, as down.
"""
from __future__ import annotations

import contextlib
import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from collectors.catalogue import read

from peers.agent import AgentProcess
from peers.http import start_http_peer
from peers.influxdb1 import InfluxDB1
from peers.snmp import RECORDINGS, free_udp_port, stop
from peers.victoria import Victoria
from tests.conftest import ROOT

GRAFANA = ROOT / "config" / "grafana"
DASHBOARDS = {"influxql": GRAFANA / "lifeline-influxql.json",
              "promql": GRAFANA / "lifeline-promql.json"}
PLUGIN = {"influxql": "influxdb", "promql": "prometheus"}
INTERFACE_TAGS = ("ifIndex", "ifName", "ifDescr")


# --- reading a dashboard ------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    panel: dict[str, Any]
    target: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.target.get("query") or self.target.get("expr"))

    @property
    def where(self) -> str:
        return f"{self.panel['title']} / {self.target['refId']}"


def load(kind: str) -> dict[str, Any]:
    return json.loads(DASHBOARDS[kind].read_text(encoding="utf-8"))


def queries(dashboard: dict[str, Any]) -> Iterator[Query]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield Query(panel, target)


def declared() -> set[tuple[str, str]]:
    return {(e.measurement, e.field) for e in read()}


def named(kind: str, text: str, catalogue: set[tuple[str, str]]) -> tuple[set[tuple[str, str]],
                                                                           list[str]]:
    """(measurement, field) pairs a query reads, and the names it uses that the catalogue
    does not declare."""
    if kind == "influxql":
        measurements = set(re.findall(r'\bFROM "([A-Za-z_]+)"', text))
        selects = re.findall(r"SELECT (.*?) FROM", text)
        fields = {f for s in selects for f in re.findall(r'\w+\("([A-Za-z_]+)"\)', s)}
        pairs = {(m, f) for m in measurements for f in fields if (m, f) in catalogue}
        unknown = [f"measurement {m}" for m in sorted(measurements)
                   if not any(m == d for d, _ in catalogue)]
        unknown += [f"field {f}" for f in sorted(fields)
                    if not any((m, f) in catalogue for m in measurements)]
        return pairs, unknown
    series = set(re.findall(r"\b([A-Za-z_]+)\{", text))
    by_name = {f"{m}_{f}": (m, f) for m, f in catalogue}
    return ({by_name[s] for s in series if s in by_name},
            [f"series {s}" for s in sorted(series) if s not in by_name])


def enum_words(catalogue_description: str) -> dict[str, str]:
    """"(1 up, 2 down, ...)" of the catalogue's description: {"1": "up", ...}."""
    return dict(re.findall(r"(?<![\w.])(\d+) ([A-Za-z_]+)", catalogue_description))


def mapped(panel: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for mapping in panel["fieldConfig"]["defaults"].get("mappings", []):
        out.update({value: shown["text"] for value, shown in mapping["options"].items()})
    return out


# --- without a peer -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", DASHBOARDS)
def test_loads_with_one_datasource_input_used_by_every_panel(kind: str) -> None:
    dashboard = load(kind)
    [source] = dashboard["__inputs"]
    assert source["pluginId"] == PLUGIN[kind]
    uid = "${" + source["name"] + "}"
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == uid, panel["title"]
            assert panel["targets"], panel["title"]
            assert all(t["datasource"]["uid"] == uid for t in panel["targets"])
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["device_id"]
    assert not (GRAFANA / "lifeline-dashboard.json").exists(), "the untested Flux dashboard"


@pytest.mark.parametrize("kind", DASHBOARDS)
def test_every_query_names_only_catalogued_measurements_and_fields(kind: str) -> None:
    catalogue = declared()
    problems = {q.where: unknown for q in queries(load(kind))
                if (unknown := named(kind, q.text, catalogue)[1])}
    assert problems == {}
    read_at_all = {pair for q in queries(load(kind)) for pair in named(kind, q.text, catalogue)[0]}
    assert {m for m, _ in read_at_all} >= {"lifeline_poll", "interface", "ups", "http_response"}


def test_the_name_checkers_catch_a_misspelt_field_or_series() -> None:
    catalogue = declared()
    assert named("influxql", 'SELECT last("battery_chrage") FROM "ups" WHERE x',
                 catalogue)[1] == ["field battery_chrage"]
    assert named("influxql", 'SELECT last("up") FROM "upss"', catalogue)[1] == [
        "measurement upss", "field up"]
    assert named("promql", 'rate(interface_ifHCInOctet{a="b"}[1m])', catalogue)[1] == [
        "series interface_ifHCInOctet"]


@pytest.mark.parametrize("kind", DASHBOARDS)
def test_every_enum_charted_has_the_catalogues_value_mappings(kind: str) -> None:
    entries = {(e.measurement, e.field): e for e in read()}
    catalogue = set(entries)
    charted = set()
    for panel in load(kind)["panels"]:
        for target in panel.get("targets", []):
            for pair in named(kind, str(target.get("query") or target.get("expr")),
                              catalogue)[0]:
                if entries[pair].type == "enum":
                    charted.add(pair)
                    assert mapped(panel) == enum_words(entries[pair].description), \
                        (panel["title"], pair)
    assert charted >= {("interface", "ifOperStatus"), ("lifeline_poll", "result_code"),
                       ("http_response", "result_code"), ("ups", "output_source"),
                       ("ups", "battery_status")}


@pytest.mark.parametrize("kind", DASHBOARDS)
def test_interfaces_are_told_apart_without_ifname_and_32_bit_counters_are_charted(
        kind: str) -> None:
    catalogue = declared()
    for query in queries(load(kind)):
        pairs = named(kind, query.text, catalogue)[0]
        if any(m == "interface" for m, _ in pairs):
            legend = query.target.get("alias") or query.target.get("legendFormat") or ""
            assert all(tag in query.text and tag in legend for tag in INTERFACE_TAGS), \
                query.where
    traffic = {f for q in queries(load(kind)) if q.panel["title"] == "Traffic in / out"
               for _, f in named(kind, q.text, catalogue)[0]}
    assert traffic == {"ifHCInOctets", "ifHCOutOctets", "ifInOctets", "ifOutOctets"}


# --- against real peers -------------------------------------------------------------------

SNMPSIM_DEVICES = {"sw-32": ("switch32", "switch", "switch"),      # no ifXTable: 32-bit
                   "ups-ok": ("ups-normal", "ups", "ups"),
                   "ups-batt": ("ups-battery", "ups", "ups")}
ANSWERING = ("sw-hc", "sw-32", "ups-ok", "ups-batt", "web-1")      # in the second run
ALL_DEVICES = (*ANSWERING, "moved")
INFLUX_USER, INFLUX_PASSWORD = "lifeline", "Dash-Board-Pass-1"


@dataclass
class Written:
    influx: InfluxDB1
    victoria: Victoria
    start_ms: int
    end_ms: int


def _snmp(device_id: str, address: str, credentials: str, profile: str, category: str) -> str:
    return (f"  - id: {device_id}\n    name: {device_id}\n    category: {category}\n"
            f"    site: district-hall\n    poll: {{protocol: snmp, address: \"{address}\", "
            f"credentials: {credentials}, profile: {profile}, interval: 1s, "
            f"timeout: 800ms, retries: 0}}\n")


def _config(directory: Path, storage: str, devices: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    credentials = "".join(f"  {rec}: {{version: 2c, community_env: LL_T_SIM_{i}}}\n"
                          for i, (rec, _, _) in enumerate(SNMPSIM_DEVICES.values()))
    path = directory / "lifeline.yaml"
    path.write_text(f"agent:\n  name: dashboards\n  state_dir: {directory / 'var'}\n"
                    f"storage:\n  influxdb:\n{storage}"
                    "credentials:\n  public: {version: 2c, community_env: LL_TEST_COMMUNITY}\n"
                    f"{credentials}devices:\n{devices}", encoding="utf-8")
    return path


def _devices(snmpd: str, snmpsim_port: int, https: str, moved_to: str) -> str:
    out = _snmp("sw-hc", snmpd, "public", "switch", "switch")
    out += _snmp("moved", moved_to, "public", "switch", "switch")
    for device_id, (recording, profile, category) in SNMPSIM_DEVICES.items():
        host = RECORDINGS[recording][0]
        out += _snmp(device_id, f"{host}:{snmpsim_port}", recording, profile, category)
    out += ("  - id: web-1\n    name: web 1\n    category: server\n    site: district-hall\n"
            f"    poll: {{protocol: http, url: \"{https}/ok\", verify_tls: false, "
            "interval: 1s, timeout: 800ms, retries: 0}\n")
    return out


def _run_agents(tmp: Path, run: int, influx: InfluxDB1, victoria: Victoria, devices: str,
                polls: int) -> None:
    """Both agents (one per TSDB) at once, until every device has `polls` polls; then a
    clean stop, which flushes the spool."""
    to_influx = (f"    api: v1\n    url: {influx.url}\n    database: infra\n"
                 f"    username: {INFLUX_USER}\n    password_env: LL_T_INFLUX_PASSWORD\n"
                 "    flush_interval: 500ms\n")
    to_victoria = (f"    url: {victoria.url}\n    org: district\n    bucket: infra\n"
                   "    flush_interval: 500ms\n")
    env = {"LL_T_INFLUX_PASSWORD": INFLUX_PASSWORD}
    env.update({f"LL_T_SIM_{i}": rec for i, (rec, _, _) in enumerate(SNMPSIM_DEVICES.values())})
    agents = [AgentProcess(_config(tmp / f"{name}-{run}", storage, devices), env=env).start()
              for name, storage in (("influx", to_influx), ("victoria", to_victoria))]
    try:
        for agent in agents:
            for device_id in ALL_DEVICES:
                agent.wait_polls(device_id, polls)
    finally:
        for agent in agents:
            assert agent.stop() == 0, agent.log()
    for agent in agents:
        sink = (agent.status() or {}).get("sink") or {}
        assert (sink.get("points_pending"), sink.get("points_rejected")) == (0, 0), (
            sink, agent.log()[-3000:])


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, snmpd: Any, snmpsim: int
            ) -> Iterator[Written]:
    tmp = tmp_path_factory.mktemp("dashboards")
    (tmp / "http").mkdir()
    with contextlib.ExitStack() as peers:       # each peer started is stopped, whatever fails
        influx = InfluxDB1.start(tmp / "influxdb", auth=True)
        peers.callback(influx.stop)
        victoria = Victoria.start(tmp / "victoria", flags=("-search.latencyOffset=0s",))
        peers.callback(victoria.stop)
        http = start_http_peer(tmp / "http")
        peers.callback(stop, http.proc)
        influx.create_database("infra")
        influx.create_user(INFLUX_USER, INFLUX_PASSWORD, write_on="infra")
        start_ms = int(time.time() * 1000) - 1000
        dead = f"127.0.0.1:{free_udp_port()}"     # nothing listens there
        _run_agents(tmp, 1, influx, victoria,
                    _devices(snmpd.address, snmpsim, http.https, snmpd.address), polls=4)
        _run_agents(tmp, 2, influx, victoria,
                    _devices(snmpd.address, snmpsim, http.https, dead), polls=4)
        yield Written(influx, victoria, start_ms, int(time.time() * 1000) + 1000)


def substitute(kind: str, text: str, written: Written) -> str:
    """The query as Grafana would send it for the agent's runs (see the module docstring)."""
    values = {"$device_id": ".*", "$__interval": "2s"}
    if kind == "influxql":
        values["$timeFilter"] = (f"time >= {written.start_ms}ms and "
                                 f"time <= {written.end_ms}ms")
    else:
        values["$__rate_interval"] = "10s"
        values["$__range"] = f"{math.ceil((written.end_ms - written.start_ms) / 1000)}s"
    for name in sorted(values, key=len, reverse=True):     # $__range before $__rate...
        text = text.replace(name, values[name])
    assert not re.search(r"\$(?!col\b|tag_)[A-Za-z_{]", text), f"a variable left in {text}"
    return text


@dataclass(frozen=True)
class Result:
    labels: dict[str, str]
    values: list[float]           # the non-null ones


def run(kind: str, query: Query, written: Written) -> list[Result]:
    text = substitute(kind, query.text, written)
    if kind == "influxql":
        out = []
        for result in written.influx.query(text, "infra"):
            for series in result.get("series", []):
                columns = series["columns"][1:]
                values = [v for row in series["values"] for v in row[1:] if v is not None]
                for column in columns:
                    labels = {**(series.get("tags") or {}), "column": column}
                    out.append(Result(labels, values))
        return out
    instant = query.target.get("instant", False)
    answer = written.victoria.query(
        text, end=written.end_ms / 1000,
        start=None if instant else written.start_ms / 1000)
    return [Result(item["metric"],
                   [float(v) for _, v in ([item["value"]] if instant else item["values"])
                    if v not in ("NaN", None)])
            for item in answer]


def all_queries() -> list[tuple[str, Query]]:
    return [(kind, q) for kind in DASHBOARDS for q in queries(load(kind))]


@pytest.mark.peer
@pytest.mark.parametrize(("kind", "query"), all_queries(),
                         ids=[f"{k}:{q.where}" for k, q in all_queries()])
def test_every_panel_query_returns_data_from_the_real_peer(kind: str, query: Query,
                                                           written: Written) -> None:
    results = run(kind, query, written)
    assert any(r.values for r in results), f"{query.where}: no data for\n{query.text}"
    words = mapped(query.panel)
    if words:                      # an enum panel: every value it shows has a word
        shown = {str(int(v)) for r in results for v in r.values}
        assert shown <= set(words), (query.where, shown - set(words))


@pytest.mark.peer
@pytest.mark.parametrize("kind", DASHBOARDS)
def test_devices_are_counted_once_each_by_their_latest_poll(kind: str,
                                                             written: Written) -> None:
    def stat(title: str) -> float:
        [query] = [q for q in queries(load(kind)) if q.panel["title"] == title]
        [result] = run(kind, query, written)
        return result.values[-1]

    assert stat("Devices polled") == len(ALL_DEVICES)
    # "moved" answered in the first run under another agent_host and hostname: counted
    # per series, it would make this one more.
    assert stat("Devices answering") == len(ANSWERING)


@pytest.mark.peer
@pytest.mark.parametrize("kind", DASHBOARDS)
def test_traffic_shows_64_bit_and_32_bit_interfaces_apart(kind: str, written: Written) -> None:
    by_ref = {q.target["refId"]: run(kind, q, written) for q in queries(load(kind))
              if q.panel["title"] == "Traffic in / out"}
    charted = {(r.labels.get("device_id"), r.labels.get("ifIndex"), r.labels.get("ifName", ""),
                r.labels.get("ifDescr")) for results in by_ref.values() for r in results
               if r.values}
    devices = {device for device, *_ in charted}
    assert devices == {"sw-hc", "sw-32", "moved"}
    no_name = {(index, descr) for device, index, name, descr in charted
               if device == "sw-32" and not name}
    assert ("1", "GigabitEthernet0/1") in no_name and len(no_name) > 1


@pytest.mark.peer
@pytest.mark.parametrize("kind", DASHBOARDS)
def test_the_device_variable_lists_every_device(kind: str, written: Written) -> None:
    [variable] = load(kind)["templating"]["list"]
    if kind == "influxql":
        [result] = written.influx.query(variable["query"], "infra")
        values = {row[1] for series in result["series"] for row in series["values"]}
    else:
        assert variable["query"]["query"] == "label_values(lifeline_poll_up, device_id)"
        values = {r["metric"]["device_id"] for r in written.victoria.query(
            "count by (device_id) (last_over_time(lifeline_poll_up[1h]))")}
    assert values == set(ALL_DEVICES)


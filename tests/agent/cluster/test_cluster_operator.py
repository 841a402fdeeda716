"""The operator's tools on a cluster: `lifeline alerts` and the web console work on the
alert store of the cluster (its PostgreSQL), not on a `state_dir/alerts.db` no node
reads. A real `lifeline run` node with `cluster:` on a real PostgreSQL 15, polling two
devices at a TCP port nobody listens on (both down), telling a real webhook receiver,
with its console on loopback behind a "reverse proxy" (the user named in a header, from
127.0.0.1). Each test checks what the node or the store shows, never how soon."""
from __future__ import annotations

import http.client
import json
import signal
import socket
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import run_lifeline

from alerts.evaluation.state import fingerprint

from kits.cluster import DSN_ENV
from peers.agent import AgentProcess, agent_config
from peers.ports import free_tcp_port
from peers.postgres import PostgresServer, query
from peers.webhook import running_webhook

pytestmark = pytest.mark.peer

PASSWORD = "pw-never-shown-7f3a"     # trust auth ignores it; no output may show it
USER_HEADER = "X-Forwarded-User"


@dataclass
class Node:
    agent: AgentProcess
    dsn: str
    port: int               # the console's

    def alerts(self, *args: str) -> Any:
        """`lifeline alerts CONFIG ARGS...` as the operator runs it (English locale)."""
        return run_lifeline("alerts", self.agent.config, *args,
                            env={DSN_ENV: self.dsn, "LC_ALL": "C.UTF-8"})

    def firing(self, device_id: str) -> dict[str, Any] | None:
        """The node's own firing alert of `device_id`, as its status.json says it."""
        alerts = (self.agent.status() or {}).get("alerts", {}).get("alerts", {})
        return next((a for a in alerts.get("firing", [])
                     if a["device_id"] == device_id), None)

    def http(self, method: str, path: str, *, body: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body,
                         headers={USER_HEADER: "kim", **(headers or {})})
            answer = conn.getresponse()
            return (answer.status, {k.lower(): v for k, v in answer.getheaders()},
                    answer.read().decode("utf-8", "replace"))
        finally:
            conn.close()


def _devices(port: int) -> str:
    poll = (f"poll: {{protocol: tcp, address: \"127.0.0.1:{port}\", interval: 1s,"
            " timeout: 500ms, retries: 0}")
    return "".join(f"  - {{id: {name}, name: Door {name}, category: switch, site: hall,"
                   f" {poll}}}\n" for name in ("door-1", "door-2"))


@pytest.fixture(scope="module")
def node(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Node]:
    dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dead.bind(("127.0.0.1", 0))         # bound, never listening: every poll is refused
    dsn = f"{postgres.new_database()} password={PASSWORD}"
    port = free_tcp_port()
    try:
        with running_webhook() as hook:
            top = (f"cluster: {{dsn_env: {DSN_ENV}, node: n1, lease: 6s, renew: 1s}}\n"
                   f"console: {{proxy_user_header: {USER_HEADER}, read_only: false}}\n"
                   "alerts:\n  thresholds: {outage_polls: 2}\n"
                   f"  channels: [{{name: hook, type: webhook, url: \"{hook.url()}\","
                   " group_wait: 0s, group_interval: 0s}]\n"
                   "  routes: [{match: {}, channels: [hook]}]\n")
            config = agent_config(tmp_path_factory.mktemp("operator"),
                                  _devices(dead.getsockname()[1]), top_extra=top,
                                  agent_extra=f"  http_listen: 127.0.0.1:{port}\n")
            agent = AgentProcess(config, env={DSN_ENV: dsn}).start()
            found = Node(agent, dsn, port)
            try:
                for device in ("door-1", "door-2"):
                    agent.wait_for(f"{device} firing", lambda d=device: found.firing(d))
                yield found
            finally:
                agent.stop(signal.SIGTERM)
    finally:
        dead.close()


def test_alerts_list_and_history_show_what_the_node_fires(node: Node) -> None:
    listed = node.alerts("list")
    assert listed.returncode == 0, listed.stderr
    assert fingerprint("device_down", "door-1") in listed.stdout, listed.stdout
    history = node.alerts("history", "--format", "json")
    assert history.returncode == 0, history.stderr
    devices = {d["device_id"] for d in json.loads(history.stdout)["devices"]}
    assert {"door-1", "door-2"} <= devices          # the shared outage history


def test_a_silence_from_the_command_line_reaches_the_node(node: Node) -> None:
    silenced = node.alerts("silence", "device_id=door-1",
                             "--for", "1h", "--reason", "maintenance", "--author", "lee")
    assert silenced.returncode == 0, silenced.stderr
    # The node reads silences from the cluster's database on each tick: its own state
    # says the alert is silenced (no repeat, no notice while the silence lasts).
    alert = node.agent.wait_for("door-1 silenced on the node",
                                lambda: (node.firing("door-1") or {}).get("silenced"))
    assert alert is True
    rows = query(node.dsn, "SELECT author, reason FROM silences")
    assert rows == [("lee", "maintenance")]


def test_the_console_shows_the_cluster_alerts_and_its_ack_reaches_the_command(
        node: Node) -> None:
    status, headers, text = node.http("GET", "/api/v1/alerts")
    assert status == 200, text
    alert_id = fingerprint("device_down", "door-2")
    assert alert_id in {a["id"] for a in json.loads(text)["alerts"]}, text
    status, _, page = node.http("GET", "/alerts?lang=en")
    assert status == 200 and "door-2" in page
    token = headers["set-cookie"].split("ll_csrf=", 1)[1].split(";", 1)[0]
    status, _, text = node.http(
        "POST", f"/api/v1/alerts/{alert_id}/ack", body=json.dumps({"comment": "on site"}),
        headers={"Cookie": f"ll_csrf={token}", "X-CSRF-Token": token,
                 "Content-Type": "application/json"})
    assert status == 200, text
    listed = node.alerts("list")
    line = next(x for x in listed.stdout.splitlines() if alert_id in x)
    assert "acked by kim: on site" in line, listed.stdout


def test_a_database_refusing_connections_is_one_line_without_the_dsn(node: Node) -> None:
    database = node.dsn.split("dbname=", 1)[1].split()[0]
    admin = node.dsn.replace(f"dbname={database}", "dbname=postgres")
    _allow_connections(admin, database, False)
    try:    # the node's open connections go on; every new one is refused
        for args in (("list",), ("ack", fingerprint("device_down", "door-1"))):
            out = node.alerts(*args)
            assert out.returncode == 2, (args, out.stdout, out.stderr)
            assert len(out.stderr.strip().splitlines()) == 1, out.stderr
            assert out.stderr.startswith(
                f"lifeline alerts: cannot use the cluster's PostgreSQL (DSN from "
                f"environment variable {DSN_ENV}): PostgreSQL: "), out.stderr
            assert PASSWORD not in out.stderr and node.dsn not in out.stderr
        status, _, text = node.http("GET", "/api/v1/alerts")
        assert status == 503 and "cannot use the cluster's PostgreSQL" in text, text
        status, _, page = node.http("GET", "/alerts")       # Korean by default
        assert status == 503 and "경보 저장소" in page, page
        for answer in (text, page):
            assert PASSWORD not in answer and node.dsn not in answer
    finally:
        _allow_connections(admin, database, True)


def _allow_connections(admin_dsn: str, database: str, allow: bool) -> None:
    with closing(psycopg.connect(admin_dsn, autocommit=True)) as conn:
        conn.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allow).lower()}')


def test_without_a_node_reading_creates_nothing_and_a_silence_lands_in_the_database(
        pg_dsn: str, tmp_path: Path) -> None:
    config = agent_config(tmp_path, "  - {id: sw-1, name: Switch, category: switch}\n",
                          top_extra=f"cluster: {{dsn_env: {DSN_ENV}, node: n1}}\n")
    env = {DSN_ENV: pg_dsn}
    listed = run_lifeline("alerts", config, "list", "--lang", "en", env=env)
    assert listed.returncode == 0 and "no alerts firing or pending" in listed.stdout
    assert query(pg_dsn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") \
        == [(0,)]                                    # reading made no table
    silenced = run_lifeline("alerts", config, "silence", "site=hall", "--for", "2h",
                            "--reason", "works", env=env)
    assert silenced.returncode == 0, silenced.stderr
    assert query(pg_dsn, "SELECT matchers FROM silences") == [('["site=hall"]',)]
    assert not (tmp_path / "var" / "alerts.db").exists()


def test_a_dsn_that_is_not_set_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = agent_config(tmp_path, "  - {id: sw-1, name: Switch, category: switch}\n",
                          top_extra="cluster: {dsn_env: LL_TEST_PG_DSN_UNSET, node: n1}\n")
    out = run_lifeline("alerts", config, "list", "--lang", "en")
    assert out.returncode == 2, out.stdout
    assert out.stderr.strip() == (
        "lifeline alerts: cannot use the cluster's PostgreSQL (DSN from environment "
        "variable LL_TEST_PG_DSN_UNSET): environment variable LL_TEST_PG_DSN_UNSET is not set")

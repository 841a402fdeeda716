"""A full disk under a running agent (issue 12, item 5): the state_dir is a small tmpfs,
filled with a file while `lifeline run` polls. /healthz stops answering ok and names what
cannot be written, with the error; the log says it once per kind (not a traceback per
poll per device); when the filler is deleted, the next writes go through and health is
ok again. With the embedded store and with InfluxDB (whose disk spool is what fills).
"""
from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from kits.mounts import fill, tmpfs
from peers.agent import AgentProcess, agent_config, snmp_devices_yaml
from peers.ports import free_tcp_port

pytestmark = pytest.mark.peer

# InfluxDB at a port where nothing listens: every point waits in the spool on disk.
INFLUX = ("storage:\n  influxdb: {{url: \"http://127.0.0.1:{port}\", org: o, bucket: b, "
          "token_env: LL_TEST_TOKEN, flush_interval: 1s}}\n")


def healthz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(("storage", "sink_kind"), [("embedded", "metric store"),
                                                    ("influxdb", "spool")])
def test_a_full_state_dir_is_unhealthy_logged_once_and_recovers(
        tmp_path: Path, storage: str, sink_kind: str) -> None:
    port = free_tcp_port()
    top = INFLUX.format(port=free_tcp_port()) if storage == "influxdb" else ""
    # Two devices that never answer: a point per poll each, and alert state written on
    # every poll (their outage counts, then the device_down alerts).
    config = agent_config(tmp_path, snmp_devices_yaml("127.0.0.1:9", 2, prefix="dead"),
                          agent_extra=f"  http_listen: 127.0.0.1:{port}\n", top_extra=top)
    with tmpfs(tmp_path / "var", "8m") as state_dir:
        agent = AgentProcess(config, env={"LL_TEST_TOKEN": "t0ken"}).start()
        try:
            agent.wait_polls("dead-1", 4)
            agent.wait_for("health ok", lambda: healthz(port)[0] == 200)
            filler = fill(state_dir)
            filled = time.monotonic()
            expected = {sink_kind, "alert state", "status file"}

            def all_failing_a_few_times() -> dict[str, Any] | None:
                code, body = healthz(port)
                counts = {f["kind"]: f["failures"] for f in body.get("failing", [])}
                if code == 503 and expected <= set(counts) and min(counts.values()) >= 3:
                    return body
                return None
            body = agent.wait_for(f"{sorted(expected)} failing in /healthz",
                                  all_failing_a_few_times)
            assert body["status"] == "unhealthy"
            for failing in body["failing"]:
                assert str(state_dir) in failing["error"], failing
                assert any(failing["kind"] in p and failing["error"] in p
                           for p in body["problems"]), body
            log = agent.log()
            assert "Traceback" not in log
            # Said once per kind and then once a minute at most, though each failed
            # several times on polls of two devices.
            minutes = int((time.monotonic() - filled) // 60)
            for kind in expected:
                assert 1 <= log.count(f"cannot write the {kind}: ") <= 1 + minutes, (kind, log)

            filler.unlink()
            agent.wait_for("health ok again", lambda: healthz(port)[0] == 200)
            assert healthz(port)[1]["failing"] == []
            log = agent.log()
            for kind in expected:
                assert f"writing the {kind} again, after " in log, (kind, log)
            assert "Traceback" not in log
            polls = agent.wait_polls("dead-1", 1)["polls"]
            agent.wait_polls("dead-1", polls + 2)       # the status file is written again
        finally:
            code = agent.stop(signal.SIGTERM)
        assert code == 0, agent.log()

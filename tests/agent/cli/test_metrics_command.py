"""`lifeline metrics`: the embedded store read back through the real command."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from agent.sinks.spool import Spool
from agent.sinks.store import EmbeddedStore
from collectors.base import Sample

from tests.conftest import run_lifeline

DEVICES = """
devices:
  - {id: bb-sw-1, name: Backbone 1, category: backbone_switch, site: hall}
  - {id: ups-1, name: UPS, category: ups, site: hall}
"""


def config(write, tmp_path: Path, storage: str = "") -> Path:
    return write("lifeline.yaml", f"agent: {{state_dir: {tmp_path / 'var'}}}\n{storage}{DEVICES}")


def fill(tmp_path: Path, now: datetime) -> None:
    store = EmbeddedStore(tmp_path / "var" / "metrics.sqlite3", prune_every=None)
    common = {"device_id": "bb-sw-1", "site": "hall", "category": "backbone_switch",
              "agent_host": "127.0.0.1:161", "hostname": "bbsw1"}
    store.write([
        Sample("interface", {**common, "ifName": "Gi0/1", "ifIndex": "1"},
               {"ifHCInOctets": 1000, "ifOperStatus": 1}, now - timedelta(minutes=5)),
        Sample("interface", {**common, "ifName": "Gi0/1", "ifIndex": "1"},
               {"ifHCInOctets": 2000, "ifOperStatus": 2}, now - timedelta(minutes=4)),
        Sample("lifeline_poll", common, {"up": 1, "duration_seconds": 0.0123, "result_code": 0},
               now - timedelta(minutes=4)),
        Sample("lifeline_poll", common, {"up": 1, "duration_seconds": 0.5, "result_code": 0},
               now - timedelta(hours=3)),
        Sample("ups", {"device_id": "ups-1"}, {"charge": 97}, now)])
    store.close()


def test_table_shows_series_in_seoul_time_with_the_tags_that_differ(write, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    path = config(write, tmp_path)
    fill(tmp_path, now)
    result = run_lifeline("metrics", path, "--device", "bb-sw-1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TIME", "MEASUREMENT", "TAGS", "FIELDS"]
    seoul = (now - timedelta(minutes=5)).astimezone(timezone(timedelta(hours=9)))
    assert lines[2].split() == [*seoul.strftime("%Y-%m-%d %H:%M:%S").split(), "interface",
                                "ifIndex=1", "ifName=Gi0/1", "ifHCInOctets=1000",
                                "ifOperStatus=1"]
    assert lines[4].split()[2:] == ["lifeline_poll", "duration_seconds=0.0123", "result_code=0",
                                    "up=1"]
    assert len(lines) == 5                      # the 3-hour-old point is outside --since 1h
    assert "bbsw1" not in result.stdout         # device-wide tags left out


def test_json_with_measurement_and_since(write, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    path = config(write, tmp_path)
    fill(tmp_path, now)
    result = run_lifeline("metrics", path, "--device", "bb-sw-1", "--measurement",
                          "lifeline_poll", "--since", "1d", "--format", "json")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["fields"]["duration_seconds"] for r in records] == [0.5, 0.0123]
    assert records[0]["time"].endswith("+09:00")
    assert records[0]["tags"]["hostname"] == "bbsw1"


def test_unknown_device_and_bad_since_exit_1(write, tmp_path):
    path = config(write, tmp_path)
    unknown = run_lifeline("metrics", path, "--device", "nope")
    assert unknown.returncode == 1 and "unknown device 'nope'" in unknown.stderr
    bad = run_lifeline("metrics", path, "--device", "ups-1", "--since", "yesterday")
    assert bad.returncode == 1 and "--since" in bad.stderr


def test_no_store_yet_is_not_an_error(write, tmp_path):
    result = run_lifeline("metrics", config(write, tmp_path), "--device", "ups-1")
    assert result.returncode == 0
    assert result.stdout == "" and "not created yet" in result.stderr


def test_with_influxdb_it_says_where_the_points_are_and_what_waits(write, tmp_path):
    path = config(write, tmp_path, "storage:\n  influxdb: {url: 'http://127.0.0.1:9', "
                                   "org: district, bucket: infra}\n")
    spool = Spool(tmp_path / "var" / "spool", 10**6)
    spool.append([b"m v=1i 1", b"m v=2i 2"])
    spool.close()
    result = run_lifeline("metrics", path, "--device", "ups-1")
    assert result.returncode == 0, result.stderr
    assert "InfluxDB at http://127.0.0.1:9" in result.stdout and "'infra'" in result.stdout
    assert "2 points" in result.stdout

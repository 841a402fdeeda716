"""The InfluxDB sink's v1 write API (`/write?db=&rp=`) against Debian's real InfluxDB 1.x
(authentication on) and against VictoriaMetrics: points arrive in the database and
retention policy asked for, once, through an outage; a wrong password is a configuration
error reported once and never shown; a field whose type changes is refused by InfluxDB
and only that point is dropped."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.sinks.influx import InfluxSink, RetryPolicy
from agent.sinks.spool import Spool
from collectors.base import Sample
from config.model import InfluxSettings, SecretRef

from kits.waiting import eventually
from peers.influxdb1 import InfluxDB1
from peers.victoria import Victoria, point_count

pytestmark = pytest.mark.peer
FAST = RetryPolicy(initial=0.05, maximum=0.2, config_error=0.1)
BASE = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
WRITER, PASSWORD = "ll-writer", "v1-Pass-Word-77"


@pytest.fixture
def influx(tmp_path: Path) -> Iterator[InfluxDB1]:
    """An InfluxDB 1.x of this test's own, authentication on, with a database `infra`,
    a retention policy `week` and a user who may write to it."""
    try:
        peer = InfluxDB1.start(tmp_path / "influxdb", auth=True)
    except (OSError, RuntimeError) as exc:
        pytest.fail(f"cannot start influxd (run tests/setup.sh): {exc}")
    peer.create_database("infra", retention="week")
    peer.create_user(WRITER, PASSWORD, write_on="infra")
    yield peer
    peer.stop()


def ups(device: str, start: int, count: int, **fields: float) -> list[Sample]:
    return [Sample("ups", {"device_id": device, "site": "district hall"},
                   {"battery_charge": i, "on_battery": i % 2 == 0, **fields},
                   BASE + timedelta(milliseconds=i)) for i in range(start, start + count)]


def v1_sink(url: str, spool: Path, *, password: SecretRef | None, username: str = WRITER,
            retention_policy: str = "week", batch_size: int = 100) -> InfluxSink:
    settings = InfluxSettings(url=url, api="v1", database="infra",
                              retention_policy=retention_policy, username=username,
                              password=password, batch_size=batch_size, flush_interval=0.05)
    return InfluxSink(settings, Spool(spool, 10**8), retry=FAST)


def charges(peer: InfluxDB1, device: str, policy: str = "week") -> list[int]:
    rows = peer.rows(f'SELECT "battery_charge" FROM "{policy}"."ups" '
                     f"WHERE \"device_id\" = '{device}'", "infra")
    return [row["battery_charge"] for row in rows]


def test_points_arrive_in_the_database_and_retention_policy_with_their_types(
        influx, tmp_path, monkeypatch):
    monkeypatch.setenv("LL_TEST_INFLUX_PASSWORD", PASSWORD)
    sink = v1_sink(influx.url, tmp_path / "spool",
                   password=SecretRef(env="LL_TEST_INFLUX_PASSWORD"))
    sink.write(ups("ups-a", 0, 250, output_load=0.25))
    eventually(lambda: len(charges(influx, "ups-a")) == 250, "250 points in infra.week")
    sink.close()
    assert charges(influx, "ups-a") == list(range(250))
    assert not influx.rows('SELECT * FROM "autogen"."ups"', "infra")   # rp= was honoured
    keys = influx.rows('SHOW FIELD KEYS FROM "week"."ups"', "infra")
    assert {(k["fieldKey"], k["fieldType"]) for k in keys} == {
        ("battery_charge", "integer"), ("on_battery", "boolean"), ("output_load", "float")}
    [row] = influx.rows('SELECT * FROM "week"."ups" WHERE "battery_charge" = 3', "infra")
    assert (row["site"], row["on_battery"], row["output_load"]) == ("district hall", False,
                                                                   0.25)
    assert row["time"] == int(BASE.timestamp() * 1000) + 3
    stats = sink.stats()
    assert (stats.points_written, stats.points_pending, stats.write_errors) == (250, 0, 0)


def test_a_wrong_password_is_reported_once_never_shown_and_fixing_the_file_delivers(
        influx, tmp_path, caplog):
    secret = tmp_path / "influx.password"
    secret.write_text("Not-The-Password-3\n")
    sink = v1_sink(influx.url, tmp_path / "spool", password=SecretRef(file=secret))
    with caplog.at_level(logging.INFO, logger="lifeline.sinks.influx"):
        sink.write(ups("ups-b", 0, 5))
        eventually(lambda: sink.stats().write_errors >= 3, "three refused attempts")
        stats = sink.stats()
        assert (stats.points_pending, stats.points_written) == (5, 0)
        assert (stats.last_error or "").startswith("HTTP 401")
        secret.write_text(PASSWORD + "\n")          # the operator fixes it; no restart
        eventually(lambda: len(charges(influx, "ups-b")) == 5, "the 5 points after the fix")
        sink.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, errors
    assert "401" in errors[0] and "database 'infra'" in errors[0] and "password" in errors[0]
    everything = " ".join(r.getMessage() for r in caplog.records) + str(stats.as_json())
    assert "Not-The-Password" not in everything and PASSWORD not in everything


def test_a_field_that_changes_type_is_refused_alone_and_the_rest_arrives_in_order(
        influx, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("LL_TEST_INFLUX_PASSWORD", PASSWORD)
    sink = v1_sink(influx.url, tmp_path / "spool", batch_size=20,
                   password=SecretRef(env="LL_TEST_INFLUX_PASSWORD"))
    first = ups("ups-c", 0, 5)
    sink.write(first)
    eventually(lambda: len(charges(influx, "ups-c")) == 5, "the first 5 points")
    # battery_charge is stored as integer: a float in the same shard is a type conflict.
    bad = Sample("ups", first[0].tags, {"battery_charge": 5.5}, BASE + timedelta(seconds=1))
    with caplog.at_level(logging.ERROR, logger="lifeline.sinks.influx"):
        sink.write([*ups("ups-c", 5, 7), bad, *ups("ups-c", 12, 8)])
        eventually(lambda: sink.stats().points_rejected == 1 and not sink.stats().points_pending,
                   "the bad point isolated and the rest sent")
        sink.close()
    assert charges(influx, "ups-c") == list(range(20))
    [error] = [r.getMessage() for r in caplog.records if "rejected a point" in r.getMessage()]
    assert "battery_charge=5.5" in error and "HTTP 400" in error


def test_an_outage_loses_nothing_and_writes_nothing_twice(influx, tmp_path, monkeypatch):
    monkeypatch.setenv("LL_TEST_INFLUX_PASSWORD", PASSWORD)
    sink = v1_sink(influx.url, tmp_path / "spool",
                   password=SecretRef(env="LL_TEST_INFLUX_PASSWORD"))
    sink.write(ups("ups-d", 0, 100))
    eventually(lambda: sink.stats().points_written == 100, "the first 100 delivered")
    influx.stop()
    for start in range(100, 400, 100):            # acknowledged while it is down
        sink.write(ups("ups-d", start, 100))
    eventually(lambda: sink.stats().write_errors >= 1, "a refused attempt")
    assert sink.stats().points_pending == 300
    influx.restart()
    eventually(lambda: len(charges(influx, "ups-d")) >= 400, "all 400 points")
    sink.close()
    assert charges(influx, "ups-d") == list(range(400))      # in order, none twice
    assert "cannot reach InfluxDB" in (sink.stats().last_error or "")


def test_a_retention_policy_that_does_not_exist_is_a_configuration_error(
        influx, tmp_path, monkeypatch):
    monkeypatch.setenv("LL_TEST_INFLUX_PASSWORD", PASSWORD)
    sink = v1_sink(influx.url, tmp_path / "spool", retention_policy="forever",
                   password=SecretRef(env="LL_TEST_INFLUX_PASSWORD"))
    sink.write(ups("ups-e", 0, 3))
    eventually(lambda: sink.stats().write_errors >= 2, "two refused attempts")
    sink.close(timeout=0.1)
    stats = sink.stats()
    assert stats.points_pending == 3 and stats.points_rejected == 0
    assert "forever" in (stats.last_error or "")


def test_victoriametrics_takes_the_v1_write_too(tmp_path):
    peer = Victoria.start(tmp_path / "victoria")
    try:
        sink = v1_sink(peer.url, tmp_path / "spool", password=None, username="")
        sink.write(ups("ups-f", 0, 50))
        series = peer.wait_for('{device_id="ups-f"}',
                               lambda s: point_count(s, "ups_battery_charge") >= 50)
        sink.close()
    finally:
        peer.stop()
    assert point_count(series, "ups_battery_charge") == 50
    assert {s.labels.get("db") for s in series} == {"infra"}

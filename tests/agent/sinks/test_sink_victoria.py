"""The InfluxDB sink against VictoriaMetrics: points arrive as written, once, through an
outage, a SIGKILL of the writer, and a spool too small to hold them all."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.sinks.influx import InfluxSink, RetryPolicy
from agent.sinks.spool import Spool
from collectors.base import Sample
from config.model import InfluxSettings

from kits.waiting import eventually
from peers.victoria import Series, Victoria, point_count
from tests.conftest import ROOT

pytestmark = pytest.mark.peer
FAST = RetryPolicy(initial=0.05, maximum=0.2)
BASE = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Victoria]:
    """A VictoriaMetrics of this test's own (so stopping it cannot hurt another test)."""
    try:
        peer = Victoria.start(tmp_path / "victoria")
    except (OSError, RuntimeError) as exc:
        pytest.fail(f"cannot start victoria-metrics (run tests/setup.sh): {exc}")
    yield peer
    peer.stop()


def ups(device: str, start: int, count: int, base: datetime = BASE) -> list[Sample]:
    """UPS points 1 ms apart (VictoriaMetrics keeps milliseconds)."""
    return [Sample("ups", {"device_id": device, "site": "district hall", "category": "ups"},
                   {"battery_charge": i, "on_battery": i % 2 == 0, "output_load": i / 4},
                   base + timedelta(milliseconds=i)) for i in range(start, start + count)]


def sink_for(peer_url: str, spool_dir: Path, max_bytes: int = 10**8,
             batch_size: int = 100) -> InfluxSink:
    settings = InfluxSettings(url=peer_url, org="district", bucket="infra",
                              batch_size=batch_size, flush_interval=0.1)
    return InfluxSink(settings, Spool(spool_dir, max_bytes), retry=FAST)


def timestamps(series: list[Series], name: str) -> Counter[int]:
    return Counter(t for s in series if s.name == name for t in s.timestamps)


def expected_ms(indexes: range | list[int]) -> Counter[int]:
    base = int(BASE.timestamp() * 1000)
    return Counter(base + i for i in indexes)


def arrived(peer: Victoria, device: str, count: int) -> list[Series]:
    """The device's series once `count` charge points show, and once more after a flush
    so that a late duplicate would show too."""
    peer.wait_for(f'{{device_id="{device}"}}',
                  lambda s: point_count(s, "ups_battery_charge") >= count)
    return peer.export(f'{{device_id="{device}"}}')


def test_points_arrive_with_measurement_tags_and_typed_fields(victoria, tmp_path):
    sink = sink_for(victoria.url, tmp_path / "spool")
    sink.write(ups("ups-a", 0, 250))
    series = arrived(victoria, "ups-a", 250)
    sink.close()
    names = {s.name for s in series}
    assert names == {"ups_battery_charge", "ups_on_battery", "ups_output_load"}
    assert all(s.labels == {"device_id": "ups-a", "site": "district hall", "category": "ups"}
               for s in series)
    charge = {t: v for s in series if s.name == "ups_battery_charge"
              for t, v in zip(s.timestamps, s.values, strict=True)}
    load = {t: v for s in series if s.name == "ups_output_load"
            for t, v in zip(s.timestamps, s.values, strict=True)}
    on_battery = {t: v for s in series if s.name == "ups_on_battery"
                  for t, v in zip(s.timestamps, s.values, strict=True)}
    first = int(BASE.timestamp() * 1000)
    assert (charge[first + 7], load[first + 7], on_battery[first + 7]) == (7, 1.75, 0)
    assert on_battery[first + 8] == 1
    assert timestamps(series, "ups_battery_charge") == expected_ms(range(250))
    assert sink.stats().points_written == 250


def test_an_outage_loses_nothing_and_writes_nothing_twice(victoria, tmp_path):
    sink = sink_for(victoria.url, tmp_path / "spool")
    sink.write(ups("ups-b", 0, 300))
    arrived(victoria, "ups-b", 300)
    # The 2xx is in; its cursor update follows.
    eventually(lambda: sink.stats().points_written >= 300, "the cursor past the 300 points")
    victoria.stop()
    for start in range(300, 900, 100):          # acknowledged while it is down
        sink.write(ups("ups-b", start, 100))
    stats = sink.stats()
    assert stats.points_pending == 600 and stats.spool_bytes > 0
    victoria.restart()
    series = arrived(victoria, "ups-b", 900)
    sink.close()
    assert timestamps(series, "ups_battery_charge") == expected_ms(range(900))
    stats = sink.stats()
    assert (stats.points_written, stats.points_pending) == (900, 0)
    assert stats.write_errors >= 1 and "cannot reach InfluxDB" in (stats.last_error or "")


WRITER = """
import sys
from pathlib import Path
sys.path[:0] = [{here!r}, {tests!r}, {root!r}]
from datetime import datetime
from test_sink_victoria import sink_for, ups

sink = sink_for({url!r}, Path({spool!r}))
base = datetime.fromisoformat({base!r})
for n in range(1000):
    sink.write(ups("ups-c", n * 10, 10, base))
    print(n, flush=True)         # acknowledged: write() has returned
"""


def test_points_acknowledged_before_a_sigkill_are_delivered_by_the_next_sink(victoria,
                                                                             tmp_path):
    victoria.stop()                             # down: everything stays in the spool
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(WRITER).format(
        here=str(Path(__file__).parent), tests=str(ROOT / "tests"), root=str(ROOT),
        url=victoria.url, spool=str(tmp_path / "spool"),
        base=BASE.isoformat()))
    writer = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    acknowledged = -1
    assert writer.stdout is not None
    for line in writer.stdout:
        acknowledged = int(line)
        if acknowledged >= 40:
            break
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    assert acknowledged >= 40, "the writer died before writing"
    victoria.restart()
    sink = sink_for(victoria.url, tmp_path / "spool")
    acked = (acknowledged + 1) * 10
    series = arrived(victoria, "ups-c", acked)
    sink.close()
    seen = timestamps(series, "ups_battery_charge")
    assert all(seen[t] == 1 for t in expected_ms(range(acked)))   # every acked one, once
    assert max(seen.values()) == 1                                 # nothing twice
    assert sink.stats().points_pending == 0


def test_a_full_spool_drops_the_oldest_and_counts_them(victoria, tmp_path):
    line = len(b"ups,category=ups,device_id=ups-d,site=district\\ hall "
               b"battery_charge=100i,on_battery=true,output_load=25 1000000000000000000\n")
    victoria.stop()
    sink = sink_for(victoria.url, tmp_path / "spool", max_bytes=40 * line)
    for start in range(100, 200, 10):
        sink.write(ups("ups-d", start, 10))
    stats = sink.stats()
    assert stats.points_pending + stats.points_dropped == 100
    assert stats.points_dropped >= 60 and stats.spool_bytes <= 40 * line
    kept = stats.points_pending
    victoria.restart()
    series = arrived(victoria, "ups-d", kept)
    sink.close()
    assert timestamps(series, "ups_battery_charge") == expected_ms(range(200 - kept, 200))

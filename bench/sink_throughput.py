"""Metric sink throughput: InfluxDB protocol to VictoriaMetrics, the spool, the embedded store.

    .venv/bin/python bench/sink_throughput.py [--points 200000] [--batch-size 5000]

Points are realistic `interface` rows (8 tags, 9 counter/status fields, about 330 bytes of
line protocol), written as the agent does: one `write` per device poll of 25 interfaces.
Measured, each on its own sink and state directory:

1. live: VictoriaMetrics up; from the first write until every point is delivered (2xx);
2. spool: VictoriaMetrics down; the rate at which `write` acknowledges (appends to disk),
   with and without fdatasync per write;
3. replay: VictoriaMetrics started again, then a new sink opened on the spool (as the
   agent does after a restart): from the open (recovery included) until it is empty;
4. embedded store: SQLite inserts, one transaction per poll and one for everything.

Every delivered point is counted back from VictoriaMetrics' export (exactly N each time).
CPU is this process's (VictoriaMetrics' own is not counted). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from agent.sinks.influx import InfluxSink, RetryPolicy  # noqa: E402
from agent.sinks.lineproto import encode_all  # noqa: E402
from agent.sinks.spool import Spool  # noqa: E402
from agent.sinks.store import EmbeddedStore  # noqa: E402
from collectors.base import Sample  # noqa: E402
from config.model import InfluxSettings  # noqa: E402

from peers.victoria import Victoria  # noqa: E402

PER_POLL = 25


def polls(total: int, run: int) -> list[list[Sample]]:
    """`total` interface points as polls of 25; `run` keeps each run's series apart."""
    base = datetime.now(UTC) - timedelta(hours=2)
    out = []
    devices = max(1, total // (PER_POLL * 4))
    for n in range(total // PER_POLL):
        device, poll = n % devices, n // devices
        when = base + timedelta(seconds=60 * poll, milliseconds=device)
        common = {"device_id": f"sw-{run}-{device}", "category": "workgroup_switch",
                  "site": "district-hall", "agent_host": f"10.1.{device // 250}.{device % 250}:161",
                  "hostname": f"sw{device}.district"}
        out.append([Sample("interface", {**common, "ifIndex": str(i), "ifName": f"Gi1/0/{i}",
                                         "ifDescr": f"GigabitEthernet1/0/{i}"},
                           {"ifAdminStatus": 1, "ifOperStatus": 1 if i % 5 else 2,
                            "ifHighSpeed": 1000, "ifHCInOctets": 10**9 * i + poll * 7_500_000,
                            "ifHCOutOctets": 10**9 * i + poll * 2_500_000,
                            "ifInErrors": i % 3, "ifOutErrors": 0, "ifInDiscards": poll,
                            "ifOutDiscards": 0}, when)
                    for i in range(1, PER_POLL + 1)])
    return out


def sink(url: str, spool_dir: Path, batch_size: int, fsync: bool = False) -> InfluxSink:
    settings = InfluxSettings(url=url, org="district", bucket="infra", batch_size=batch_size,
                              flush_interval=1.0, spool_max_bytes=4 << 30)
    return InfluxSink(settings, Spool(spool_dir, 4 << 30, fsync=fsync),
                      retry=RetryPolicy(initial=0.05, maximum=0.2))


def wait(condition: Callable[[], bool], limit: float = 600.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.005)


def counted(peer: Victoria, run: int) -> int:
    series = peer.export(f'{{__name__="interface_ifHCInOctets",device_id=~"sw-{run}-.*"}}')
    return sum(len(s.timestamps) for s in series)


def exported(peer: Victoria, run: int, want: int) -> int:
    deadline = time.monotonic() + 60
    while (got := counted(peer, run)) < want and time.monotonic() < deadline:
        time.sleep(0.5)
    return got


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lifeline-sink-bench-"))
    rows: list[tuple[str, int, float, float, str]] = []
    peer = Victoria.start(work / "vm")
    try:
        data = polls(args.points, 1)
        total = sum(map(len, data))
        line_bytes = sum(len(b) + 1 for b in encode_all(data[0])) / PER_POLL

        started, cpu0 = time.perf_counter(), cpu()
        lines = [encode_all(p) for p in data]
        rows.append(("encode line protocol (no I/O)", total, time.perf_counter() - started,
                     cpu() - cpu0, f"{line_bytes:.0f} bytes a point"))
        del lines

        live = sink(peer.url, work / "live", args.batch_size)
        started, cpu0 = time.perf_counter(), cpu()
        for poll in data:
            live.write(poll)
        acked = time.perf_counter() - started
        wait(lambda: live.stats().points_written == total)
        elapsed, used = time.perf_counter() - started, cpu() - cpu0
        live.close()
        rows.append(("live to VictoriaMetrics (write until all 2xx)", total, elapsed, used,
                     f"writes acknowledged in {acked:.2f} s; exported back: "
                     f"{exported(peer, 1, total)}"))

        data = polls(args.points, 2)
        peer.stop()
        for fsync in (True, False):
            spooled = sink(peer.url, work / f"spool-{fsync}", args.batch_size, fsync=fsync)
            started, cpu0 = time.perf_counter(), cpu()
            for poll in data:
                spooled.write(poll)
            elapsed, used = time.perf_counter() - started, cpu() - cpu0
            stats = spooled.stats()
            label = "fdatasync every write" if fsync else "page cache, synced each flush"
            rows.append((f"spool while down ({label})", total, elapsed, used,
                         f"{stats.spool_bytes / 2**20:.1f} MiB pending"))
            spooled.close(timeout=0.1)
        shutil.rmtree(work / "spool-True")

        peer.restart()
        started, cpu0 = time.perf_counter(), cpu()
        replay = sink(peer.url, work / "spool-False", args.batch_size)   # recovery included
        opened = time.perf_counter() - started
        wait(lambda: replay.stats().points_pending == 0)
        elapsed, used = time.perf_counter() - started, cpu() - cpu0
        replay.close()
        rows.append(("replay: new sink on the spool, until empty", total, elapsed, used,
                     f"recovery at open {opened:.2f} s; exported back: "
                     f"{exported(peer, 2, total)}"))
    finally:
        peer.stop()

    data = polls(args.points, 3)
    store = EmbeddedStore(work / "per-poll.sqlite3", prune_every=None)
    started, cpu0 = time.perf_counter(), cpu()
    for poll in data:
        store.write(poll)
    rows.append(("embedded store, one transaction per poll", total,
                 time.perf_counter() - started, cpu() - cpu0,
                 f"{os.path.getsize(store.path) / 2**20:.1f} MiB + WAL"))
    store.close()
    store = EmbeddedStore(work / "bulk.sqlite3", prune_every=None)
    flat = [s for poll in data for s in poll]
    started, cpu0 = time.perf_counter(), cpu()
    store.write(flat)
    rows.append(("embedded store, one transaction", total, time.perf_counter() - started,
                 cpu() - cpu0, ""))
    store.close()
    shutil.rmtree(work)

    print("| what | points | wall s | points/s | CPU s | notes |\n|---|---|---|---|---|---|")
    for what, count, elapsed, used, notes in rows:
        print(f"| {what} | {count} | {elapsed:.2f} | {count / elapsed:,.0f} | {used:.2f} | "
              f"{notes} |")


if __name__ == "__main__":
    main()

"""The path from a finished poll's samples to disk (issue 18): SinkWriter + the sink, in CPU.

    .venv/bin/python bench/writer_path.py [--devices 3000] [--rate 167] [--seconds 20]
                                          [--history 30] [--repeat 3] [--sink store|spool]
                                          [--agent-root DIR] [--write]

The real `agent.writer.SinkWriter` over the real sink in a temporary directory: the
embedded SQLite store (`store`, the default) or the InfluxDB sink's spool with InfluxDB
down (`spool`: a closed port, so every point waits on disk). Polls arrive the way
agent/polling.py hands them over: one task per poll, `await writer.write(device_id,
samples)`, many in flight at once, at `--rate` polls a second (167 = 10,000 switches a
minute). A switch poll is 6 samples, as the switch profile makes them: `lifeline_poll`
(int and float fields), `snmp` (uptime), and 4 `interface` rows (ifIndex, ifName,
ifDescr tags; 9 counter and status fields), all with the device's tags; new dicts and
tag strings each poll, as the collector decodes them. The samples are built before the
clock starts: only the hand-over and the write are measured.

The store is first filled with `--history` points of every series (a minute apart), so a
new point lands where it would in a store that has run for a while: at the end of its
series, on a page of its own, not packed beside its neighbours in a fresh file.

Measured per repetition, in CPU time (never wall time: the machine is shared), divided by
the polls acknowledged: the whole process (getrusage user+system), the loop thread
(`time.thread_time` on it) and the writer thread (its CPU clock, `pthread_getcpuclockid`).
`harness` is the loop's cost per poll with the write left out (a task per poll and the
pacing): subtract it from the loop's figure for what the hand-over costs.

`--agent-root DIR` imports the agent from another checkout (`git archive REV | tar -x -C
DIR`), for a before/after in one session.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PER_POLL = 6
INTERFACES = 4


@dataclass(frozen=True, slots=True)
class Cpu:
    """CPU seconds so far: the process, the loop thread, the writer thread."""

    process: float
    loop: float
    writer: float

    @staticmethod
    def now(writer_thread: threading.Thread | None) -> Cpu:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        writer = 0.0
        if writer_thread is not None and writer_thread.ident is not None:
            writer = time.clock_gettime(time.pthread_getcpuclockid(writer_thread.ident))
        return Cpu(usage.ru_utime + usage.ru_stime, time.thread_time(), writer)


class Devices:
    """Switches whose polls make samples like the switch profile's."""

    def __init__(self, count: int, sample: Any) -> None:
        self.sample = sample
        self.common = [{"device_id": f"sw-{n:05d}", "category": "switch",
                        "site": f"site-{n % 40}",
                        "agent_host": f"10.{n // 250 % 250}.{n % 250}.7:161",
                        "hostname": f"sw{n:05d}.district.example"} for n in range(count)]

    def poll(self, device: int, when: datetime, round_: int) -> list[Any]:
        base = self.common[device]
        sample = self.sample
        out = [sample("lifeline_poll", dict(base),
                      {"up": 1, "duration_seconds": 0.004 + (device % 97) / 10_000,
                       "result_code": 0}, when),
               sample("snmp", dict(base), {"uptime": 360_000 + round_ * 6000 + device}, when)]
        for i in range(1, INTERFACES + 1):
            # f-strings: new tag strings every poll, as the collector decodes them.
            tags = {**base, "ifIndex": f"{i}", "ifName": f"Gi1/0/{i}",
                    "ifDescr": f"GigabitEthernet1/0/{i}"}
            octets = (round_ + 1) * 1_000_003 * i + device
            out.append(sample("interface", tags, {
                "ifAdminStatus": 1, "ifOperStatus": 1 if i % 3 else 2, "ifHighSpeed": 1000,
                "ifHCInOctets": octets, "ifHCOutOctets": octets // 3,
                "ifInErrors": round_ % 7, "ifOutErrors": 0, "ifInDiscards": round_ % 3,
                "ifOutDiscards": 0}, when))
        return out


@dataclass
class Schedule:
    """Where each device is in its rounds: the k-th poll of a device is k minutes on."""

    devices: Devices
    start: datetime
    round_: int = 0
    next_device: int = 0

    def take(self, count: int) -> list[tuple[str, list[Any]]]:
        polls = []
        for _ in range(count):
            n = self.next_device
            when = self.start + timedelta(minutes=self.round_, milliseconds=n)
            polls.append((self.devices.common[n]["device_id"],
                          self.devices.poll(n, when, self.round_)))
            self.next_device += 1
            if self.next_device == len(self.devices.common):
                self.next_device, self.round_ = 0, self.round_ + 1
        return polls


async def drive(writer: Any, polls: list[tuple[str, list[Any]]], rate: float) -> int:
    """Hand the polls over at `rate` a second, a task each, as the scheduler starts them;
    returns how many were acknowledged."""
    acknowledged = 0

    async def one(device_id: str, samples: list[Any]) -> None:
        nonlocal acknowledged
        if writer is not None:
            await writer.write(device_id, samples)
        acknowledged += 1

    loop = asyncio.get_running_loop()
    tasks = []
    started = loop.time()
    tick = 0.005
    sent = 0
    while sent < len(polls):
        due = min(len(polls), int((loop.time() - started) * rate) + 1)
        for device_id, samples in polls[sent:due]:
            tasks.append(asyncio.create_task(one(device_id, samples)))
        sent = due
        await asyncio.sleep(tick)
    await asyncio.gather(*tasks)
    return acknowledged


def open_sink(kind: str, state: Path, modules: Any) -> Any:
    if kind == "store":
        return modules.EmbeddedStore(state / "metrics.sqlite3", prune_every=None)
    # Port 9 (discard) refuses: InfluxDB is down, every point waits in the spool.
    settings = modules.InfluxSettings(url="http://127.0.0.1:9", org="o", bucket="b",
                                      spool_max_bytes=1 << 30)
    spool = modules.Spool(state / "spool", settings.spool_max_bytes)
    return modules.InfluxSink(settings, spool)


class Modules:
    """The agent's classes, imported from `root`."""

    def __init__(self, root: Path) -> None:
        sys.path[:0] = [str(root)]
        from agent.sinks.influx import InfluxSink
        from agent.sinks.spool import Spool
        from agent.sinks.store import EmbeddedStore
        from agent.writer import SinkWriter
        from collectors.base import Sample
        from config.model import InfluxSettings
        self.EmbeddedStore, self.InfluxSink, self.Spool = EmbeddedStore, InfluxSink, Spool
        self.SinkWriter, self.Sample, self.InfluxSettings = SinkWriter, Sample, InfluxSettings


def fill_history(sink: Any, schedule: Schedule, rounds: int) -> None:
    """`rounds` polls of every device, a minute apart, written in large batches."""
    total = rounds * len(schedule.devices.common)
    for start in range(0, total, 2000):
        batch = schedule.take(min(2000, total - start))
        sink.write([s for _, samples in batch for s in samples])


def measure(modules: Modules, sink: Any, schedule: Schedule, rate: float,
            seconds: float) -> dict[str, float]:
    polls = schedule.take(int(rate * seconds))
    writer = modules.SinkWriter(sink) if sink is not None else None

    async def main() -> tuple[Cpu, Cpu, int]:
        if writer is not None:      # start its thread before the clock does
            await writer.write("warm-up", [])
        thread = getattr(writer, "_thread", None)
        before = Cpu.now(thread)
        done = await drive(writer, polls, rate)
        after = Cpu.now(thread)
        if writer is not None:
            # The writer closes the sink too: it is shared between repetitions, so only
            # its thread is stopped here.
            writer._sink = None
            await writer.close()
        return before, after, done

    gc.collect()
    before, after, done = asyncio.run(main())
    per_poll = 1000 / done
    return {"polls": done, "process_ms": (after.process - before.process) * per_poll,
            "loop_ms": (after.loop - before.loop) * per_poll,
            "writer_ms": (after.writer - before.writer) * per_poll}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=167.0, help="polls a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="per repetition")
    parser.add_argument("--history", type=int, default=30, help="points per series first")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sink", choices=("store", "spool"), default="store")
    parser.add_argument("--agent-root", type=Path, default=ROOT)
    args = parser.parse_args()

    modules = Modules(args.agent_root.resolve())
    devices = Devices(args.devices, modules.Sample)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    schedule = Schedule(devices, start)
    with tempfile.TemporaryDirectory(prefix="lifeline-writer-bench-") as tmp:
        sink = open_sink(args.sink, Path(tmp), modules)
        began = time.monotonic()
        if args.sink == "store":
            fill_history(sink, schedule, args.history)
        filled = time.monotonic() - began
        print(f"{args.sink}: {args.devices} devices x {PER_POLL} series, {args.history} "
              f"points each before (filled in {filled:.1f} s); {args.rate:g} polls/s for "
              f"{args.seconds:g} s a repetition; agent from {args.agent_root}")
        harness = measure(modules, None, schedule, args.rate, min(args.seconds, 10.0))
        print(f"harness (no write): loop {harness['loop_ms']:.3f} ms/poll")
        rows = [measure(modules, sink, schedule, args.rate, args.seconds)
                for _ in range(args.repeat)]
        sink.close(0.1)
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    print("| rep | polls | process ms/poll | loop ms/poll | writer ms/poll |")
    print("|---|---|---|---|---|")
    for n, row in enumerate(rows, 1):
        print(f"| {n} | {row['polls']:.0f} | {row['process_ms']:.3f} | {row['loop_ms']:.3f} "
              f"| {row['writer_ms']:.3f} |")
    for key in ("process_ms", "loop_ms", "writer_ms"):
        values = [r[key] for r in rows]
        print(f"{key}: {min(values):.3f}-{max(values):.3f}")
    print(f"files at the end: {size / 2**20:.0f} MiB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

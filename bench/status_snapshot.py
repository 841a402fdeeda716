"""The status snapshot at scale (issue 18): what `StatusReporter.refresh` costs the loop.

    .venv/bin/python bench/status_snapshot.py [--devices 10000,30000] [--snapshots 12]
                                              [--repeat 3] [--agent-root DIR]

No peer and no network: the real `DeviceStates`, `StatusReporter` and status file (in a
temporary state_dir), fed switch polls as the poll runner records them (identity, facts,
a timeout now and then). Every device is polled once, then between two snapshots one
device in twelve is polled again and its next run moves on: 10,000 devices a minute with
a snapshot every 5 s. The reporter's other parts (scheduler, runner, sink, alerts) are
stand-ins with the same methods, so what is measured is the snapshot alone.

Per snapshot, median and worst over `--snapshots` snapshots, each figure as the range
over `--repeat` runs:
- loop CPU: thread CPU time of `refresh()` on the calling thread (the loop thread);
- total CPU: process CPU time from `refresh()` until the file is written (any thread);
- loop stall: the longest the event loop could not run a 1 ms heartbeat while the
  snapshot was taken and written (wall time: the refresh itself, and a writing thread
  holding the GIL), on this shared machine an upper bound;
- held: tracemalloc bytes per device held by the device states, the reporter and its
  encoder's cache after the snapshots (what is freed when they are dropped), and the
  transient peak of one snapshot and write.

`--agent-root DIR` runs another checkout's code (e.g. `git archive` of an older commit
unpacked in DIR) for a before/after in one session.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
ZONE = ZoneInfo("Asia/Seoul")
INTERVAL = 60.0
CHANGED_EVERY = 12              # 5 s snapshots at a 60 s interval
HEARTBEAT = 0.001

# What switches say of themselves: the same few texts across a district's switches (new
# objects at every poll, as decoding makes them), the name and serial their own.
DESCR = (b"Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4, "
         b"RELEASE SOFTWARE (fc2)")
OBJECT_ID = b"1.3.6.1.4.1.9.1.1208"
MODEL = b"WS-C2960X-48FPD-L"


def _import_agent(root: Path) -> None:
    sys.path.insert(0, str(root))


class Scheduler:
    """The JobScheduler's methods the reporter calls: `next_runs()` a new dict each time."""

    def __init__(self, devices: list[str], now: datetime) -> None:
        self.jobs = dict.fromkeys(devices)
        self.runs = {d: now + timedelta(seconds=i * INTERVAL / len(devices))
                     for i, d in enumerate(devices)}

    def next_runs(self) -> dict[str, datetime]:
        return dict(self.runs)

    def clock_jumps(self) -> Any:
        from agent.status import ClockJumps
        return ClockJumps()


@dataclass
class Parts:
    states: Any
    reporter: Any
    scheduler: Scheduler
    devices: list[str]
    state_dir: Path


def build(count: int, state_dir: Path) -> Parts:
    from agent.device_states import DeviceStates
    from agent.lateness import Lateness
    from agent.polling import StartLag
    from agent.reporter import StatusReporter
    from agent.schedule import PollJob
    from agent.sinks.base import SinkStats
    from agent.write_failures import WriteFailures
    from alerts.model import AlertStatus

    now = datetime.now(ZONE)
    devices = [f"sw-{i:05d}" for i in range(count)]
    states = DeviceStates()
    states.adopt({d: PollJob(d, INTERVAL) for d in devices}, dict.fromkeys(devices, "snmp"))
    scheduler = Scheduler(devices, now)
    lag = StartLag()
    for i in range(4096):
        lag.add(0.001 + (i % 97) / 1000)
    config = SimpleNamespace(agent=SimpleNamespace(name="bench", state_dir=state_dir),
                             path=state_dir / "bench.yaml")
    runner = SimpleNamespace(in_flight=40, start_lag=lag, lateness=Lateness())
    sink = SimpleNamespace(stats=lambda: SinkStats(kind="embedded", points_written=10**7))
    reporter = StatusReporter(
        running=lambda: config, clock=lambda: datetime.now(ZONE), states=states,
        scheduler=scheduler, runner=runner, writer=sink,
        alerts=SimpleNamespace(status=lambda: AlertStatus()),
        reloader=SimpleNamespace(reloads=0, failures=0), failures=WriteFailures(ZONE))
    parts = Parts(states, reporter, scheduler, devices, state_dir)
    poll(parts, devices)
    return parts


def poll(parts: Parts, devices: list[str]) -> None:
    """Each of `devices` polled now, as the runner records it; its next run moves on."""
    from collectors.base import Identity, PollResult, ResultCode, SnmpFacts

    now = datetime.now(ZONE)
    for device_id in devices:
        number = int(device_id[3:])
        if number % 20 == 7:            # one in twenty does not answer
            result = PollResult(device_id=device_id, code=ResultCode.TIMEOUT, started=now,
                                duration=4.0012,
                                error=f"no answer from 10.{number // 250}.{number % 250}.1:161 "
                                      "in 2 s (1 retry)")
        else:
            identity = Identity(sys_descr=DESCR.decode(), sys_object_id=OBJECT_ID.decode(),
                                sys_name=f"{device_id}.school.example.kr",
                                serial=f"FOC{number:08d}", model=MODEL.decode())
            result = PollResult(device_id=device_id, code=ResultCode.SUCCESS, started=now,
                                duration=0.0123 + number % 1000 / 100000, identity=identity,
                                facts=SnmpFacts(requests=3))
        parts.states.record(result)
        parts.scheduler.runs[device_id] = now + timedelta(seconds=INTERVAL)


def wait_written(reporter: Any) -> None:
    """Until the snapshot handed over is on disk (the old reporter wrote it in refresh)."""
    waiting: Callable[[], None] | None = getattr(reporter, "wait_written", None)
    if waiting is not None:
        waiting()


@dataclass
class Snapshot:
    loop_cpu: float
    total_cpu: float
    stall: float


async def one_snapshot(parts: Parts) -> Snapshot:
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    beating = True

    async def heartbeat() -> None:
        last = time.perf_counter()
        while beating:
            await asyncio.sleep(HEARTBEAT)
            now = time.perf_counter()
            gaps.append(now - last - HEARTBEAT)
            last = now

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.01)
    gaps.clear()
    cpu, thread = time.process_time(), time.thread_time()
    parts.reporter.refresh()
    loop_cpu = time.thread_time() - thread
    await loop.run_in_executor(None, wait_written, parts.reporter)
    total_cpu = time.process_time() - cpu
    await asyncio.sleep(0.005)
    beating = False
    await beat
    return Snapshot(loop_cpu, total_cpu, max(gaps, default=0.0))


async def timed(count: int, snapshots: int) -> list[Snapshot]:
    with tempfile.TemporaryDirectory(prefix="lifeline-bench-status-") as tmp:
        parts = build(count, Path(tmp))
        await one_snapshot(parts)                       # the first: every device encoded
        taken = []
        part = count // CHANGED_EVERY
        for k in range(snapshots):
            start = (k * part) % count
            poll(parts, parts.devices[start:start + part])
            taken.append(await one_snapshot(parts))
        check(parts)
        parts.reporter.refresh(final=True)
        return taken


def check(parts: Parts) -> None:
    """The file is the last snapshot, whole."""
    from agent.status import read_status

    status = read_status(parts.state_dir)
    latest = parts.reporter.latest()
    assert status is not None and latest is not None
    assert status.devices == latest.devices and len(status.devices) == len(parts.devices)


async def held(count: int) -> tuple[float, float]:
    """Bytes per device held by the states, the reporter and its cache; the transient
    peak of one snapshot and write, per device."""
    gc.collect()
    tracemalloc.start()
    with tempfile.TemporaryDirectory(prefix="lifeline-bench-status-") as tmp:
        parts = build(count, Path(tmp))
        part = count // CHANGED_EVERY
        for k in range(3):
            poll(parts, parts.devices[k * part:(k + 1) * part])
            parts.reporter.refresh()
            await asyncio.get_running_loop().run_in_executor(None, wait_written, parts.reporter)
        gc.collect()
        holding = tracemalloc.get_traced_memory()[0]
        poll(parts, parts.devices[3 * part:4 * part])
        tracemalloc.reset_peak()
        parts.reporter.refresh()
        await asyncio.get_running_loop().run_in_executor(None, wait_written, parts.reporter)
        peak = tracemalloc.get_traced_memory()[1]
        parts.reporter.refresh(final=True)
        parts.states = parts.reporter = None
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (holding - after) / count, (peak - holding) / count


def _range(values: list[float], scale: float = 1000.0, digits: int = 1) -> str:
    low, high = min(values) * scale, max(values) * scale
    return f"{low:.{digits}f}" if round(low, digits) == round(high, digits) \
        else f"{low:.{digits}f}-{high:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", default="10000,30000")
    parser.add_argument("--snapshots", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--agent-root", type=Path, default=ROOT)
    args = parser.parse_args()
    _import_agent(args.agent_root.resolve())
    logging.disable(logging.WARNING)        # "not answering" for each silent switch
    print(f"agent code: {args.agent_root}")
    for count in (int(c) for c in args.devices.split(",")):
        runs = [asyncio.run(timed(count, args.snapshots)) for _ in range(args.repeat)]
        memory = [asyncio.run(held(count)) for _ in range(args.repeat)]
        figures = {
            "loop CPU ms median": [statistics.median(s.loop_cpu for s in r) for r in runs],
            "loop CPU ms worst": [max(s.loop_cpu for s in r) for r in runs],
            "total CPU ms median": [statistics.median(s.total_cpu for s in r) for r in runs],
            "total CPU ms worst": [max(s.total_cpu for s in r) for r in runs],
            "loop stall ms median": [statistics.median(s.stall for s in r) for r in runs],
            "loop stall ms worst": [max(s.stall for s in r) for r in runs],
        }
        print(f"{count} devices, {count // CHANGED_EVERY} changed per snapshot, "
              f"{args.snapshots} snapshots x {args.repeat} runs:")
        for name, values in figures.items():
            print(f"  {name:22} {_range(values)}")
        print(f"  {'held bytes/device':22} {_range([m[0] for m in memory], 1, 0)}")
        print(f"  {'peak bytes/device':22} {_range([m[1] for m in memory], 1, 0)}")


if __name__ == "__main__":
    main()

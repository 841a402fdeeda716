"""Pinging at scale: N targets on 127.0.0.0/8 every 10 s, Lifeline against fping.

    .venv/bin/python bench/icmp_ping.py [--targets 1000] [--interval 10] [--duration 60]
                                        [--count 3] [--write]

In one run, one after the other on the same targets (127.1.x.y, which all answer):
1. the real `lifeline run` with N `protocol: icmp` devices (count echoes 1 s apart,
   timeout 1 s) at the interval, for `--duration` seconds; from its status snapshot: polls,
   failures, start lag (p50/p99/max), CPU of the whole agent (scheduler, pings, alert
   rules, the SQLite store) and RSS;
2. the collector alone, in this process: one round of N pings, its CPU (the ping itself);
3. fping (Debian), the peer: every interval, `fping -q -C COUNT -p 1000 -t 1000 -i 1` over
   the same N targets for the same duration, its CPU from RUSAGE_CHILDREN.
Needs root or CAP_NET_RAW (both pingers use raw sockets) and fping (tests/setup.sh).
`--write` replaces the `## ICMP ping` section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_file import write_section  # noqa: E402  (bench/, run as a script)

from collectors.icmp import IcmpCollector  # noqa: E402
from inventory.model import Device, PollSpec  # noqa: E402

SECTION = "## ICMP ping"


def targets(n: int) -> list[str]:
    return [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(n)]


def write_config(directory: Path, addresses: list[str], interval: int, count: int) -> Path:
    lines = [f"agent: {{name: bench, state_dir: {directory / 'var'}}}", "devices:"]
    lines += [f"  - {{id: cam-{i:05d}, name: cam {i}, category: cctv_camera, poll: {{"
              f"protocol: icmp, address: {address}, count: {count}, ping_interval: 1s, "
              f"timeout: 1s, interval: {interval}s}}}}" for i, address in enumerate(addresses)]
    path = directory / "bench.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_agent(addresses: list[str], interval: int, duration: float, count: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="lifeline-bench-icmp-") as tmp:
        directory = Path(tmp)
        config = write_config(directory, addresses, interval, count)
        agent = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", str(config),
                                  "--log-level", "warning"], cwd=ROOT,
                                 stderr=(directory / "agent.log").open("wb"))
        try:
            time.sleep(duration)
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=60)
        finally:
            if agent.poll() is None:
                agent.kill()
        status = json.loads((directory / "var" / "status.json").read_text())
        log_tail = (directory / "agent.log").read_text(errors="replace")[-2000:]
    devices = status["devices"].values()
    polls = sum(d["polls"] for d in devices)
    cpu = status["process"]["cpu_seconds"]
    return {"polls": polls, "failed": sum(d["failures"] for d in devices),
            "overlaps": sum(d["overlaps"] for d in devices), "lag": status["start_lag"],
            "cpu": cpu, "cpu_ms_per_poll": 1000 * cpu / max(1, polls),
            "rss_mib": status["process"]["rss_bytes"] / 2**20,
            "log_tail": log_tail if polls == 0 else ""}


def run_collector(addresses: list[str], count: int) -> dict:
    async def one_round() -> tuple[float, float, int]:
        collector = IcmpCollector()
        devices = [Device(id=f"cam-{i}", name="cam", category="cctv_camera",
                          poll=PollSpec(protocol="icmp", address=a, count=count,
                                        ping_interval=1.0, timeout=1.0, interval=10.0))
                   for i, a in enumerate(addresses)]
        await collector.collect(devices[0])          # opens the socket
        cpu0, wall0 = time.process_time(), time.perf_counter()
        results = await asyncio.gather(*(collector.collect(d) for d in devices))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        await collector.aclose()
        return cpu, wall, sum(1 for r in results if r.code == 0)

    cpu, wall, ok = asyncio.run(one_round())
    return {"cpu": cpu, "wall": wall, "ok": ok}


def run_fping(addresses: list[str], interval: int, duration: float, count: int) -> dict:
    fping = shutil.which("fping")
    if fping is None:
        raise SystemExit("fping not found: bash tests/setup.sh installs it")
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(addresses) + "\n")
        listing.flush()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start, rounds, answered, walls = time.monotonic(), 0, 0, []
        while time.monotonic() - start < duration:
            began = time.monotonic()
            done = subprocess.run([fping, "-q", "-C", str(count), "-p", "1000", "-t", "1000",
                                   "-i", "1", "-f", listing.name], capture_output=True,
                                  text=True, timeout=interval * 3)
            walls.append(time.monotonic() - began)
            answered += sum(1 for line in done.stderr.splitlines()
                            if ":" in line and "-" not in line.split(":", 1)[1].split()[0])
            rounds += 1
            time.sleep(max(0.0, began + interval - time.monotonic()))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    polls = rounds * len(addresses)
    return {"rounds": rounds, "polls": polls, "answered": answered, "cpu": cpu,
            "cpu_ms_per_poll": 1000 * cpu / max(1, polls), "wall": max(walls)}


def render(n: int, interval: int, duration: float, count: int, agent: dict, alone: dict,
           fping: dict) -> str:
    lag = agent["lag"]
    per_poll = f"{count} echo requests 1 s apart, timeout 1 s"
    return "\n".join([
        f"{n:,} targets on 127.1.0.0/16 every {interval} s ({per_poll}), {duration:.0f} s "
        "of each pinger, one after the other in the same run:", "",
        "| measure | Lifeline (`lifeline run`) | fping 5.1 (peer) |", "|---|---|---|",
        f"| target polls done / failed | {agent['polls']:,} / {agent['failed']} | "
        f"{fping['polls']:,} / {fping['polls'] - fping['answered']} |",
        f"| CPU, whole run | {agent['cpu']:.1f} s (the agent: scheduler, pings, alert rules, "
        f"SQLite store, status) | {fping['cpu']:.1f} s |",
        f"| CPU per target poll | {agent['cpu_ms_per_poll']:.2f} ms | "
        f"{fping['cpu_ms_per_poll']:.3f} ms |",
        f"| CPU of the pings alone, one round of {n:,} in one process | "
        f"{alone['cpu']:.2f} s ({1000 * alone['cpu'] / n:.2f} ms per target, "
        f"{alone['ok']:,} answered, {alone['wall']:.1f} s wall) | - |",
        f"| start lag p50 / p99 / max | {lag['p50'] * 1000:.1f} ms / {lag['p99'] * 1000:.1f} "
        f"ms / {lag['max'] * 1000:.1f} ms | - (one process per round) |",
        f"| skipped as overlapping | {agent['overlaps']} | longest round {fping['wall']:.1f} s |",
        f"| memory | {agent['rss_mib']:.0f} MiB RSS at the end | - |", ""])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("note: not root; pinging needs CAP_NET_RAW or net.ipv4.ping_group_range")
    addresses = targets(args.targets)
    agent = run_agent(addresses, args.interval, args.duration, args.count)
    alone = run_collector(addresses, args.count)
    fping = run_fping(addresses, args.interval, args.duration, args.count)
    text = render(args.targets, args.interval, args.duration, args.count, agent, alone, fping)
    print(text)
    if agent["log_tail"]:
        print("agent log tail:\n" + agent["log_tail"])
    if args.write:
        write_section(SECTION, f".venv/bin/python bench/icmp_ping.py --targets {args.targets} "
                            f"--interval {args.interval} --duration {args.duration:g} "
                            f"--count {args.count} --write", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

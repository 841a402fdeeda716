"""The agent at scale: N devices at one interval against snmpd, for a few intervals.

    .venv/bin/python bench/agent_schedule.py [--devices 2000] [--interval 60]
                                             [--duration 150] [--ports 50] [--write]

Runs the real `lifeline run` (embedded SQLite store, switch profile, v2c) against one
net-snmp snmpd answering on `--ports` UDP ports of 127.0.0.1 (devices spread round-robin
over them), then reads the agent's own status snapshot:
- start lag: how late each poll started against its scheduled time (p50/p99/max over the
  last 4,096 polls), the measure of how well the phases spread the load;
- the busiest second: polls scheduled in the same second, from the phases (the spread the
  scheduler aims at) — with a naive "everyone at :00" schedule it would be N;
- agent CPU (user+sys) and RSS at the end; CPU per poll;
- the peer in the same run: snmpd's own CPU for answering the same polls.
`--write` replaces the `## Agent scheduling` section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results_file import write_section  # noqa: E402  (bench/, run as a script)
from snmp_poll import free_ports, proc_cpu, start_snmpd  # noqa: E402

from agent.schedule import phase  # noqa: E402

SECTION = "## Agent scheduling"


def write_config(directory: Path, ports: list[int], devices: int, interval: int) -> Path:
    lines = [f"agent: {{name: bench, state_dir: {directory / 'var'}}}",
             "credentials:", "  bench: {version: 2c, community_env: BENCH_COMMUNITY}",
             "devices:"]
    for i in range(devices):
        port = ports[i % len(ports)]
        lines.append(f"  - {{id: sw-{i:05d}, name: sw {i}, category: switch, poll: {{"
                     f"protocol: snmp, address: \"127.0.0.1:{port}\", credentials: bench, "
                     f"profile: switch, interval: {interval}s, timeout: 2s, retries: 1}}}}")
    path = directory / "bench.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(devices: int, interval: int, duration: float, port_count: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="lifeline-bench-agent-") as tmp:
        directory = Path(tmp)
        ports = free_ports(port_count)
        snmpd = start_snmpd(directory / "snmpd", ports)
        config = write_config(directory, ports, devices, interval)
        env = {**os.environ, "BENCH_COMMUNITY": "public"}
        snmpd_cpu_before = proc_cpu(snmpd.pid)
        agent = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", str(config),
                                  "--log-level", "warning"], cwd=ROOT, env=env,
                                 stderr=(directory / "agent.log").open("wb"))
        try:
            time.sleep(duration)
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=60)
            snmpd_cpu = proc_cpu(snmpd.pid) - snmpd_cpu_before
        finally:
            if agent.poll() is None:
                agent.kill()
            snmpd.terminate()
            snmpd.wait()
        status = json.loads((directory / "var" / "status.json").read_text())
        log_tail = (directory / "agent.log").read_text(errors="replace")[-2000:]
    polls = sum(d["polls"] for d in status["devices"].values())
    failed = sum(d["failures"] for d in status["devices"].values())
    overlaps = sum(d["overlaps"] for d in status["devices"].values())
    per_second = Counter(int(phase(f"sw-{i:05d}", interval)) for i in range(devices))
    cpu = status["process"]["cpu_seconds"]
    return {"devices": devices, "interval": interval, "duration": duration, "polls": polls,
            "failed": failed, "overlaps": overlaps, "lag": status["start_lag"],
            "busiest_second": max(per_second.values()), "mean_per_second": devices / interval,
            "cpu": cpu, "cpu_ms_per_poll": 1000 * cpu / max(1, polls),
            "rss_mib": status["process"]["rss_bytes"] / 2**20, "snmpd_cpu": snmpd_cpu,
            "snmpd_ms_per_poll": 1000 * snmpd_cpu / max(1, polls),
            "log_tail": log_tail if failed or overlaps else ""}


def render(r: dict) -> str:
    lag = r["lag"]
    return "\n".join([
        f"{r['devices']:,} devices (switch profile, v2c) at a {r['interval']} s interval "
        f"against one snmpd, {r['duration']:.0f} s run:", "",
        "| measure | value |", "|---|---|",
        f"| polls done / failed / skipped as overlapping | {r['polls']:,} / {r['failed']} / "
        f"{r['overlaps']} |",
        f"| start lag p50 / p99 / max | {lag['p50'] * 1000:.1f} ms / {lag['p99'] * 1000:.1f} ms "
        f"/ {lag['max'] * 1000:.1f} ms |",
        f"| polls scheduled in the busiest second (mean) | {r['busiest_second']} "
        f"({r['mean_per_second']:.1f}) |",
        f"| agent CPU, whole run | {r['cpu']:.1f} s ({r['cpu_ms_per_poll']:.2f} ms per poll, "
        f"including the SQLite store) |",
        f"| agent RSS at the end | {r['rss_mib']:.0f} MiB |",
        f"| snmpd CPU answering the same polls (peer) | {r['snmpd_cpu']:.1f} s "
        f"({r['snmpd_ms_per_poll']:.2f} ms per poll) |", ""])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--duration", type=float, default=150.0)
    parser.add_argument("--ports", type=int, default=50)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    result = run(args.devices, args.interval, args.duration, args.ports)
    text = render(result)
    print(text)
    if result["log_tail"]:
        print("agent log tail:\n" + result["log_tail"])
    if args.write:
        write_section(SECTION, ".venv/bin/python bench/agent_schedule.py --devices 2000 "
                      "--interval 60 --duration 150", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

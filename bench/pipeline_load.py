"""The whole agent under load (issue 18): CPU per poll of everything, and the load goals.

    .venv/bin/python bench/pipeline_load.py [--runs quiet:10000,burn:10000,quiet:30000]
                                            [--duration 150] [--agent-root DIR] [--write]

Each run is the real `lifeline run` (embedded SQLite store, alert engine, status, switch
profile, v2c, 60 s interval) against net-snmp snmpd processes answering on 50 UDP ports of
127.0.0.1 each (one snmpd per 10,000 devices a minute: one snmpd answers ~450 polls a
second on one core); `burn:` runs start a bounded busy loop in another process first,
which takes one of the two cores for the whole run.

CPU is the agent process's own user+system time, from its status snapshots, not wall
time: other work on the machine (other engineers' tests) slows a run but does not add to
it. "Steady" is the CPU and polls between a snapshot taken after the first round (every
device polled once, its chassis looked up) and the last one before SIGTERM; "whole run"
includes start-up. The peer in the same run is snmpd: its CPU per poll answered.

`--agent-root DIR` runs the agent from another checkout (e.g. `git archive` of an older
commit unpacked in DIR) with the same peers, for a before/after in one session.
`--json FILE` appends each run's figures to FILE; `--write` then puts every run recorded
there in the table (`--runs ""` writes the table from FILE alone), replacing the
`## The whole pipeline` section of bench/RESULTS.md.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from agent_schedule import write_config  # noqa: E402  (bench/, run as a script)
from results_file import write_section  # noqa: E402
from snmp_poll import free_ports, proc_cpu, start_snmpd  # noqa: E402

SECTION = "## The whole pipeline"
INTERVAL = 60
DEVICES_PER_SNMPD = 10_000


@dataclass(frozen=True)
class Run:
    """One run's setting: `burn` a core with a busy loop or not, `devices` a minute."""

    burn: bool
    devices: int

    @classmethod
    def parse(cls, text: str) -> Run:
        kind, _, count = text.partition(":")
        if kind not in ("quiet", "burn") or not count.isdigit():
            raise SystemExit(f"--runs: expected quiet:N or burn:N, got {text!r}")
        return cls(kind == "burn", int(count))

    @property
    def name(self) -> str:
        return f"{'burn' if self.burn else 'quiet'}:{self.devices}"


def status(state_dir: Path) -> dict:
    return json.loads((state_dir / "status.json").read_text(encoding="utf-8"))


def polls_and_cpu(snapshot: dict) -> tuple[int, int, float]:
    devices = snapshot["devices"].values()
    return (sum(d["polls"] for d in devices), sum(d["failures"] for d in devices),
            snapshot["process"]["cpu_seconds"])


def socket_drops(pid: int) -> int:
    """Datagrams the kernel dropped on the process's UDP sockets (buffer full)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    drops = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                drops += int(fields[12])
    return drops


def burner(seconds: float) -> subprocess.Popen[bytes]:
    """Another process taking a core: a busy loop that ends by itself."""
    code = (f"import time\nend = time.monotonic() + {seconds}\n"
            "while time.monotonic() < end:\n    pass\n")
    return subprocess.Popen([sys.executable, "-c", code])


def measure(run: Run, duration: float, agent_root: Path, peer_nice: int,
            keep: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="lifeline-bench-pipeline-") as tmp:
        directory = Path(tmp)
        snmpds, ports = [], []
        for k in range(max(1, -(-run.devices // DEVICES_PER_SNMPD))):
            some = free_ports(50)
            snmpds.append(start_snmpd(directory / f"snmpd{k}", some))
            ports += some
            if peer_nice:
                # Real devices answer from CPUs of their own: on this machine the peer
                # would otherwise starve with the agent, and its late answers count as
                # the agent's timeouts.
                os.setpriority(os.PRIO_PROCESS, snmpds[-1].pid, peer_nice)
        config = write_config(directory, ports, run.devices, INTERVAL)
        load_before = os.getloadavg()[0]
        busy = burner(duration + 90) if run.burn else None
        snmpd_before = sum(proc_cpu(p.pid) for p in snmpds)
        agent = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "run", str(config), "--log-level", "warning"],
            cwd=agent_root, env={**os.environ, "BENCH_COMMUNITY": "public"},
            stderr=(directory / "agent.log").open("wb"))
        state_dir = directory / "var"
        try:
            steady_from = max(duration / 3, INTERVAL + 15)
            time.sleep(steady_from)
            first = status(state_dir)
            time.sleep(duration - steady_from)
            last = status(state_dir)
            drops = socket_drops(agent.pid)
            load_after = os.getloadavg()[0]
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=120)
            snmpd_cpu = sum(proc_cpu(p.pid) for p in snmpds) - snmpd_before
            final = status(state_dir)
        finally:
            if agent.poll() is None:
                agent.kill()
            if busy is not None:
                busy.kill()
            for p in snmpds:
                p.terminate()
                p.wait()
        log_tail = (directory / "agent.log").read_text(errors="replace")[-1500:]
        if keep is not None:        # the whole log and the last status, to read afterwards
            keep.mkdir(parents=True, exist_ok=True)
            for name, source in ((f"{run.name}.log", directory / "agent.log"),
                                 (f"{run.name}.status.json", state_dir / "status.json")):
                (keep / name.replace(":", "-")).write_bytes(source.read_bytes())
    polls0, _, cpu0 = polls_and_cpu(first)
    polls1, _, cpu1 = polls_and_cpu(last)
    polls, failed, cpu = polls_and_cpu(final)
    return {"run": run.name, "burn": run.burn, "devices": run.devices, "peer_nice": peer_nice,
            "duration": duration, "polls": polls, "failed": failed,
            "overlaps": sum(d["overlaps"] for d in final["devices"].values()),
            "lag": last["start_lag"], "lateness": last.get("lateness"),
            "steady_ms": 1000 * (cpu1 - cpu0) / max(1, polls1 - polls0),
            "steady_polls": polls1 - polls0, "whole_ms": 1000 * cpu / max(1, polls),
            "rss_mib": last["process"]["rss_bytes"] / 2**20, "drops": drops,
            "snmpd_ms": 1000 * snmpd_cpu / max(1, polls),
            "load": (load_before, load_after),
            "log_tail": log_tail if failed else ""}


def row(r: dict, label: str) -> str:
    lag, late = r["lag"], r["lateness"] or {}
    behind = (f"{late.get('late', '-')} of {late.get('polls', '-')}"
              f"{' (behind)' if late.get('behind') else ''}") if late else "not reported"
    if r.get("peer_nice"):
        label += f", snmpd nice {r['peer_nice']}"
    load = r.get("load")
    machine = f"{load[0]:.1f} / {load[1]:.1f}" if load else "-"
    lags = " / ".join("-" if lag[q] is None else f"{lag[q] * 1000:.0f}"
                      for q in ("p50", "p99", "max"))
    return (f"| {label} | {machine} | {r['devices']:,} | {'yes' if r['burn'] else 'no'} | "
            f"{r['polls']:,} / {r['failed']:,} | {lags} ms | {behind} | "
            f"{r['steady_ms']:.2f} ({r['whole_ms']:.2f}) | {r['rss_mib']:.0f} MiB | "
            f"{r['drops']:,} | {r['snmpd_ms']:.2f} |")


HEADER = ("| agent | machine load (1 min) at start / end | devices a minute | a core burned "
          "| polls done / failed | start lag "
          "p50 / p99 / max | polls late > 2 s in the last minute | agent CPU ms per poll, "
          "steady (whole run) | RSS | answers dropped by the kernel | snmpd CPU ms per poll "
          "(peer) |\n|---|---|---|---|---|---|---|---|---|---|---|")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="quiet:10000,burn:10000,quiet:30000")
    parser.add_argument("--duration", type=float, default=150.0)
    parser.add_argument("--agent-root", type=Path, default=ROOT)
    parser.add_argument("--label", default="this tree")
    parser.add_argument("--peer-nice", type=int, default=0,
                        help="the snmpds' nice value (negative: ahead of the agent and "
                             "the busy loop; needs root)")
    parser.add_argument("--json", type=Path, help="append each run's figures to this file")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--keep", type=Path,
                        help="keep each run's agent log and last status.json in this folder")
    args = parser.parse_args()
    lines = [HEADER]
    for text in args.runs.split(",") if args.runs else ():
        result = measure(Run.parse(text), args.duration, args.agent_root.resolve(),
                         args.peer_nice, args.keep)
        if args.json:
            with args.json.open("a", encoding="utf-8") as out:
                out.write(json.dumps({**result, "label": args.label}) + "\n")
        lines.append(row(result, args.label))
        print(lines[-1], flush=True)
        if result["log_tail"]:
            print("agent log tail:\n" + result["log_tail"], flush=True)
    if args.json and args.json.exists():    # every run recorded there, in order
        lines = [HEADER] + [row(r, r["label"]) for r in map(
            json.loads, args.json.read_text(encoding="utf-8").splitlines())]
    if args.write:
        write_section(SECTION, f".venv/bin/python bench/pipeline_load.py --runs {args.runs} "
                      f"--duration {args.duration:.0f}", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

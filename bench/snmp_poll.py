"""SNMP polling benchmark: Lifeline's switch profile vs prometheus-snmp-exporter vs snmpbulkget.

    .venv/bin/python bench/snmp_poll.py [--sizes 100,1000,5000] [--ports 200] [--profile]
                                        [--write]

Peer: net-snmp snmpd, one process per 50 UDP ports of 127.0.0.1, `--ports` in all (its
config lines are length-limited and it uses select()); N targets are spread round-robin over
those ports. Every poller asks the same objects of the same targets: the switch profile
(sysDescr, sysObjectID, sysUpTime, sysName + ifTable/ifXTable: ifDescr, ifName, ifAlias,
ifAdminStatus, ifOperStatus, ifHighSpeed, ifHC{In,Out}Octets, if{In,Out}{Errors,Discards}).

- Lifeline runs in its own process (`--worker`), v2c, max_in_flight 256: one warm-up round
  (learns row counts, ENTITY-MIB chassis), then the measured round. CPU is that process's
  user+sys time, memory its peak RSS.
- The exporter (Debian's 0.21, a hand-written module) is scraped N times, 64 at a time;
  CPU is the exporter process's own utime+stime from /proc, memory its VmHWM.
- snmpbulkget is one process per poll (that is how it is used from scripts); CPU is
  RUSAGE_CHILDREN over min(N, 200) runs.
`--write` replaces the `## SNMP polling` section of bench/RESULTS.md with the tables.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## SNMP polling"
TICKS = os.sysconf("SC_CLK_TCK")

IF, IFX = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
COLUMNS = {"ifDescr": f"{IF}.2", "ifAdminStatus": f"{IF}.7", "ifOperStatus": f"{IF}.8",
           "ifInDiscards": f"{IF}.13", "ifInErrors": f"{IF}.14", "ifOutDiscards": f"{IF}.19",
           "ifOutErrors": f"{IF}.20", "ifName": f"{IFX}.1", "ifHCInOctets": f"{IFX}.6",
           "ifHCOutOctets": f"{IFX}.10", "ifHighSpeed": f"{IFX}.15", "ifAlias": f"{IFX}.18"}
SCALARS = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"]


# --- peers ------------------------------------------------------------------------------

def free_ports(count: int) -> list[int]:
    socks, ports = [], []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def start_snmpd(workdir: Path, ports: list[int], extra: str = "") -> subprocess.Popen:
    """snmpd on `ports`; `extra` lines appended to its config (bench/snmp_v3.py's users)."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "snmpd.conf"
    # One agentAddress line of at most 50 addresses: longer config lines are cut short.
    conf.write_text("agentAddress " + ",".join(f"udp:127.0.0.1:{p}" for p in ports) + "\n"
                    "rocommunity public 127.0.0.1\nsysName bench-snmpd\n" + extra)
    proc = subprocess.Popen(["/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", str(conf), "-I",
                             "-smux,mteTrigger,mteTriggerConf"],
                            env={**os.environ, "SNMP_PERSISTENT_DIR": str(workdir)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        ok = subprocess.run(["snmpget", "-v2c", "-c", "public", "-On", "-t", "0.2", "-r", "0",
                             f"127.0.0.1:{ports[-1]}", "1.3.6.1.2.1.1.5.0"],
                            capture_output=True).returncode == 0
        if ok:
            return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("snmpd did not start")


def exporter_config(path: Path) -> None:
    lookups = [{"labels": ["ifIndex"], "labelname": n, "oid": COLUMNS[n], "type": "DisplayString"}
               for n in ("ifDescr", "ifName", "ifAlias")]
    metrics = [{"name": "sysUpTime", "oid": "1.3.6.1.2.1.1.3", "type": "gauge"}]
    metrics += [{"name": n, "oid": o, "type": "counter" if "Octets" in n or "Err" in n
                 or "Disc" in n else "gauge",
                 "indexes": [{"labelname": "ifIndex", "type": "gauge"}], "lookups": lookups}
                for n, o in COLUMNS.items() if n not in ("ifDescr", "ifName", "ifAlias")]
    metrics += [{"name": n, "oid": o, "type": "DisplayString"}
                for n, o in (("sysDescr", "1.3.6.1.2.1.1.1"), ("sysName", "1.3.6.1.2.1.1.5"))]
    module = {"walk": list(COLUMNS.values()), "get": SCALARS, "metrics": metrics,
              "version": 2, "max_repetitions": 25, "retries": 1, "timeout": "2s",
              "auth": {"community": "public"}}
    path.write_text(json.dumps({"lifeline_switch": module}, indent=1))   # JSON is YAML


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- the three pollers --------------------------------------------------------------------

def run_lifeline(targets: list[str], profile: bool) -> dict:
    cmd = [sys.executable, __file__, "--worker", ",".join(targets)]
    if profile:
        cmd.append("--profile")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr)
    if profile:
        sys.stderr.write(done.stderr)
    return json.loads(done.stdout.splitlines()[-1])


def worker(targets: list[str], profile: bool) -> None:
    from collectors.base import SnmpFacts
    from collectors.snmp import SnmpCollector
    from config.model import SecretRef, SnmpCredentials
    from inventory.model import Device, PollSpec

    os.environ["BENCH_COMMUNITY"] = "public"
    creds = {"v2": SnmpCredentials("v2", "2c", community=SecretRef(env="BENCH_COMMUNITY"))}
    devices = [Device(id=f"sw-{i}", name="bench", category="access_switch",
                      poll=PollSpec(protocol="snmp", address=t, credentials="v2",
                                    profile="switch", timeout=2.0, retries=1))
               for i, t in enumerate(targets)]

    async def main() -> dict:
        collector = SnmpCollector(creds, max_in_flight=256)
        out = {}
        for name in ("first", "steady"):
            if name == "steady" and profile:
                import cProfile
                prof = cProfile.Profile()
                prof.enable()
            c0, t0 = time.process_time(), time.perf_counter()
            results = await asyncio.gather(*(collector.collect(d) for d in devices))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            ok = sum(1 for r in results if r.code == 0)
            requests = sum(r.facts.requests for r in results if isinstance(r.facts, SnmpFacts))
            out[name] = {"wall": wall, "cpu": cpu, "ok": ok, "requests": requests,
                         "samples": sum(len(r.samples) for r in results)}
        if profile:
            import pstats
            prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(18)
        await collector.aclose()
        return out

    out = asyncio.run(main())
    out["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run_exporter(port: int, targets: list[str]) -> dict:
    pid_file_cpu_before = proc_cpu(port_owner[port])
    url = f"http://127.0.0.1:{port}/snmp?module=lifeline_switch&target="

    def scrape(target: str) -> bool:
        with urllib.request.urlopen(url + target, timeout=30) as resp:
            body = resp.read()
        return b"ifHCInOctets{" in body

    t0 = time.perf_counter()
    with ThreadPoolExecutor(64) as pool:
        ok = sum(pool.map(scrape, targets))
    wall = time.perf_counter() - t0
    cpu = proc_cpu(port_owner[port]) - pid_file_cpu_before
    return {"wall": wall, "cpu": cpu, "ok": ok, "hwm_mib": proc_hwm_mib(port_owner[port])}


port_owner: dict[int, int] = {}


def run_bulkget(targets: list[str]) -> dict:
    runs = targets[:200]
    # One GETBULK like Lifeline's steady state: 4 scalars as non-repeaters, 12 columns.
    base = ["snmpbulkget", "-v2c", "-c", "public", "-On", "-Cn4", "-Cr6", "-t", "2", "-r", "1"]
    oids = [s[:-2] for s in SCALARS] + list(COLUMNS.values())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    ok = 0
    for target in runs:
        done = subprocess.run([*base, target, *oids], capture_output=True, text=True,
                              env={**os.environ, "MIBS": ""})
        ok += done.returncode == 0 and "31.1.1.1.6" in done.stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"runs": len(runs), "cpu": cpu, "ok": ok}


# --- driver -----------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--ports", type=int, default=200)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--worker")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker.split(","), args.profile)
        return 0
    work = Path(tempfile.mkdtemp(prefix="lifeline-bench-"))
    ports = free_ports(args.ports + 1)
    snmpds = [start_snmpd(work / f"snmpd{i}", ports[i:i + 50])
              for i in range(0, args.ports, 50)]
    exp_port = ports[-1]
    exporter_config(work / "snmp.yml")
    exporter = subprocess.Popen(["prometheus-snmp-exporter", f"--config.file={work / 'snmp.yml'}",
                                 f"--web.listen-address=127.0.0.1:{exp_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_owner[exp_port] = exporter.pid
    rows = []
    try:
        time.sleep(1.0)
        for n in (int(x) for x in args.sizes.split(",")):
            targets = [f"127.0.0.1:{ports[i % args.ports]}" for i in range(n)]
            life = run_lifeline(targets, args.profile)
            exp = run_exporter(exp_port, targets)
            bulk = run_bulkget(targets)
            rows.append((n, life, exp, bulk))
            print(json.dumps({"n": n, "lifeline": life, "exporter": exp, "snmpbulkget": bulk}),
                  flush=True)
    finally:
        for proc in (exporter, *snmpds):
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    table = render(rows, args.ports)
    print(table)
    if args.write:
        write_section(table)
    return 0


def render(rows: list, ports: int) -> str:
    lines = ["| targets | poller | ok | wall s | devices/s | CPU ms per device poll | "
             "peak memory MiB | CPU vs exporter |", "|---|---|---|---|---|---|---|---|"]
    for n, life, exp, bulk in rows:
        exp_ms = 1000 * exp["cpu"] / n
        steady, first = life["steady"], life["first"]
        for label, r in (("Lifeline, steady round", steady), ("Lifeline, first round", first)):
            ms = 1000 * r["cpu"] / n
            lines.append(f"| {n} | {label} | {r['ok']} | {r['wall']:.2f} | {n / r['wall']:.0f} | "
                         f"{ms:.2f} | {life['maxrss_mib']:.0f} | {ms / exp_ms:.2f}x |")
        lines.append(f"| {n} | snmp_exporter 0.21 | {exp['ok']} | {exp['wall']:.2f} | "
                     f"{n / exp['wall']:.0f} | {exp_ms:.2f} | {exp['hwm_mib']:.0f} | 1.00x |")
        bulk_ms = 1000 * bulk["cpu"] / bulk["runs"]
        lines.append(f"| {n} | snmpbulkget ({bulk['runs']} runs) | {bulk['ok']} | - | - | "
                     f"{bulk_ms:.2f} | - | {bulk_ms / exp_ms:.2f}x |")
    return "\n".join(lines) + (f"\n\n(snmpd on {ports} ports of 127.0.0.1, 50 per process; "
                               "targets round-robin)\n")


def write_section(table: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    marker = "<!-- snmp-bench-table -->"
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{marker}\n{marker}\n"
    start = text.index(marker) + len(marker)
    end = text.index(marker, start)
    RESULTS.write_text(text[:start] + "\n" + table + text[end:], encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())

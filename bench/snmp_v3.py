"""SNMPv3 authPriv polling: Lifeline's BER path vs its v2c vs pysnmp vs net-snmp's tools.

    .venv/bin/python bench/snmp_v3.py [--targets 1000] [--ports 100] [--write]

Peer: net-snmp snmpd, one process per 50 UDP ports of 127.0.0.1 (bench/snmp_poll.py's),
with user noc (SHA / AES-128, authPriv) and community public; N targets round-robin over
the ports. Every poller asks the switch profile's objects (sysDescr, sysObjectID,
sysUpTime, sysName + ifTable/ifXTable columns) of the same targets, one after the other:

- Lifeline v2c, Lifeline v3 (usm.py, v3_session.py), Lifeline v3 through pysnmp (the
  reference, `SnmpCollector(reference_v3=True)`, which keeps its cap of 16 v3 polls in
  flight): each in its own process, max_in_flight 256, one warm-up round (engine
  discovery, learnt row counts, chassis lookup), then the measured steady round. CPU is
  that process's user+sys time over the round, divided by N.
- snmpbulkget and snmpbulkwalk (net-snmp 5.9), v2c and v3 authPriv: one process per poll
  (how scripts use them): snmpbulkget with Lifeline's single steady-state GETBULK,
  snmpbulkwalk walking ifXTable; CPU from RUSAGE_CHILDREN over min(N, 100) runs.
`--write` replaces the `## SNMPv3 polling` section of bench/RESULTS.md.
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
from snmp_poll import COLUMNS, SCALARS, free_ports, start_snmpd  # noqa: E402

SECTION = "## SNMPv3 polling"
USERS = 'createUser noc SHA "authpass123" AES "privpass123"\nrouser noc priv\n'
V3_ARGS = ["-v3", "-l", "authPriv", "-u", "noc", "-a", "SHA", "-A", "authpass123",
           "-x", "AES", "-X", "privpass123"]
MODES = {"v2c": "Lifeline v2c", "v3": "Lifeline v3 authPriv (BER path)",
         "v3-pysnmp": "Lifeline v3 authPriv through pysnmp"}


def worker(mode: str, targets: list[str]) -> None:
    from collectors.base import ResultCode
    from collectors.snmp import SnmpCollector
    from config.model import SecretRef, SnmpCredentials
    from inventory.model import Device, PollSpec

    os.environ.update(BENCH_COMMUNITY="public", BENCH_AUTH="authpass123",
                      BENCH_PRIV="privpass123")
    if mode == "v2c":
        creds = SnmpCredentials("c", "2c", community=SecretRef(env="BENCH_COMMUNITY"))
    else:
        creds = SnmpCredentials("c", "3", user="noc", auth_protocol="SHA",
                                auth_key=SecretRef(env="BENCH_AUTH"), priv_protocol="AES",
                                priv_key=SecretRef(env="BENCH_PRIV"))
    devices = [Device(id=f"sw-{i}", name="bench", category="access_switch",
                      poll=PollSpec(protocol="snmp", address=t, credentials="c",
                                    profile="switch", timeout=2.0, retries=1))
               for i, t in enumerate(targets)]

    async def main() -> dict[str, dict[str, float]]:
        collector = SnmpCollector({"c": creds}, max_in_flight=256,
                                  reference_v3=mode == "v3-pysnmp")
        out = {}
        for name in ("first", "steady"):
            c0, t0 = time.process_time(), time.perf_counter()
            results = await asyncio.gather(*(collector.collect(d) for d in devices))
            out[name] = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                         "ok": sum(r.code is ResultCode.SUCCESS for r in results)}
        await collector.aclose()
        return out

    out = asyncio.run(main())
    print(json.dumps({**out, "maxrss_mib":
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_lifeline(mode: str, targets: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", mode, ",".join(targets)],
                          capture_output=True, text=True, timeout=1200)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.splitlines()[-1])


def run_tool(command: list[str], check: str, targets: list[str], oids: list[str]) -> dict:
    """One process per poll; CPU per run from RUSAGE_CHILDREN."""
    runs = targets[:100]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    ok = 0
    for target in runs:
        done = subprocess.run([*command, "-On", "-t", "2", "-r", "1", target, *oids],
                              capture_output=True, text=True, env={**os.environ, "MIBS": ""})
        ok += done.returncode == 0 and check in done.stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"runs": len(runs), "cpu": cpu, "ok": ok}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--ports", type=int, default=100)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--worker", nargs=2, metavar=("MODE", "TARGETS"))
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1].split(","))
        return 0
    work = Path(tempfile.mkdtemp(prefix="lifeline-bench-v3-"))
    ports = free_ports(args.ports)
    snmpds = [start_snmpd(work / f"snmpd{i}", ports[i:i + 50], USERS)
              for i in range(0, args.ports, 50)]
    targets = [f"127.0.0.1:{ports[i % args.ports]}" for i in range(args.targets)]
    rows: list[tuple[str, dict]] = []
    try:
        for mode, label in MODES.items():
            rows.append((label, run_lifeline(mode, targets)))
            print(label, json.dumps(rows[-1][1]), flush=True)
        bulk_oids = [s[:-2] for s in SCALARS] + list(COLUMNS.values())
        for version, flags in (("v2c", ["-v2c", "-c", "public"]), ("v3 authPriv", V3_ARGS)):
            rows.append((f"snmpbulkget {version}", run_tool(
                ["snmpbulkget", *flags, "-Cn4", "-Cr6"], "31.1.1.1.6", targets, bulk_oids)))
            rows.append((f"snmpbulkwalk {version} (ifXTable)", run_tool(
                ["snmpbulkwalk", *flags], "31.1.1.1.6", targets, ["1.3.6.1.2.1.31.1.1.1"])))
            print(rows[-2], rows[-1], flush=True)
    finally:
        for proc in snmpds:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    table = render(rows, args.targets, args.ports)
    print(table)
    if args.write:
        write_section(SECTION, f".venv/bin/python bench/snmp_v3.py --targets {args.targets} "
                      f"--ports {args.ports} --write", table)
    return 0


def render(rows: list[tuple[str, dict]], n: int, ports: int) -> str:
    v2c = 1000 * rows[0][1]["steady"]["cpu"] / n
    lines = ["| poller | ok | wall s | CPU ms per poll | vs Lifeline v2c | peak RSS MiB |",
             "|---|---|---|---|---|---|"]
    for label, r in rows:
        if "steady" in r:
            for round_name in ("steady", "first"):
                got = r[round_name]
                ms = 1000 * got["cpu"] / n
                lines.append(f"| {label}, {round_name} round | {got['ok']}/{n} | "
                             f"{got['wall']:.2f} | {ms:.2f} | {ms / v2c:.2f}x | "
                             f"{r['maxrss_mib']:.0f} |")
        else:
            ms = 1000 * r["cpu"] / r["runs"]
            lines.append(f"| {label}, one process per poll | {r['ok']}/{r['runs']} | - | "
                         f"{ms:.2f} | {ms / v2c:.2f}x | - |")
    steady = 1000 * rows[1][1]["steady"]["cpu"] / n / v2c
    verdict = "met" if steady <= 2 else "not met"
    return "\n".join(lines) + (
        f"\n\n{n} targets on snmpd ({ports} ports of 127.0.0.1, 50 per process), "
        "switch profile, SHA / AES-128; one run on a 2-core VM shared with other work, "
        "Python 3.11.\n\n"
        f"**Goal (issue 18): SNMPv3 authPriv at most 2x the v2c poll's CPU, with no "
        f"in-flight cap below v2c's: {verdict}, {steady:.2f}x in the steady round**, both at "
        "max_in_flight 256 (the v3 cap of 16 applies to the pysnmp reference only).\n\n"
        "How to read it: the steady round is what a running agent pays every interval. "
        "What v3 adds there is a second message layer encoded and decoded in Python "
        "(`usm.encode_message`, `decode_message`), one HMAC over each message each way and "
        "one AES-CFB pass each way (`cryptography`, in C). The first round adds engine "
        "discovery (one probe per address, shared by the devices on it), key localization "
        "(the 1 MiB password hash, once per password and engine id) and the chassis "
        "lookup of every poller's first poll; its `ok` column depends on the peer more than "
        "on the poller: snmpd spends about 4 ms of its own CPU per first poll, and with the "
        "machine shared (load average 10-19 during these runs) some of those answers come "
        "after the 2 s timeout, for v2c and v3 alike (a first round of 1000 gave v2c "
        "901/1000 in one run). pysnmp's rounds lose nothing because it keeps 16 polls in "
        "flight, which is also why it takes ten times as long. net-snmp's tools start a "
        "process per poll, so most of their CPU is start-up; their v3/v2c ratio (about "
        "1.8x) is the cost of USM in C for one poll, key localization included.\n")


if __name__ == "__main__":
    raise SystemExit(main())

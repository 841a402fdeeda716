"""The SNMP poll's own CPU cost and the per-device memory of the collector (issue 18).

    .venv/bin/python bench/snmp_hot_path.py [--polls 2000] [--devices 300] [--ports 50]
                                            [--concurrency 64] [--repeat 3] [--profile]
                                            [--memory 2000] [--root DIR]

Peer: one net-snmp snmpd on `--ports` UDP ports of 127.0.0.1 (bench/snmp_poll.py's
`start_snmpd`); `--devices` device ids are spread round-robin over them, switch profile,
v2c. Each repeat is a fresh worker process: two warm-up rounds (every device polled
twice: row counts learned, chassis looked up, counter rates computed from then on), then
`--polls` polls, `--concurrency` at a time; a device is never polled twice at once.

Reported per repeat: the worker's CPU per poll from getrusage (user and system apart; the
system part is mostly `sendto`, which on loopback includes the delivery to snmpd), and
the shape of what one poll produced (measurements, tags, field names and types) so a
change that altered the samples shows. CPU time, not wall time: other work on the
machine slows a run but does not add to it.

`--profile` prints the worker's cProfile of the measured polls (first repeat only).
`--memory N` instead polls N devices three times under tracemalloc and reports the bytes
the collector keeps per device (everything it holds after the polls, minus what existed
before it was created), with the top allocation sites.
`--root DIR` runs the worker from another checkout (e.g. `git archive HEAD~3 | tar -x
-C DIR`) against the same snmpd, for a before/after in one session.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from snmp_poll import free_ports, start_snmpd  # noqa: E402  (bench/, run as a script)

# --- the worker (runs in --root's tree) ---------------------------------------------------

def _devices(targets: list[str]) -> tuple[list, dict]:
    from config.model import SecretRef, SnmpCredentials
    from inventory.model import Device, PollSpec

    os.environ["BENCH_COMMUNITY"] = "public"
    creds = {"v2": SnmpCredentials("v2", "2c", community=SecretRef(env="BENCH_COMMUNITY"))}
    devices = [Device(id=f"sw-{i}", name="bench", category="access_switch", site="bench",
                      poll=PollSpec(protocol="snmp", address=t, credentials="v2",
                                    profile="switch", timeout=2.0, retries=1))
               for i, t in enumerate(targets)]
    return devices, creds


_VARYING_TAGS = ("device_id", "agent_host")    # the port differs from session to session


def _shape(result: object) -> list:
    """What a poll produced, without the values that change between polls or sessions."""
    return sorted([s.measurement,
                   sorted((k, "*" if k in _VARYING_TAGS else v) for k, v in s.tags.items()),
                   sorted((k, type(v).__name__) for k, v in s.fields.items())]
                  for s in result.samples)   # type: ignore[attr-defined]


def cpu_worker(targets: list[str], polls: int, concurrency: int, profile: bool) -> dict:
    from collectors.snmp import SnmpCollector

    devices, creds = _devices(targets)

    async def main() -> dict:
        collector = SnmpCollector(creds, max_in_flight=256)
        for _ in range(2):
            await asyncio.gather(*(collector.collect(d) for d in devices))
        codes: dict[int, int] = {}
        shapes: set[str] = set()
        samples = 0

        async def lane(k: int, count: int) -> None:
            nonlocal samples
            mine = devices[k::concurrency]
            for n in range(count):
                result = await collector.collect(mine[n % len(mine)])
                codes[int(result.code)] = codes.get(int(result.code), 0) + 1
                samples += len(result.samples)
                if n < 2:
                    shapes.add(json.dumps(_shape(result)))

        counts = [polls // concurrency + (k < polls % concurrency) for k in range(concurrency)]
        prof = None
        if profile:
            import cProfile
            prof = cProfile.Profile()
            prof.enable()
        r0, c0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time(), \
            time.perf_counter()
        await asyncio.gather(*(lane(k, c) for k, c in enumerate(counts) if c))
        r1, c1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.process_time(), \
            time.perf_counter()
        if prof is not None:
            import pstats
            prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        await collector.aclose()
        shape = sorted(shapes)
        return {"polls": polls, "codes": codes, "samples_per_poll": samples / polls,
                "user_ms": 1000 * (r1.ru_utime - r0.ru_utime) / polls,
                "sys_ms": 1000 * (r1.ru_stime - r0.ru_stime) / polls,
                "cpu_ms": 1000 * (c1 - c0) / polls, "wall_s": t1 - t0,
                "shapes": len(shape),
                "shape_digest": hashlib.sha256("".join(shape).encode()).hexdigest()[:12]}

    return asyncio.run(main())


def memory_worker(targets: list[str]) -> dict:
    import tracemalloc

    from collectors.snmp import SnmpCollector
    from collectors.snmp.profiles import load_profiles

    devices, creds = _devices(targets)
    profiles = load_profiles()

    async def main() -> dict:
        gc.collect()
        tracemalloc.start(4)
        before = tracemalloc.take_snapshot()
        base = tracemalloc.get_traced_memory()[0]
        collector = SnmpCollector(creds, profiles=profiles, max_in_flight=256)

        async def poll_all() -> int:
            results = await asyncio.gather(*(collector.collect(d) for d in devices))
            return sum(1 for r in results if r.code == 0)

        for _ in range(3):
            # In a task of its own: what the gather held is gone with it, not counted.
            ok = await asyncio.create_task(poll_all())
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - base
        after = tracemalloc.take_snapshot()
        top = [f"{s.size_diff / len(devices):8.0f} B/device  {s.traceback[0]}"
               for s in after.compare_to(before, "lineno")[:15]]
        await collector.aclose()
        tracemalloc.stop()
        return {"devices": len(devices), "ok_last_round": ok,
                "bytes_per_device": kept / len(devices), "top": top}

    return asyncio.run(main())


# --- the driver ---------------------------------------------------------------------------

def run_worker(root: Path, args: list[str], profile: bool) -> dict:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker-root",
                           str(root), *args], capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise RuntimeError(done.stderr)
    if profile:
        sys.stderr.write(done.stderr)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--polls", type=int, default=2000)
    ap.add_argument("--devices", type=int, default=300)
    ap.add_argument("--ports", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--memory", type=int, default=0)
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--worker-root", type=Path)
    ap.add_argument("--targets")
    args = ap.parse_args()
    if args.worker_root:
        sys.path.insert(0, str(args.worker_root.resolve()))
        os.chdir(args.worker_root)
        targets = args.targets.split(",")
        out = (memory_worker(targets) if args.memory
               else cpu_worker(targets, args.polls, args.concurrency, args.profile))
        print(json.dumps(out))
        return 0

    with tempfile.TemporaryDirectory(prefix="lifeline-bench-hot-") as tmp:
        ports = free_ports(min(args.ports, 50))
        snmpd = start_snmpd(Path(tmp) / "snmpd", ports)
        try:
            n = args.memory or args.devices
            targets = ",".join(f"127.0.0.1:{ports[i % len(ports)]}" for i in range(n))
            common = ["--targets", targets, "--polls", str(args.polls),
                      "--concurrency", str(args.concurrency)]
            if args.memory:
                common += ["--memory", str(args.memory)]
            runs = []
            for k in range(1 if args.memory else args.repeat):
                flags = common + (["--profile"] if args.profile and k == 0 else [])
                runs.append(run_worker(args.root.resolve(), flags, args.profile and k == 0))
                print(json.dumps({k: v for k, v in runs[-1].items() if k != "top"}),
                      flush=True)
        finally:
            os.kill(snmpd.pid, signal.SIGTERM)
            snmpd.wait(timeout=10)
    if args.memory:
        print(*runs[0]["top"], sep="\n")
        print(f"{runs[0]['bytes_per_device']:.0f} bytes kept per device "
              f"({runs[0]['devices']} devices, root {args.root})")
        return 0
    for key in ("cpu_ms", "user_ms", "sys_ms"):
        values = [r[key] for r in runs]
        print(f"{key:7} per poll: {min(values):.3f} - {max(values):.3f}  "
              f"({', '.join(f'{v:.3f}' for v in values)})")
    print(f"root {args.root}; {args.polls} polls of {args.devices} devices, "
          f"{args.concurrency} at a time, {len(runs)} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

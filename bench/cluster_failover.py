"""A cluster's failover: 3 `lifeline run` nodes on this machine, one PostgreSQL 15, N devices
against snmpd, and a real webhook receiver; one node SIGKILLed per run.

    .venv/bin/python bench/cluster_failover.py [--devices 30000] [--interval 300]
                                               [--runs 3] [--lease 5] [--write]

Peers, all on loopback: PostgreSQL 15 started as the tests start it (tests/peers/
postgres.py: initdb in a temp dir, a free port), net-snmp snmpd answering on 50 UDP ports
of 127.0.0.1 (the devices spread round-robin over them, as bench/agent_schedule.py
does), the tests' webhook receiver (tests/peers/webhook.py), and TCP ports of this script
that it opens and closes to make devices come back or go down.

Each run: once every bucket is held, for the run's own group of TCP devices, half of them
down since the start (firing told) come back and the other half go down, at the moment a
node holding buckets is SIGKILLed. Measured: the takeover time (the kill until every
bucket with devices is held again by a live node, by the database's clock, read every
50 ms), and the run's notices at the receiver: expected (one resolve and one firing per
device of the group), delivered, missing, duplicates (an id received twice). Then the
killed node starts again and the cluster settles before the next run.
`--write` replaces the `## Cluster failover` section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402
from results_file import write_section  # noqa: E402  (bench/, run as a script)
from snmp_poll import free_ports, start_snmpd  # noqa: E402

from peers.postgres import running_postgres  # noqa: E402
from peers.webhook import WebhookPeer, running_webhook  # noqa: E402

SECTION = "## Cluster failover"
NODES = ("a", "b", "c")
GROUP = 10                  # TCP devices per run and direction (back up / going down)
OUTAGE_POLLS = 2
TCP_INTERVAL = 2


class Port:
    """A TCP port: listening (its devices answer) or bound only (refused: down)."""

    def __init__(self, listening: bool) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        if listening:
            self.listen()

    def listen(self) -> None:
        self.sock.listen(256)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        sock = self.sock
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.close()

    def refuse(self) -> None:
        """Down from now on: closed, and the port bound again without listening."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)    # wakes the accepting thread
        except OSError:
            pass
        self.sock.close()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.sock = sock


def write_config(directory: Path, name: str, devices: str, dsn_env: str, hook: str,
                 lease: float) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "node.yaml"
    path.write_text(
        f"agent: {{name: {name}, state_dir: {directory / 'var'}}}\n"
        "credentials:\n  bench: {version: 2c, community_env: BENCH_COMMUNITY}\n"
        f"cluster: {{dsn_env: {dsn_env}, node: {name}, lease: {lease:g}s, renew: 1s}}\n"
        f"alerts:\n  thresholds: {{outage_polls: {OUTAGE_POLLS}}}\n  channels:\n"
        f"    - {{name: hook, type: webhook, url: \"{hook}\", group_wait: 0s,"
        " group_interval: 0s, retry_initial: 1s}\n"
        "  routes:\n    - {match: {}, channels: [hook]}\n"
        f"devices:\n{devices}", encoding="utf-8")
    return path


def devices_yaml(snmp_ports: list[int], count: int, interval: int,
                 groups: list[tuple[Port, Port]]) -> str:
    lines = []
    for i in range(count):
        port = snmp_ports[i % len(snmp_ports)]
        lines.append(f"  - {{id: sw-{i:05d}, name: sw {i}, category: switch, poll: {{"
                     f"protocol: snmp, address: \"127.0.0.1:{port}\", credentials: bench, "
                     f"profile: switch, interval: {interval}s, timeout: 2s, retries: 1}}}}")
    for run, (back, down) in enumerate(groups):
        for kind, port in (("back", back), ("down", down)):
            for i in range(GROUP):
                lines.append(f"  - {{id: r{run}-{kind}-{i}, name: r{run} {kind} {i}, "
                             f"category: switch, poll: {{protocol: tcp, address: "
                             f"\"127.0.0.1:{port.port}\", interval: {TCP_INTERVAL}s, "
                             "timeout: 1s, retries: 0}}")
    return "\n".join(lines) + "\n"


class Bench:
    def __init__(self, dsn: str, root: Path, hook: WebhookPeer, devices: str,
                 lease: float) -> None:
        self.dsn, self.root, self.hook, self.devices, self.lease = (dsn, root, hook, devices,
                                                                    lease)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        config = write_config(self.root / name, name, self.devices, "BENCH_PG_DSN",
                              self.hook.url(), self.lease)
        env = {**os.environ, "BENCH_PG_DSN": self.dsn, "BENCH_COMMUNITY": "public"}
        log = (self.root / name / f"node-{time.monotonic_ns()}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "run", str(config), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        with closing(psycopg.connect(self.dsn, autocommit=True)) as conn:
            try:
                return conn.execute(sql, args or None).fetchall()
            except psycopg.errors.UndefinedTable:
                return []

    def unheld(self, dead: str = "") -> int | None:
        """Buckets with devices not held by a live node (None: no bucket declared yet)."""
        live = [n for n, p in self.procs.items() if p.poll() is None and n != dead]
        rows = self.query("SELECT owner, lease_until > clock_timestamp() FROM cluster_buckets"
                          " WHERE devices > 0")
        if not rows:
            return None
        return sum(1 for owner, running in rows if not (running and owner in live))

    def wait_settled(self, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.unheld() == 0:
                return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError(f"the cluster did not settle within {timeout:g} s")

    def wait_balanced(self, timeout: float) -> None:
        """Until no node holds more than a fair share (a node that started first claimed
        more, and releases a few per round)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            rows = self.query("SELECT owner, count(*) FROM cluster_buckets WHERE devices > 0"
                              " AND lease_until > clock_timestamp() GROUP BY owner")
            total = sum(n for _, n in rows)
            if len(rows) == len(NODES) and max(n for _, n in rows) <= -(-total // len(NODES)):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the buckets were not spread within {timeout:g} s")

    def notices(self) -> list[tuple[str, str, str]]:
        return [(a["notificationId"], a["labels"]["device_id"], a["event"])
                for r in self.hook.accepted for a in r.body["alerts"]]

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def one_run(bench: Bench, run: int, back: Port, down: Port, victim: str) -> dict[str, Any]:
    ids = {f"r{run}-{kind}-{i}" for kind in ("back", "down") for i in range(GROUP)}
    expected = ({(f"r{run}-back-{i}", "resolved") for i in range(GROUP)}
                | {(f"r{run}-down-{i}", "firing") for i in range(GROUP)})
    held = bench.query("SELECT count(*) FROM cluster_buckets WHERE owner = %s AND"
                       " lease_until > clock_timestamp() AND devices > 0", victim)[0][0]
    seen = len(bench.notices())
    back.listen()
    down.refuse()
    killed = time.monotonic()
    bench.procs[victim].kill()
    bench.procs[victim].wait()
    takeover = None
    while time.monotonic() - killed < 10 * bench.lease + 60:
        if bench.unheld(victim) == 0:
            takeover = time.monotonic() - killed
            break
        time.sleep(0.05)

    def mine() -> list[tuple[str, str, str]]:
        return [n for n in bench.notices()[seen:] if n[1] in ids]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and {(d, e) for _, d, e in mine()} < expected:
        time.sleep(0.5)
    time.sleep(6)                   # past a few delivery rounds: late duplicates land here
    got = mine()
    unique = {i for i, _, _ in got}
    delivered = {(d, e) for _, d, e in got}
    return {"run": run, "victim": victim, "buckets": int(held), "takeover": takeover,
            "expected": len(expected), "delivered": len(delivered & expected),
            "missing": len(expected - delivered), "unexpected": len(delivered - expected),
            "posts": len(got), "duplicates": len(got) - len(unique),
            "same_id": all(len({i for i, d2, e2 in got if (d2, e2) == k}) == 1
                           for k in delivered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=30000)
    parser.add_argument("--interval", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lease", type=float, default=5.0)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    groups = [(Port(listening=False), Port(listening=True)) for _ in range(args.runs)]
    results = []
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="lifeline-bench-cl-") as tmp:
        root = Path(tmp)
        server = stack.enter_context(running_postgres())
        hook = stack.enter_context(running_webhook())
        snmp_ports = free_ports(50)
        snmpd = start_snmpd(root / "snmpd", snmp_ports)
        stack.callback(snmpd.wait)
        stack.callback(snmpd.terminate)
        bench = Bench(server.new_database(), root, hook,
                      devices_yaml(snmp_ports, args.devices, args.interval, groups),
                      args.lease)
        stack.callback(bench.stop_all)
        started = time.monotonic()
        for name in NODES:
            bench.start(name)
        first_settle = bench.wait_settled(600)
        bench.wait_balanced(300)
        print(f"3 nodes up, every bucket held after {time.monotonic() - started:.1f} s "
              f"(settled {first_settle:.1f} s after the first wait)", flush=True)
        for run in range(args.runs):
            firing = {(f"r{run}-back-{i}", "firing") for i in range(GROUP)}
            deadline = time.monotonic() + 120   # the group's devices down since the start
            while not firing <= {(d, e) for _, d, e in bench.notices()}:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"run {run}: the firings before the kill never came")
                time.sleep(0.5)
            time.sleep(3)
            victim = NODES[run % len(NODES)]
            result = one_run(bench, run, *groups[run], victim)
            print(result, flush=True)
            results.append(result)
            bench.start(victim)
            bench.wait_settled(600)
            bench.wait_balanced(300)         # the restarted node took its share again
        polled = polls_done(root)
    text = report(args, results, polled)
    print(text)
    if args.write:
        write_section(SECTION, f".venv/bin/python bench/cluster_failover.py --devices "
                      f"{args.devices} --interval {args.interval} --runs {args.runs} "
                      f"--lease {args.lease:g} --write", text)


def polls_done(root: Path) -> dict[str, tuple[int, int]]:
    """Per node: (polls, failed polls) of its last status snapshot."""
    import json

    found = {}
    for name in NODES:
        try:
            status = json.loads((root / name / "var" / "status.json").read_text())
        except (OSError, ValueError):
            continue
        devices = [d for i, d in status.get("devices", {}).items() if i.startswith("sw-")]
        found[name] = (sum(d.get("polls", 0) for d in devices),
                       sum(d.get("failures", 0) for d in devices))
    return found


def report(args: argparse.Namespace, results: list[dict[str, Any]],
           polled: dict[str, tuple[int, int]]) -> str:
    lines = [f"3 nodes (`lifeline run`, lease {args.lease:g} s, renewed every 1 s) on this "
             f"2-core machine, one PostgreSQL 15, {args.devices:,} SNMP devices at a "
             f"{args.interval} s interval (snmpd on 50 ports) plus {2 * GROUP} TCP devices "
             "per run; one node SIGKILLed per run:", "",
             "| run | node killed | its buckets | takeover | expected | delivered | missing "
             "| duplicates (same id) |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        took = "not within the wait" if r["takeover"] is None else f"{r['takeover']:.2f} s"
        lines.append(f"| {r['run'] + 1} | {r['victim']} | {r['buckets']} | {took} | "
                     f"{r['expected']} | {r['delivered']} | {r['missing']} | "
                     f"{r['duplicates']} ({'yes' if r['same_id'] else 'no'}) |")
    if polled:
        lines += ["", "SNMP polls at the end (each node's last status snapshot, since its "
                  "last start): " + ", ".join(f"{n}: {p:,} ({f:,} failed)"
                                         for n, (p, f) in polled.items()) + "."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

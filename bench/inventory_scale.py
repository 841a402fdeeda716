"""How long does a 100,000-asset inventory take to validate and plan?

    .venv/bin/python bench/inventory_scale.py [--count 100000] [--count-by records|assets]

`--count-by records` makes N inventory records; `--count-by assets` makes records until
their quantities add up to N assets (a batch of 50 PCs is one record, 50 assets), the
way the district keeps its inventory.

Generates a district-like inventory (records of single devices and batches across the
shipped categories, with parents, poll sections on a fifth of them, support dates and
opening hours) into a temporary folder split over several included files, then times,
each in a fresh process so nothing is cached between them:

  * `lifeline validate CONFIG`   (parse + validate + build records),
  * `lifeline plan CONFIG --year 2021 --horizon 4 --format json`,
  * `lifeline plan ... --format xlsx -o FILE`,

and in this process the phases of loading (YAML parse, validation, plan building) so the
numbers say where the time goes. Prints a Markdown table for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.source import load_located  # noqa: E402
from inventory.load import load_config, load_service_life_table  # noqa: E402
from inventory.plan import build_plan  # noqa: E402

HOURS = ["24h", "daily 10:00-24:00", "Mon-Fri 09:00-18:00", "daily 05:00-24:00"]


def generate(folder: Path, count: int, files: int, by_assets: bool, seed: int = 7) -> Path:
    rng = random.Random(seed)
    categories = sorted(load_service_life_table())
    devices: list[dict] = []
    assets = 0
    while (assets if by_assets else len(devices)) < count:
        devices.append(_device(rng, len(devices) + 1, categories))
        assets += devices[-1]["quantity"]
    per_file = -(-len(devices) // files)
    for index in range(files):
        part = devices[index * per_file:(index + 1) * per_file]
        text = yaml.safe_dump({"devices": part}, allow_unicode=True, sort_keys=False)
        (folder / f"inv-{index:03d}.yaml").write_text(text, encoding="utf-8")
    main = folder / "main.yaml"
    main.write_text("agent: {name: bench}\ninclude: ['inv-*.yaml']\n"
                    "credentials:\n  v2: {version: 2c, community_env: SNMP_COMMUNITY}\n",
                    encoding="utf-8")
    return main


def _device(rng: random.Random, n: int, categories: list[str]) -> dict:
    acquired = date(2005, 1, 1) + timedelta(days=rng.randrange(0, 16 * 365))
    device = {"id": f"dev-{n:06d}", "name": f"장비 {n}", "category": rng.choice(categories),
              "model": f"M-{rng.randrange(100)}", "site": f"site-{rng.randrange(40)}",
              "acquired": acquired.isoformat(), "quantity": rng.choice([1, 1, 1, 2, 10, 50]),
              "criticality": rng.choice(["critical", "high", "normal", "low"])}
    if rng.random() < 0.9:
        device["unit_cost_krw"] = rng.randrange(100, 100_000) * 1000
    if rng.random() < 0.3:
        device["support_ends"] = (acquired + timedelta(days=rng.randrange(365, 4000))).isoformat()
    if n > 1 and rng.random() < 0.5:
        device["parent"] = f"dev-{rng.randrange(1, n):06d}"
    if rng.random() < 0.2:
        device["poll"] = {"protocol": "snmp", "address": f"127.0.{n // 250 % 250}.{n % 250 + 1}",
                          "credentials": "v2", "profile": "switch", "interval": "60s"}
    if rng.random() < 0.05:
        device["operating_hours"] = rng.choice(HOURS)
    return device


def timed_command(*args: str) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MiB (of the child) and the command's last line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "agent.cli", *args], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"lifeline {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) // 1024
    last = (result.stdout.strip().splitlines() or [""])[-1][:100]
    return elapsed, peak, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--count-by", choices=["records", "assets"], default="records")
    parser.add_argument("--files", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        main_file = generate(Path(folder), args.count, args.files, args.count_by == "assets")
        size = sum(p.stat().st_size for p in Path(folder).glob("*.yaml")) / 2**20
        print(f"generated {args.count:,} {args.count_by} in {args.files} files "
              f"({size:.1f} MiB) in {time.perf_counter() - start:.1f}s")

        start = time.perf_counter()
        for file in sorted(Path(folder).glob("inv-*.yaml")):
            load_located(file)
        parse = time.perf_counter() - start
        start = time.perf_counter()
        config = load_config(main_file)
        load = time.perf_counter() - start
        start = time.perf_counter()
        plan = build_plan(config.devices, config.categories, year=2021, horizon=4)
        planning = time.perf_counter() - start
        print(f"in-process: {len(config.devices):,} records, "
              f"{sum(d.quantity for d in config.devices):,} assets; YAML parse {parse:.2f}s, "
              f"full load (parse+validate+build) {load:.2f}s, build_plan {planning:.2f}s "
              f"-> {len(plan.rows):,} plan rows")

        rows = [("lifeline validate", *timed_command("validate", str(main_file))),
                ("lifeline plan --format json",
                 *timed_command("plan", str(main_file), "--year", "2021", "--horizon", "4",
                                "--format", "json", "-o", f"{folder}/plan.json")),
                ("lifeline plan --format xlsx",
                 *timed_command("plan", str(main_file), "--year", "2021", "--horizon", "4",
                                "--format", "xlsx", "-o", f"{folder}/plan.xlsx"))]
        print(f"\n| command ({args.count:,} {args.count_by}) | wall s | peak RSS MiB |")
        print("|---|---:|---:|")
        for name, elapsed, peak, _ in rows:
            print(f"| {name} | {elapsed:.2f} | {peak} |")


if __name__ == "__main__":
    main()

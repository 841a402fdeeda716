"""`lifeline inventory CONFIG`: every device with its lifecycle status as of a date."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from agent.cli.common import (
    MAX_HORIZON_YEARS,
    CommandError,
    add_config_argument,
    load_or_report,
    parse_date_argument,
    text_output,
    today,
    whole_number,
)
from agent.cli.table import render_table
from inventory.lifecycle import Lifecycle, LifeStatus, SupportStatus, assess
from inventory.model import Config, Device

STATUS_CHOICES = [s.value for s in LifeStatus] + [s.value for s in SupportStatus
                                                  if s is not SupportStatus.UNKNOWN]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--as-of", type=parse_date_argument, metavar="DATE",
                        help="status as of this date (default: today in the agent's timezone)")
    parser.add_argument("--horizon", type=whole_number(0, 12 * MAX_HORIZON_YEARS, "months"),
                        metavar="MONTHS",
                        help="how far ahead 'due' and 'support_ending' look, at most "
                             f"{12 * MAX_HORIZON_YEARS} (default: "
                             "alerts.lifecycle_horizon_months, 12)")
    parser.add_argument("--format", choices=["table", "json", "csv"], default="table")
    parser.add_argument("--status", action="append", choices=STATUS_CHOICES,
                        help="only devices with this service-life or support status (repeatable)")
    parser.add_argument("--category", action="append", help="only this category (repeatable)")
    parser.add_argument("--site", action="append", help="only this site (repeatable)")
    parser.add_argument("-o", "--output", type=lambda p: __import__("pathlib").Path(p),
                        help="write to this file instead of stdout")


@dataclass(frozen=True, slots=True)
class Row:
    device: Device
    lifecycle: Lifecycle


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    unknown = [c for c in args.category or [] if c not in config.categories]
    if unknown:
        print(f"lifeline inventory: unknown category {unknown[0]!r}; known: "
              f"{', '.join(sorted(config.categories))}", file=sys.stderr)
        return 1
    as_of = args.as_of or today(config)
    horizon = args.horizon if args.horizon is not None else config.alerts.lifecycle_horizon_months
    rows = [r for r in rows_as_of(config, as_of, horizon) if _wanted(r, args)]
    writer = {"table": _write_table, "json": _write_json, "csv": _write_csv}[args.format]
    try:
        with text_output(args.output) as out:
            writer(rows, config, out)
    except CommandError as exc:
        print(f"lifeline inventory: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def rows_as_of(config: Config, as_of: date, horizon_months: int) -> list[Row]:
    return [Row(d, assess(d, config.categories, as_of, horizon_months))
            for d in config.devices if not d.is_retired(as_of)]


def _wanted(row: Row, args: argparse.Namespace) -> bool:
    statuses = {row.lifecycle.status.value, row.lifecycle.support.value}
    if args.status and not statuses & set(args.status):
        return False
    if args.category and row.device.category not in args.category:
        return False
    return not args.site or row.device.site in args.site


def record(row: Row) -> dict[str, Any]:
    """One device's lifecycle facts as plain JSON-ready values."""
    d, lc = row.device, row.lifecycle
    return {
        "id": d.id, "name": d.name, "category": d.category, "site": d.site,
        "location": d.location, "model": d.model, "quantity": d.quantity,
        "acquired": _iso(d.acquired), "service_life_years": lc.service_life.years
        if lc.service_life else None,
        "service_life_source": lc.service_life.origin if lc.service_life else None,
        "life_ends": _iso(lc.life_ends), "years_elapsed": lc.years_elapsed,
        "status": lc.status.value, "support_ends": _iso(lc.support_ends),
        "support": lc.support.value, "milestones_passed": list(lc.milestones_passed),
        "contracts": [{"kind": c.kind, "ends": c.ends.isoformat(), "status": c.status.value}
                      for c in lc.contracts],
        "criticality": d.criticality.value, "as_of": lc.as_of.isoformat(),
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _write_json(rows: Iterable[Row], config: Config, out: Any) -> None:
    json.dump([record(r) for r in rows], out, ensure_ascii=False, indent=2)
    out.write("\n")


CSV_COLUMNS = ["id", "name", "category", "site", "location", "model", "quantity", "acquired",
               "service_life_years", "life_ends", "years_elapsed", "status", "support_ends",
               "support", "criticality"]


def _write_csv(rows: Iterable[Row], config: Config, out: Any) -> None:
    writer = csv.DictWriter(out, fieldnames=[*CSV_COLUMNS, "contracts"], extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        data = record(row)
        data["contracts"] = "; ".join(f"{c['kind']} {c['status']} {c['ends']}"
                                      for c in data["contracts"])
        writer.writerow(data)


def _write_table(rows: list[Row], config: Config, out: Any) -> None:
    headers = ["ID", "CATEGORY", "NAME", "SITE", "QTY", "ACQUIRED", "LIFE", "ENDS", "AGE",
               "STATUS", "SUPPORT", "CONTRACTS"]
    body = []
    for row in rows:
        r = record(row)
        contracts = ", ".join(f"{c['kind']} {c['status']}" for c in r["contracts"]
                              if c["status"] != "active")
        body.append([r["id"], r["category"], r["name"], r["site"], r["quantity"],
                     r["acquired"], r["service_life_years"], r["life_ends"], r["years_elapsed"],
                     r["status"], r["support"], contracts or None])
    out.write(render_table(headers, body, right_aligned=(4, 6, 8)))
    counts = {s: sum(1 for row in rows if row.lifecycle.status.value == s) for s in
              ("exceeded", "due", "in_service", "unknown")}
    as_of = rows[0].lifecycle.as_of.isoformat() if rows else "-"
    out.write(f"{len(rows)} records as of {as_of}: " +
              ", ".join(f"{n} {s}" for s, n in counts.items() if n) + "\n")

"""`lifeline plan CONFIG --year Y [--horizon N] [--format csv|xlsx|json|md] [--lang ko|en]
[-o FILE]`.

The replacement plan for budget years Y..Y+N (see `inventory.plan`), written to stdout for
the text formats or to FILE; xlsx needs -o (a workbook on a terminal helps no one). The
outage counts behind its outage_history reason are read from `state_dir/alerts.db`
without changing it (none there: the plan says nothing about outages); a store that
cannot be used is one line and exit 2.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from agent.cli.common import (
    EXIT_RUNTIME,
    MAX_HORIZON_YEARS,
    STORE_ERRORS,
    CommandError,
    add_config_argument,
    binary_output,
    cannot_use,
    load_or_report,
    whole_number,
)
from alerts.evaluation.store import DB_NAME, recent_outage_counts
from inventory.plan import DEFAULT_REPEATED_OUTAGES, build_plan
from inventory.plan_export import FORMATS, TEXT_FORMATS, export
from inventory.plan_table import LANGS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--year", type=_year, required=True, metavar="YYYY",
                        help="the budget year")
    parser.add_argument("--horizon", type=whole_number(0, MAX_HORIZON_YEARS, "years"),
                        default=0, metavar="N",
                        help="also plan the N following years, at most "
                             f"{MAX_HORIZON_YEARS} (default 0: the budget year only)")
    parser.add_argument("--format", choices=FORMATS, default="md",
                        help="output format (default md)")
    parser.add_argument("--lang", choices=LANGS, default="ko",
                        help="language of headers and labels (default ko)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write to FILE instead of stdout (required for xlsx)")


def run(args: argparse.Namespace) -> int:
    if args.format not in TEXT_FORMATS and args.output is None:
        print(f"lifeline plan: --format {args.format} needs -o FILE", file=sys.stderr)
        return 1
    config = load_or_report(args.config)
    if config is None:
        return 1
    try:
        outages = recent_outage_counts(config.agent.state_dir, datetime.now(config.agent.zone))
    except STORE_ERRORS as exc:
        print(f"lifeline plan: {cannot_use(config.agent.state_dir / DB_NAME, exc)}",
              file=sys.stderr)
        return EXIT_RUNTIME
    plan = build_plan(config.devices, config.categories, year=args.year, horizon=args.horizon,
                      outages=outages,
                      repeated_outages=DEFAULT_REPEATED_OUTAGES)
    data = export(plan, args.format, args.lang)
    try:
        with binary_output(args.output) as handle:
            handle.write(data)
            handle.flush()
    except CommandError as exc:
        print(f"lifeline plan: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.output is not None:
        print(f"{args.output}: {len(plan.rows)} rows for {plan.year}"
              f"{'' if not plan.horizon else f'-{plan.year + plan.horizon}'}"
              f", {len(plan.undated)} undated", file=sys.stderr)
    return 0


def _year(text: str) -> int:
    if not text.isdigit() or not 1950 <= int(text) <= 2100:
        raise argparse.ArgumentTypeError(f"not a budget year: {text!r}")
    return int(text)


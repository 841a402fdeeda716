"""`lifeline plan CONFIG --year Y [--horizon N] [--format csv|xlsx|json|md] [--lang ko|en]
[--cap KEY=N[천원]] [--order KEY=oldest_first|priority] [-o FILE]`.

The replacement plan for budget years Y..Y+N (see `inventory.plan`), in the report's own
form (`inventory.plan_report`), written to stdout for the text formats or to FILE; xlsx
needs -o (a workbook on a terminal helps no one). `--cap` and `--order` set or override a
project's (or a category's) yearly cap and order for this run: `--cap pc=221` (units),
`--cap pc=265200천원`; KEY is a project key of the config's `plan:`, or a category. The
outage counts behind its outage_history reason are read, without changing anything, from
the alert store the config uses (`state_dir/alerts.db`, or a cluster's PostgreSQL; none
there: the plan says nothing about outages); a store that cannot be used is one line and
exit 2.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.cli.common import (
    EXIT_RUNTIME,
    MAX_HORIZON_YEARS,
    CommandError,
    add_config_argument,
    add_lang_argument,
    alert_store_unusable,
    binary_output,
    load_or_report,
    resolve_lang,
    whole_number,
)
from agent.cli.progress import Progress
from inventory.category_names import CategoryIndex
from inventory.model import Config, Order, PlanSettings, Project
from inventory.plan import DEFAULT_REPEATED_OUTAGES, build_plan
from inventory.plan_export import FORMATS, TEXT_FORMATS, export


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
    add_lang_argument(parser)
    parser.add_argument("--cap", action="append", type=_cap, default=[], metavar="KEY=N",
                        help="a yearly cap for a project or category: N units, or N천원 "
                             "(repeatable; overrides the config's plan:)")
    parser.add_argument("--order", action="append", type=_order, default=[],
                        metavar="KEY=ORDER",
                        help="which due assets a capped year takes first: oldest_first "
                             "or priority (repeatable)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write to FILE instead of stdout (required for xlsx)")


def run(args: argparse.Namespace) -> int:
    if args.format not in TEXT_FORMATS and args.output is None:
        print(f"lifeline plan: --format {args.format} needs -o FILE", file=sys.stderr)
        return 1
    with Progress("plan") as progress:  # a large inventory takes seconds to load and plan
        return _plan(args, progress)


CLIENT = "plan command"         # the PostgreSQL session's application_name says it


def _plan(args: argparse.Namespace, progress: Progress) -> int:
    config = load_or_report(args.config, progress, lang=args.lang)
    if config is None:
        return 1
    progress.phase(f"planning {len(config.devices):,} records")
    from alerts.evaluation.open_store import AlertStoreUnavailableError, plan_outages
    try:
        outages = plan_outages(config, datetime.now(config.agent.zone), CLIENT)
    except AlertStoreUnavailableError as exc:
        progress.close()
        print(f"lifeline plan: {alert_store_unusable(exc, resolve_lang(args.lang, config))}",
              file=sys.stderr)
        return EXIT_RUNTIME
    try:
        settings = _with_overrides(config, args.cap, args.order)
    except CommandError as exc:
        progress.close()
        print(f"lifeline plan: {exc}", file=sys.stderr)
        return exc.exit_code
    plan = build_plan(config.devices, config.categories, year=args.year, horizon=args.horizon,
                      outages=outages, repeated_outages=DEFAULT_REPEATED_OUTAGES,
                      settings=settings)
    progress.phase(f"writing {args.format}")
    data = export(plan, args.format, resolve_lang(args.lang, config))
    progress.close()
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



def _cap(text: str) -> tuple[str, str, int]:
    """KEY=221 (units) or KEY=265200천원 (also 265200k): (key, "units"|"krw", amount)."""
    match = re.fullmatch(r"\s*([^=\s]+)\s*=\s*([\d,]+)\s*(천원|k|대|식)?\s*", text)
    if match is None or not match[2].replace(",", "").isdigit() or \
            int(match[2].replace(",", "")) < 1:
        raise argparse.ArgumentTypeError(
            f"not a cap: {text!r} (write KEY=221 for units or KEY=265200천원)")
    amount = int(match[2].replace(",", ""))
    if match[3] in ("천원", "k"):
        return match[1], "krw", amount * 1000
    return match[1], "units", amount


def _order(text: str) -> tuple[str, Order]:
    key, _, value = text.partition("=")
    try:
        return key.strip(), Order(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an order: {text!r} (write KEY=oldest_first or KEY=priority)") from None


def _with_overrides(config: Config, caps: list[tuple[str, str, int]],
                    orders: list[tuple[str, Order]]) -> PlanSettings:
    """The config's plan settings with --cap and --order applied; a key that is neither a
    project nor a category is a CommandError (exit 1)."""
    projects = {project.key: project for project in config.plan.projects}
    names = CategoryIndex(config.categories)
    changes: list[tuple[str, dict[str, Any]]] = [
        (key, {"cap_units": amount, "cap_krw": None} if kind == "units"
         else {"cap_krw": amount, "cap_units": None}) for key, kind, amount in caps]
    changes += [(key, {"order": order}) for key, order in orders]
    for key, change in changes:
        found = _project_for(key, projects, names, config)
        projects[found.key] = replace(found, **change)
    return replace(config.plan, projects=tuple(projects.values()))


def _project_for(key: str, projects: dict[str, Project], names: CategoryIndex,
                 config: Config) -> Project:
    if key in projects:
        return projects[key]
    category = names.find(key)
    if category is None:
        known = ", ".join([*projects, *sorted(config.categories)])
        raise CommandError(f"--cap/--order: {key!r} is neither a project nor a category"
                           f"{names.hint(key)}; known: {known}")
    for project in projects.values():
        if category in project.categories:
            return project
    label = config.categories[category]
    return Project(key=category, name_ko=label.name_ko, name_en=label.name_en,
                   categories=(category,))

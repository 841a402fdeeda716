"""`lifeline import FILE.csv|FILE.xlsx [-o inventory.yaml] [--service-life TABLE]
[--poll CATEGORY=icmp|tcp|none ...]`.

Turns an office's asset sheet into inventory YAML (see `inventory.importer`). Problems
go to stderr, all at once, naming file, row and column; then exit 1 and nothing is
written. Columns that were not understood and other doubts are warnings on stderr.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.cli.common import CommandError, text_output
from config.errors import ConfigError
from inventory.importer import DEFAULT_PROTOCOLS, IMPORTED_PROTOCOLS, import_sheet, to_yaml
from inventory.load import load_service_life_table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sheet", metavar="FILE", type=Path, help="the asset sheet (.csv or .xlsx)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write the inventory YAML to FILE (default: stdout)")
    parser.add_argument("--service-life", type=Path, metavar="TABLE",
                        help="the service-life table whose categories the sheet uses "
                             "(default: the shipped config/service_life.yaml)")
    parser.add_argument("--poll", action="append", default=[], metavar="CATEGORY=PROTOCOL",
                        help="how rows of CATEGORY with an address (관리IP) are polled: icmp, "
                             "tcp or none (default: "
                             + ", ".join(f"{c}={p}" for c, p in DEFAULT_PROTOCOLS.items())
                             + "); repeat for more categories")


def _protocols(choices: list[str]) -> dict[str, str]:
    protocols = dict(DEFAULT_PROTOCOLS)
    for choice in choices:
        category, sep, protocol = choice.partition("=")
        if not sep or not category or protocol not in (*IMPORTED_PROTOCOLS, "none"):
            raise ValueError(f"--poll {choice}: expected CATEGORY=icmp, CATEGORY=tcp or "
                             "CATEGORY=none")
        if protocol == "none":
            protocols.pop(category, None)
        else:
            protocols[category] = protocol
    return protocols


def run(args: argparse.Namespace) -> int:
    try:
        protocols = _protocols(args.poll)
    except ValueError as exc:
        print(f"lifeline import: {exc}", file=sys.stderr)
        return 1
    try:
        categories = load_service_life_table(args.service_life)
        result = import_sheet(args.sheet, categories, protocols)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        count = len(exc.problems)
        print(f"{args.sheet}: {count} problem{'s' if count != 1 else ''}; nothing was written",
              file=sys.stderr)
        return 1
    if result.encoding:
        print(f"{args.sheet}: read as {result.encoding}", file=sys.stderr)
    if result.unknown_columns:
        print(f"warning: {args.sheet}: columns not understood, not imported: "
              f"{', '.join(result.unknown_columns)}", file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        with text_output(args.output) as handle:
            handle.write(to_yaml(result))
    except CommandError as exc:
        print(f"lifeline import: {exc}", file=sys.stderr)
        return exc.exit_code
    where = args.output if args.output is not None else "stdout"
    print(f"{args.sheet}: {len(result.devices)} records written to {where}", file=sys.stderr)
    return 0

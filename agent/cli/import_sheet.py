"""`lifeline import FILE.csv|FILE.xlsx [-o inventory.yaml] [--service-life TABLE]
[--poll CATEGORY=icmp|tcp|none ...]`.

Turns an office's asset sheet into inventory YAML (see `inventory.importer`). Problems
go to stderr, all at once, naming file, row and column; then exit 1 and nothing is
written. Columns that were not understood and other doubts are warnings on stderr.

`--format yaml` (the default) writes the inventory file to include from a config;
`table`, `json` and `csv` show the same records for a review before that (nested values,
such as `poll`, as JSON text in a CSV cell). A large sheet shows its progress on stderr
when that is a terminal.

`-o` creates the file's folder when it does not exist. `--lang ko|en` (default: the
locale) words the command's own lines; columns not understood are kept as tags.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent.cli.common import (
    CSV,
    DATA_FORMATS,
    JSON,
    TABLE,
    CommandError,
    add_format_argument,
    add_lang_argument,
    resolve_lang,
    text_output,
)
from agent.cli.progress import Progress
from agent.cli.table import render_csv, render_table
from config.errors import ConfigError
from inventory.importer import (
    DEFAULT_PROTOCOLS,
    IMPORTED_PROTOCOLS,
    KEY_ORDER,
    ImportResult,
    import_sheet,
    to_yaml,
)
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
    add_format_argument(parser, ("yaml", *DATA_FORMATS), default="yaml")
    add_lang_argument(parser)


# The command's own lines, in Korean and English (the importer's problems stay as they are).
MESSAGES = {
    "ko": {"problems": "{sheet}: 문제 {count}건; 아무것도 쓰지 않았습니다",
           "encoding": "{sheet}: {encoding}(으)로 읽음",
           "unknown": "경고: {sheet}: 알 수 없는 열은 tags에 그대로 보관했습니다: {columns}",
           "warning": "경고: {warning}",
           "written": "{sheet}: {count}건을 {where}에 썼습니다",
           "folder": "{folder} 폴더를 만들 수 없습니다: {why}"},
    "en": {"problems": "{sheet}: {count} problem{s}; nothing was written",
           "encoding": "{sheet}: read as {encoding}",
           "unknown": "warning: {sheet}: columns not understood, kept as tags: {columns}",
           "warning": "warning: {warning}",
           "written": "{sheet}: {count} records written to {where}",
           "folder": "cannot create the folder {folder}: {why}"},
}


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
    say = MESSAGES[resolve_lang(args.lang)]
    try:
        protocols = _protocols(args.poll)
    except ValueError as exc:
        print(f"lifeline import: {exc}", file=sys.stderr)
        return 1
    try:
        categories = load_service_life_table(args.service_life)
        with Progress(f"reading {args.sheet.name}", unit="rows") as progress:
            result = import_sheet(args.sheet, categories, protocols, progress=progress.update)
    except ConfigError as exc:
        print(exc.text(resolve_lang(args.lang)), file=sys.stderr)
        count = len(exc.problems)
        print(say["problems"].format(sheet=args.sheet, count=count, s="s" * (count != 1)),
              file=sys.stderr)
        return 1
    if result.encoding:
        print(say["encoding"].format(sheet=args.sheet, encoding=result.encoding),
              file=sys.stderr)
    if result.unknown_columns:
        print(say["unknown"].format(sheet=args.sheet, columns=", ".join(result.unknown_columns)),
              file=sys.stderr)
    for warning in result.warnings:
        print(say["warning"].format(warning=warning), file=sys.stderr)
    if args.output is not None:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            message = say["folder"].format(folder=args.output.parent, why=exc.strerror)
            print(f"lifeline import: {message}", file=sys.stderr)
            return 2
    try:
        with text_output(args.output) as handle:
            handle.write(_FORMATTERS[args.format](result))
    except CommandError as exc:
        print(f"lifeline import: {exc}", file=sys.stderr)
        return exc.exit_code
    where = args.output if args.output is not None else "stdout"
    print(say["written"].format(sheet=args.sheet, count=len(result.devices), where=where),
          file=sys.stderr)
    return 0


def _table(result: ImportResult) -> str:
    headers = ["ID", "CATEGORY", "NAME", "SITE", "ACQUIRED", "QTY", "POLL"]
    rows = [[d.get("id"), d.get("category"), d.get("name"), d.get("site"), d.get("acquired"),
             d.get("quantity"), _poll_text(d.get("poll"))] for d in result.devices]
    return render_table(headers, rows, right_aligned=(5,))


def _poll_text(poll: Any) -> str | None:
    if not isinstance(poll, dict):
        return None
    return " ".join(str(poll[k]) for k in ("protocol", "address") if poll.get(k))


def _csv(result: ImportResult) -> str:
    columns = [k for k in KEY_ORDER if any(k in d for d in result.devices)]
    return render_csv(columns, [[_cell(d.get(k)) for k in columns] for d in result.devices])


def _cell(value: Any) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _json(result: ImportResult) -> str:
    return json.dumps([dict(d) for d in result.devices], ensure_ascii=False, indent=2,
                      default=str) + "\n"


_FORMATTERS = {"yaml": to_yaml, TABLE: _table, JSON: _json, CSV: _csv}

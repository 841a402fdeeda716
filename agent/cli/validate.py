"""`lifeline validate CONFIG [--format table|json|csv]`: exit 0 with a summary, or 1 with
every problem.

The problems always go to stderr as FILE:LINE: message lines (the contract). With
`--format json` stdout also holds one document: the summary, the problems and the
warnings; with `--format csv`, a row per problem and warning (severity, file, line, field,
message), for a spreadsheet of what to fix in a large inventory.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from agent.cli.common import (
    CSV,
    JSON,
    add_config_argument,
    add_format_argument,
    add_lang_argument,
    problems_lang,
    report_problems,
    resolve_lang,
)
from agent.cli.table import render_csv
from config.errors import ConfigError, Problem
from config.model import SecretError
from inventory.load import load_config
from inventory.model import Config

NO_CHANNEL_NOTE = ("no alert channel configured (alerts.channels): firing alerts will go to "
                   "the agent's log only")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    add_format_argument(parser)
    add_lang_argument(parser)


def run(args: argparse.Namespace) -> int:
    try:
        config: Config | None = load_config(args.config)
        problems: Sequence[Problem] = ()
        lang = resolve_lang(args.lang, config)
    except ConfigError as exc:
        config, problems = None, exc.problems
        lang = problems_lang(args.lang, exc)
        report_problems(args.config, exc, lang)
    warnings = secret_warnings(config) if config is not None else []
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if config is not None and not config.alerts.channels:
        print(f"note: {NO_CHANNEL_NOTE}", file=sys.stderr)
    if args.format == JSON:
        print(json.dumps(_document(args, config, problems, warnings, lang),
                         ensure_ascii=False, indent=2))
    elif args.format == CSV:
        rows = [["error", p.file, p.line or None, p.path or None, p.said.render(lang)]
                for p in problems]
        rows += [["warning", None, None, None, w] for w in warnings]
        sys.stdout.write(render_csv(["severity", "file", "line", "field", "message"], rows))
    elif config is not None:
        summary = _summary(config)
        print(f"{config.path}: OK: {summary['records']} records ({summary['assets']:,} assets, "
              f"{summary['polled']} polled), {summary['credentials']} credentials, "
              f"{summary['categories']} categories, {summary['files']} files")
    return 0 if config is not None else 1


def _summary(config: Config) -> dict[str, int]:
    return {"records": len(config.devices), "assets": sum(d.quantity for d in config.devices),
            "polled": sum(1 for d in config.devices if d.poll is not None),
            "credentials": len(config.credentials), "categories": len(config.categories),
            "files": len(config.files), "alert_channels": len(config.alerts.channels)}


def _document(args: argparse.Namespace, config: Config | None, problems: Sequence[Problem],
              warnings: list[str], lang: str) -> dict[str, Any]:
    return {"config": str(args.config), "ok": config is not None,
            "summary": _summary(config) if config is not None else None,
            "problems": [{"file": p.file, "line": p.line, "field": p.path, "kind": p.said.kind,
                          "message": p.said.render(lang), "text": p.text(lang)}
                         for p in problems],
            "warnings": warnings}


def secret_warnings(config: Config) -> list[str]:
    """Secrets that cannot be read now. Not errors: the agent may run with another
    environment; but a poll or a channel using them will fail. Values never shown."""
    named = [(f"credentials {c.name}", ref) for c in config.credentials.values()
             for ref in c.secrets()]
    named += [(f"alert channel {ch.name}", ref) for ch in config.alerts.channels
              for ref in ch.secrets()]
    if config.influxdb is not None:
        named += [("storage.influxdb", ref) for ref in config.influxdb.secrets()]
    warnings = []
    for owner, ref in named:
        try:
            ref.reveal()
        except SecretError as exc:
            warnings.append(f"{owner}: {exc}")
    return warnings

"""`lifeline cluster CONFIG [status] [--format table|json|csv] [--lang ko|en]`: the
cluster's nodes (live or not, their zone, when last heard), the buckets and devices each
holds, how long until its soonest lease runs out, buckets nobody holds, and zones with no
live node. Read from the shared PostgreSQL; the DSN is never printed."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from agent.cli.common import (
    CSV,
    EXIT_RUNTIME,
    JSON,
    add_config_argument,
    add_format_argument,
    add_lang_argument,
    load_or_report,
    resolve_lang,
)
from agent.cli.table import render_csv, render_table

KO = {"NODE": "노드", "ZONE": "구역", "LIVE": "동작", "SEEN": "최근 응답", "BUCKETS": "버킷",
      "DEVICES": "장비", "LEASE LEFT": "임대 남은 시간", "yes": "예", "no": "아니오",
      "buckets": "버킷", "held by no live node": "동작 중인 노드 없음",
      "zones with no live node": "동작 중인 노드가 없는 구역"}


def _w(text: str, lang: str) -> str:
    return KO.get(text, text) if lang == "ko" else text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("action", nargs="?", choices=["status"], default="status",
                        help="what to show (status: nodes, buckets, leases, zones)")
    add_format_argument(parser)
    add_lang_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, lang=args.lang)
    if config is None:
        return 1
    if config.cluster is None:
        print(f"lifeline cluster: {args.config} has no `cluster:` section: this agent runs "
              "on its own (docs/cluster.md)", file=sys.stderr)
        return 1
    from agent.cluster.status import read_report  # psycopg: only here
    from config.model import SecretError
    from config.postgres import DatabaseUnavailableError
    from config.sqlite import SchemaError

    try:
        report = read_report(config.cluster)
    except (DatabaseUnavailableError, SecretError, SchemaError) as exc:
        print(f"lifeline cluster: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    lang = resolve_lang(args.lang, config)
    if args.format == JSON:
        json.dump(asdict(report), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    headers = ["NODE", "ZONE", "LIVE", "SEEN", "BUCKETS", "DEVICES", "LEASE LEFT"]
    rows = [(n.node, n.zone or "-", _w("yes" if n.live else "no", lang),
             f"{n.seen_ago:.1f}s", str(n.buckets), str(n.devices),
             "-" if n.oldest_lease_left is None else f"{n.oldest_lease_left:.1f}s")
            for n in report.nodes]
    if args.format == CSV:
        sys.stdout.write(render_csv(headers, rows))
        return 0
    sys.stdout.write(render_table([_w(h, lang) for h in headers], rows))
    sys.stdout.write(f"{_w('buckets', lang)}: {report.buckets}, "
                     f"{_w('held by no live node', lang)}: {report.unowned}\n")
    if report.zones_without_node:
        sys.stdout.write(f"{_w('zones with no live node', lang)}: "
                         f"{', '.join(report.zones_without_node)}\n")
    return 0

"""`lifeline inventory CONFIG [--lang ko|en]`: every device with its lifecycle status as of
a date. Table and csv headers and status words follow the language (json keys and codes
stay English); csv is UTF-8 with a byte-order mark, for Excel, and carries costs (won),
재원, 주요기능 and 비고."""
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
    add_format_argument,
    add_lang_argument,
    load_or_report,
    parse_date_argument,
    resolve_lang,
    text_output,
    today,
    whole_number,
)
from agent.cli.table import render_table
from inventory.category_names import CategoryIndex
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
    add_format_argument(parser)
    parser.add_argument("--status", action="append", choices=STATUS_CHOICES,
                        help="only devices with this service-life or support status (repeatable)")
    parser.add_argument("--category", action="append", help="only this category (repeatable)")
    parser.add_argument("--site", action="append", help="only this site (repeatable)")
    parser.add_argument("-o", "--output", type=lambda p: __import__("pathlib").Path(p),
                        help="write to this file instead of stdout")
    add_lang_argument(parser)


@dataclass(frozen=True, slots=True)
class Row:
    device: Device
    lifecycle: Lifecycle


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, lang=args.lang)
    if config is None:
        return 1
    names = CategoryIndex(config.categories)
    unknown = [c for c in args.category or [] if names.find(c) is None]
    if unknown:
        print(f"lifeline inventory: unknown category {unknown[0]!r}{names.hint(unknown[0])}; "
              f"known: {', '.join(sorted(config.categories))}", file=sys.stderr)
        return 1
    args.category = [names.find(c) for c in args.category or []]
    as_of = args.as_of or today(config)
    horizon = args.horizon if args.horizon is not None else config.alerts.lifecycle_horizon_months
    rows = [r for r in rows_as_of(config, as_of, horizon) if _wanted(r, args)]
    writer = {"table": _write_table, "json": _write_json, "csv": _write_csv}[args.format]
    lang = resolve_lang(args.lang, config)
    try:
        with text_output(args.output) as out:
            writer(rows, lang, out)
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
        "unit_cost_krw": d.unit_cost_krw, "total_cost_krw": d.total_cost_krw,
        "funding": d.funding, "function": d.function, "notes": d.notes,
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _write_json(rows: Iterable[Row], lang: str, out: Any) -> None:
    json.dump([record(r) for r in rows], out, ensure_ascii=False, indent=2)
    out.write("\n")


CSV_COLUMNS = ["id", "name", "category", "site", "location", "model", "quantity", "acquired",
               "service_life_years", "life_ends", "years_elapsed", "status", "support_ends",
               "support", "criticality", "unit_cost_krw", "total_cost_krw", "funding",
               "function", "notes", "contracts"]
# Column headers and status words in Korean; English uses the keys and codes themselves.
KO_HEADERS = {"id": "관리번호", "name": "품명", "category": "구분", "site": "설치기관",
              "location": "설치장소", "model": "모델", "quantity": "수량", "acquired": "취득일",
              "service_life_years": "내용연수(년)", "life_ends": "내용연수 만료일",
              "years_elapsed": "경과연수(년)", "status": "내용연수 상태",
              "support_ends": "기술지원 종료일", "support": "기술지원 상태",
              "criticality": "중요도", "unit_cost_krw": "단가(원)", "total_cost_krw": "금액(원)",
              "funding": "재원", "function": "주요기능", "notes": "비고", "contracts": "계약"}
KO_WORDS = {"exceeded": "내용연수 경과", "due": "도래 예정", "in_service": "사용 중",
            "unknown": "미상", "unsupported": "기술지원 종료", "support_ending": "종료 예정",
            "supported": "지원 중", "critical": "최상", "high": "상", "normal": "중", "low": "하",
            "ended": "만료", "ending": "만료 예정", "active": "유효", "warranty": "보증",
            "contract": "유지보수 계약", "lease": "임차"}


def _word(value: object, lang: str) -> object:
    return KO_WORDS.get(value, value) if lang == "ko" and isinstance(value, str) else value


def _write_csv(rows: Iterable[Row], lang: str, out: Any) -> None:
    out.write("\ufeff")          # a byte-order mark: Excel then reads UTF-8 Korean right
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([KO_HEADERS[c] if lang == "ko" else c for c in CSV_COLUMNS])
    for row in rows:
        data = record(row)
        data["contracts"] = "; ".join(f"{_word(c['kind'], lang)} {_word(c['status'], lang)} "
                                      f"{c['ends']}" for c in data["contracts"])
        writer.writerow(["" if data[c] is None else _word(data[c], lang)
                         if c in ("status", "support", "criticality") else data[c]
                         for c in CSV_COLUMNS])


TABLE_HEADERS = {
    "en": ["ID", "CATEGORY", "NAME", "SITE", "QTY", "ACQUIRED", "LIFE", "ENDS", "AGE",
           "STATUS", "SUPPORT", "CONTRACTS"],
    "ko": ["관리번호", "구분", "품명", "설치기관", "수량", "취득일", "내용연수", "만료일",
           "경과", "상태", "기술지원", "계약"],
}


def _write_table(rows: list[Row], lang: str, out: Any) -> None:
    body = []
    for row in rows:
        r = record(row)
        contracts = ", ".join(f"{_word(c['kind'], lang)} {_word(c['status'], lang)}"
                              for c in r["contracts"] if c["status"] != "active")
        body.append([r["id"], r["category"], r["name"], r["site"], r["quantity"],
                     r["acquired"], r["service_life_years"], r["life_ends"], r["years_elapsed"],
                     _word(r["status"], lang), _word(r["support"], lang), contracts or None])
    out.write(render_table(TABLE_HEADERS[lang], body, right_aligned=(4, 6, 8)))
    counts = {s: sum(1 for row in rows if row.lifecycle.status.value == s) for s in
              ("exceeded", "due", "in_service", "unknown")}
    as_of = rows[0].lifecycle.as_of.isoformat() if rows else "-"
    if lang == "ko":
        out.write(f"{as_of} 기준 {len(rows)}건: " +
                  ", ".join(f"{KO_WORDS[s]} {n}" for s, n in counts.items() if n) + "\n")
    else:
        out.write(f"{len(rows)} records as of {as_of}: " +
                  ", ".join(f"{n} {s}" for s, n in counts.items() if n) + "\n")

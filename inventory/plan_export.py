"""The replacement plan as csv, json, markdown or xlsx, with Korean or English labels.

`export(plan, fmt, lang)` returns the file's bytes for every format:

* csv: UTF-8 with a byte-order mark (Excel then reads the Korean right), one line per
  asset; money in won, plain integers; undated assets last, with the year left empty.
* json: the whole plan (rows, undated, totals); keys and reason codes are English and
  stable whatever `lang` is, labels follow `lang`; money in won, totals also in 천원.
* md: the district report's layout: a section per year with its rows, money in 천원;
  then the 연차별 소요재원 table (categories by years, 천원); then the undated assets.
* xlsx: a plan sheet (won, thousands separators), a totals sheet (천원), and an undated
  sheet when there are any; frozen headers, column widths, landscape fit-to-width pages.

Money shown in 천원 is converted by `inventory.plan.to_thousand_krw` (half up), per row
for the row columns and once per total for the totals, which are summed in won.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence

from inventory.plan import Amount, Asset, PlanRow, ReplacementPlan, to_thousand_krw
from inventory.plan_table import (
    BY_KEY,
    COLUMNS,
    LANGS,
    REASON_LABELS,
    TEXT,
    UNDATED_COLUMNS,
    Column,
    undated_row,
)

FORMATS = ("csv", "xlsx", "json", "md")
TEXT_FORMATS = ("csv", "json", "md")


def export(plan: ReplacementPlan, fmt: str, lang: str = "ko") -> bytes:
    """The plan as the bytes of a `fmt` file (see module doc)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")
    if fmt not in _EXPORTERS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return _EXPORTERS[fmt](plan, lang)


# --- csv ----------------------------------------------------------------------------------

def _csv(plan: ReplacementPlan, lang: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(column.label(lang) for column in COLUMNS)
    for row in plan.rows:
        writer.writerow(_blank(column.value(row, lang)) for column in COLUMNS)
    for asset in plan.undated:
        row = undated_row(asset)
        values = {c.key: _blank(c.value(row, lang)) for c in UNDATED_COLUMNS}
        values["note"] = "; ".join(filter(None, [TEXT[lang]["undated_note"], str(values["note"])]))
        writer.writerow(values.get(column.key, "") for column in COLUMNS)
    return out.getvalue().encode("utf-8-sig")


def _blank(value: object) -> object:
    return "" if value is None else value


# --- json ---------------------------------------------------------------------------------

def _json(plan: ReplacementPlan, lang: str) -> bytes:
    document = {
        "year": plan.year, "horizon": plan.horizon, "years": list(plan.years), "lang": lang,
        "repeated_outages": plan.repeated_outages,
        "rows": [_row_json(row, lang) for row in plan.rows],
        "undated": [_asset_json(asset, lang) for asset in plan.undated],
        "totals": _totals_json(plan, lang),
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _asset_json(asset: Asset, lang: str) -> dict[str, object]:
    return {
        "id": asset.device_id, "category": asset.category.key,
        "category_name": asset.category.display_name(lang), "name": asset.name,
        "model": asset.model, "site": asset.site, "location": asset.location,
        "acquired": asset.acquired.isoformat() if asset.acquired else None,
        "acquired_year": asset.acquired_year, "quantity": asset.quantity,
        "criticality": asset.criticality.value, "unit_cost_krw": asset.unit_cost_krw,
        "total_cost_krw": asset.total_cost_krw, "cost_missing": asset.cost_missing,
    }


def _row_json(row: PlanRow, lang: str) -> dict[str, object]:
    return {
        "year": row.year, "priority": row.priority, **_asset_json(row.asset, lang),
        "service_life_years": row.service_life_years, "years_elapsed": row.years_elapsed,
        "life_ends": _iso(row.life_ends), "support_ends": _iso(row.support_ends),
        "lease_ends": _iso(row.lease_ends), "reasons": [reason.value for reason in row.reasons],
        "reason_labels": [REASON_LABELS[lang][reason] for reason in row.reasons],
        "outages": row.outages,
    }


def _iso(value: object) -> str | None:
    return None if value is None else value.isoformat()  # type: ignore[attr-defined]


def _amount_json(amount: Amount) -> dict[str, int]:
    return {"krw": amount.krw, "thousand_krw": amount.thousand_krw, "rows": amount.rows,
            "quantity": amount.quantity, "cost_missing_rows": amount.cost_missing_rows}


def _totals_json(plan: ReplacementPlan, lang: str) -> dict[str, object]:
    totals = plan.totals
    return {
        "by_year": [{"year": year, **_amount_json(totals.by_year[year])} for year in totals.years],
        "by_category": [{"category": c.key, "category_name": c.display_name(lang),
                         **_amount_json(totals.by_category[c.key])} for c in totals.categories],
        "cells": [{"year": year, "category": c.key, **_amount_json(totals.cell(year, c.key))}
                  for c in totals.categories for year in totals.years],
        "overall": _amount_json(totals.overall),
    }


# --- markdown -----------------------------------------------------------------------------

MD_COLUMNS = tuple(BY_KEY[k] for k in ("priority", "category", "name", "model", "location",
                                        "acquired", "quantity", "life", "elapsed", "reasons",
                                        "unit_cost", "total_cost", "note"))


def _md(plan: ReplacementPlan, lang: str) -> bytes:
    text = TEXT[lang]
    first, last = plan.years[0], plan.years[-1]
    span = text["year"].format(year=first) + (
        "" if first == last else "–" + text["year"].format(year=last))
    lines = [f"# {span} {text['title']}" if lang == "ko" else f"# {text['title']} {span}", ""]
    for year in plan.years:
        lines += [f"## {text['year'].format(year=year)}", ""]
        rows = plan.rows_in(year)
        lines += _md_table(MD_COLUMNS, rows, lang) if rows else [f"({text['none']})"]
        lines.append("")
    lines += [f"## {text['totals']} ({text['unit']})", "", *_md_totals(plan, lang), "",
              text["rounding"]]
    if plan.totals.overall.cost_missing_rows:
        lines.append(text["missing_note"].format(n=plan.totals.overall.cost_missing_rows))
    if plan.undated:
        columns = tuple(c for c in UNDATED_COLUMNS if c.key not in ("unit_cost", "total_cost"))
        lines += ["", f"## {text['undated']}", "",
                  *_md_table(columns, [undated_row(a) for a in plan.undated], lang)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _md_table(columns: tuple[Column, ...], rows: Sequence[PlanRow], lang: str) -> list[str]:
    header = [_md_header(column, lang) for column in columns]
    align = ["---:" if column.kind != "text" else "---" for column in columns]
    body = [[_md_cell(column, column.value(row, lang)) for column in columns] for row in rows]
    return [_md_line(cells) for cells in (header, align, *body)]


def _md_header(column: Column, lang: str) -> str:
    # The district tables give money in 천원: so do the markdown rows.
    if column.kind == "won":
        return column.label(lang).replace("(원)", "(천원)").replace("(KRW)", "(thousand KRW)")
    return column.label(lang)


def _md_cell(column: Column, value: object) -> str:
    if value is None:
        return "-"
    if column.kind == "won":
        return f"{to_thousand_krw(value):,}"  # type: ignore[arg-type]
    return str(value)


def _md_line(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"


def _md_totals(plan: ReplacementPlan, lang: str) -> list[str]:
    text, totals = TEXT[lang], plan.totals
    header = [BY_KEY["category"].label(lang),
              *(text["year"].format(year=y) for y in totals.years), text["sum"]]
    lines = [_md_line(header), _md_line(["---"] + ["---:"] * (len(header) - 1))]
    for category in totals.categories:
        amounts = [totals.cell(y, category.key) for y in totals.years]
        lines.append(_md_line([category.display_name(lang), *(_md_amount(a, lang) for a in amounts),
                               _md_amount(totals.by_category[category.key], lang)]))
    year_amounts = [totals.by_year[y] for y in totals.years]
    lines.append(_md_line([f"**{text['sum']}**",
                           *(f"**{_md_amount(a, lang)}**" for a in year_amounts),
                           f"**{_md_amount(totals.overall, lang)}**"]))
    if totals.overall.cost_missing_rows:
        lines.append(_md_line([text["missing_rows"],
                               *(str(a.cost_missing_rows) for a in year_amounts),
                               str(totals.overall.cost_missing_rows)]))
    return lines


def _md_amount(amount: Amount, lang: str) -> str:
    """A total in 천원; one that lacks some costs says so, so that it is not read as whole."""
    if not amount.rows:
        return "-"
    text = f"{amount.thousand_krw:,}"
    if amount.cost_missing_rows:
        text += " " + TEXT[lang]["partial"].format(n=amount.cost_missing_rows)
    return text


def _xlsx(plan: ReplacementPlan, lang: str) -> bytes:
    from inventory.plan_xlsx import xlsx  # openpyxl is loaded only for a workbook

    return xlsx(plan, lang)


_EXPORTERS: dict[str, Callable[[ReplacementPlan, str], bytes]] = {
    "csv": _csv, "json": _json, "md": _md, "xlsx": _xlsx,
}

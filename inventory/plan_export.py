"""The replacement plan as csv, json, markdown or xlsx, with Korean or English labels.

`export(plan, fmt, lang)` returns the file's bytes for every format:

* md: the district report's own form (`inventory.plan_report`): a section per project
  with, for the budget year, a block per kind of asset (대 상, the
  구분/도입연도/수량/내용연수/주요기능/비고 table, 교체사유, 소요예산) and the section's
  연차별 소요재원 by 재원, 합계 first, the year before's actual, then the horizon's years;
  then every project's funds together, and appendices: the schedule row by row, what
  was deferred and why, the undated assets. Money in 천원.
* csv: UTF-8 with a byte-order mark (Excel then reads the Korean right), one line per
  row replaced, deferred (상태 이연) or undated, money in 천원, plain integers.
* json: the whole plan (rows, deferred, spent, undated, totals, funding per project);
  keys and reason codes are English and stable whatever `lang` is, labels follow `lang`;
  money in won, totals also in 천원.
* xlsx (`inventory.plan_xlsx`): the same report, a print-ready sheet per section.

Money shown in 천원 is converted by `inventory.plan.to_thousand_krw` (half up): per row for
the row columns, once per cell for the funding tables, which are summed in won.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence

from inventory.plan import Amount, Asset, Deferral, PlanRow, ReplacementPlan
from inventory.plan_report import Block, FundingTable, Line, Report, Section, report
from inventory.plan_table import (
    BY_KEY,
    COLUMNS,
    LANGS,
    REASON_LABELS,
    TEXT,
    UNDATED_COLUMNS,
    Column,
    block_title,
    defer_text,
    funding_label,
    line_note,
    quantity_label,
    reason_text,
    thousand,
    undated_row,
    year_label,
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
    text = TEXT[lang]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*(column.label(lang) for column in COLUMNS), _STATUS[lang]])
    lines = [(row, text["status_replace"], "") for row in plan.rows]
    lines += [(item.row, text["status_deferred"], defer_text(item, lang))
              for item in plan.deferred]
    lines += [(undated_row(asset), text["status_undated"], text["undated_note"])
              for asset in plan.undated]
    for row, status, why in lines:
        values = {c.key: _blank(c.value(row, lang)) for c in COLUMNS}
        values["note"] = "; ".join(filter(None, [why, str(values["note"])]))
        writer.writerow([*(values[c.key] for c in COLUMNS), status])
    return out.getvalue().encode("utf-8-sig")


_STATUS = {"ko": "상태", "en": "Status"}


def _blank(value: object) -> object:
    return "" if value is None else value


# --- json ---------------------------------------------------------------------------------

def _json(plan: ReplacementPlan, lang: str) -> bytes:
    document = {
        "year": plan.year, "horizon": plan.horizon, "years": list(plan.years), "lang": lang,
        "repeated_outages": plan.repeated_outages,
        "rows": [_row_json(row, lang) for row in plan.rows],
        "deferred": [{**_row_json(item.row, lang), "deferred_because": item.reason.value,
                      "deferred_label": defer_text(item, lang)} for item in plan.deferred],
        "spent": [{"year": item.year, "project": item.project.key,
                   **_asset_json(item.asset, lang)} for item in plan.spent],
        "undated": [_asset_json(asset, lang) for asset in plan.undated],
        "totals": _totals_json(plan, lang),
        "projects": [_section_json(section, lang) for section in report(plan).sections],
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
        "unit": asset.unit_ko, "function": asset.function, "funding": asset.funding,
        "notes": asset.notes, "renewed_in": asset.renewed_in,
    }


def _row_json(row: PlanRow, lang: str) -> dict[str, object]:
    return {
        "year": row.year, "priority": row.priority, **_asset_json(row.asset, lang),
        "project": row.project.key if row.project else None, "due_year": row.due_year,
        "service_life_years": row.service_life_years, "years_elapsed": row.years_elapsed,
        "life_ends": _iso(row.life_ends), "support_ends": _iso(row.support_ends),
        "lease_ends": _iso(row.lease_ends), "reasons": [reason.value for reason in row.reasons],
        "reason_labels": [REASON_LABELS[lang][reason] for reason in row.reasons],
        "outages": row.outages, "reason_text": reason_text_of(row, lang),
    }


def reason_text_of(row: PlanRow, lang: str) -> str:
    return str(BY_KEY["reasons"].value(row, lang))


def _section_json(section: Section, lang: str) -> dict[str, object]:
    return {"project": section.project.key,
            "name": section.project.display_name(lang),
            "cap_units": section.project.cap_units, "cap_krw": section.project.cap_krw,
            "order": section.project.order.value,
            "budget_thousand_krw": section.budget,
            "funding": _funding_json(section.funding, lang)}


def _funding_json(table: FundingTable, lang: str) -> dict[str, object]:
    return {"actual_year": table.actual_year, "years": list(table.years),
            "total_thousand_krw": table.total,
            "by_year_thousand_krw": {str(y): table.column_total(y) for y in table.years},
            "sources": [{"funding": source, "label": funding_label(source, lang),
                         "total_thousand_krw": table.row_total(source),
                         "by_year_thousand_krw": {str(y): table.cell(source, y)
                                                  for y in table.years}}
                        for source in table.sources]}


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

def _md(plan: ReplacementPlan, lang: str) -> bytes:
    text, whole = TEXT[lang], report(plan)
    first, last = plan.years[0], plan.years[-1]
    span = year_label(first, lang) + ("" if first == last else "–" + year_label(last, lang))
    lines = [f"# {span} {text['title']}" if lang == "ko" else f"# {text['title']} {span}", ""]
    for number, section in enumerate(whole.sections, start=1):
        lines += _md_section(plan, section, number, lang)
    if not whole.sections:
        lines += [text["nothing"].format(year=plan.year), ""]
    if len(whole.sections) > 1:
        lines += [f"## {text['projects_total']}", "", text["unit_line"], "",
                  *_md_projects(whole, lang), ""]
    lines += [text["rounding"]]
    if whole.funding.cost_missing_rows:
        lines.append(text["missing_note"].format(n=whole.funding.cost_missing_rows))
    lines += ["", f"## {text['detail']}", ""]
    lines += _md_table(COLUMNS_MD, plan.rows, lang) if plan.rows else [f"({text['none']})"]
    if plan.deferred:
        lines += ["", f"## {text['deferred']}", "", *_md_deferred(plan.deferred, lang)]
    if plan.undated:
        lines += ["", f"## {text['undated_appendix']}", "",
                  *_md_table(UNDATED_MD, [undated_row(a) for a in plan.undated], lang)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _md_section(plan: ReplacementPlan, section: Section, number: int, lang: str) -> list[str]:
    text = TEXT[lang]
    lines = [f"## {number}. {section.project.display_name(lang)}", ""]
    if not section.blocks:
        lines += [text["nothing"].format(year=plan.year), ""]
    for block in section.blocks:
        lines += _md_block(block, lang)
    budget = text["amount"].format(amount=thousand(section.budget))
    lines += [f"□ {text['budget'].format(year=plan.year)} : {budget}", "", text["unit_line"], "",
              *_md_funding(section.funding, lang), ""]
    return lines


def _md_block(block: Block, lang: str) -> list[str]:
    text = TEXT[lang]
    qty, title = quantity_label(block.quantity, block.unit_ko, lang), block_title(block, lang)
    header = BLOCK_HEADERS[lang]
    lines = [f"### {text['replace'].format(title=title)}", "",
             f"- {text['target']} : {text['target_value'].format(title=title, qty=qty)}",
             "", _md_line(header), _md_line(["---", "---:", "---:", "---:", "---", "---"])]
    for line in block.lines:
        lines.append(_md_line(block_cells(line, lang)))
    amount = text["amount_qty"].format(amount=thousand(block.amount.thousand_krw), qty=qty)
    if block.amount.cost_missing_rows:
        amount += " " + text["partial"].format(n=block.amount.cost_missing_rows)
    lines += ["", f"- {text['why']} : {reason_text(block.why, lang)}",
              f"- {text['cost']} : {amount}", ""]
    return lines


BLOCK_HEADERS = {"ko": ["구분", "도입연도", "수량", "내용연수", "주요기능", "비고"],
                 "en": ["Item", "Acquired", "Qty", "Service life", "Main function", "Notes"]}


def block_cells(line: Line, lang: str) -> list[str]:
    """A block's table line as the report writes it: '2008년', '7년', '13년 경과'."""
    year = line.acquired_year
    life = line.service_life_years
    if lang == "ko":
        acquired = f"{year}년" if year else "-"
        years = f"{life}년" if life else "-"
    else:
        acquired = str(year) if year else "-"
        years = f"{life} years" if life else "-"
    return [line.label, acquired, f"{line.quantity:,}", years, line.function or "-",
            line_note(line, lang) or "-"]


def funding_rows(table: FundingTable, lang: str) -> list[list[str]]:
    """The 연차별 소요재원 table: header, then 계 and a line per 재원 (합계 first)."""
    text = TEXT[lang]
    header = [text["funding"], text["sum"],
              *(text["actual"].format(year=y) if y == table.actual_year else year_label(y, lang)
                for y in table.years)]
    present = {year for _, year in table.cells}
    lines = [header, [text["all"], thousand(table.total),
                      *(thousand(table.column_total(y)) if y in present else "-"
                        for y in table.years)]]
    for source in table.sources:
        lines.append([funding_label(source, lang), thousand(table.row_total(source)),
                      *(thousand(table.cell(source, y)) if (source, y) in table.cells else "-"
                        for y in table.years)])
    return lines


def _md_funding(table: FundingTable, lang: str) -> list[str]:
    header, *body = funding_rows(table, lang)
    return [_md_line(header), _md_line(["---"] + ["---:"] * (len(header) - 1)),
            *(_md_line(line) for line in body)]


def _md_projects(whole: Report, lang: str) -> list[str]:
    text, table = TEXT[lang], whole.funding
    header = [text["project"], text["sum"],
              *(text["actual"].format(year=y) if y == table.actual_year else year_label(y, lang)
                for y in table.years)]
    lines = [_md_line(header), _md_line(["---"] + ["---:"] * (len(header) - 1))]
    for label, own in [(text["all"], table),
                       *((s.project.display_name(lang), s.funding) for s in whole.sections)]:
        present = {year for _, year in own.cells}
        lines.append(_md_line([label, thousand(own.total),
                               *(thousand(own.column_total(y)) if y in present else "-"
                                 for y in own.years)]))
    return lines


COLUMNS_MD = tuple(BY_KEY[k] for k in ("year", "priority", "id", "name", "acquired", "quantity",
                                        "life", "elapsed", "reasons", "total_cost", "funding",
                                        "note"))
UNDATED_MD = tuple(c for c in UNDATED_COLUMNS if c.key not in ("unit_cost", "unit"))
DEFERRED_MD = tuple(BY_KEY[k] for k in ("year", "id", "name", "acquired", "quantity",
                                         "total_cost", "note"))


def _md_deferred(items: Sequence[Deferral], lang: str) -> list[str]:
    labels = _DEFERRED_LABELS[lang]
    header = [*(c.label(lang) for c in DEFERRED_MD[:5]), labels[0], DEFERRED_MD[5].label(lang),
              labels[1], DEFERRED_MD[6].label(lang)]
    align = ["---:", "---", "---", "---:", "---:", "---:", "---:", "---", "---"]
    lines = [_md_line(header), _md_line(align)]
    for item in items:
        row = item.row
        cells = [_md_cell(c, c.value(row, lang)) for c in DEFERRED_MD]
        lines.append(_md_line([*cells[:5], str(row.due_year or "-"), cells[5],
                               defer_text(item, lang), cells[6]]))
    return lines


_DEFERRED_LABELS = {"ko": ("도래연도", "이연 사유"), "en": ("Due since", "Why deferred")}


def _md_table(columns: tuple[Column, ...], rows: Sequence[PlanRow], lang: str) -> list[str]:
    header = [column.label(lang) for column in columns]
    align = ["---:" if column.kind != "text" else "---" for column in columns]
    body = [[_md_cell(column, column.value(row, lang)) for column in columns] for row in rows]
    return [_md_line(cells) for cells in (header, align, *body)]


def _md_cell(column: Column, value: object) -> str:
    if value is None or value == "":
        return "-"
    if column.kind == "thousand" and isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _md_line(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"


def _xlsx(plan: ReplacementPlan, lang: str) -> bytes:
    from inventory.plan_xlsx import xlsx  # openpyxl is loaded only for a workbook

    return xlsx(plan, lang)


_EXPORTERS: dict[str, Callable[[ReplacementPlan, str], bytes]] = {
    "csv": _csv, "json": _json, "md": _md, "xlsx": _xlsx,
}

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
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from inventory.plan import Amount, Asset, PlanRow, Reason, ReplacementPlan, to_thousand_krw

FORMATS = ("csv", "xlsx", "json", "md")
TEXT_FORMATS = ("csv", "json", "md")
LANGS = ("ko", "en")

REASON_LABELS: dict[str, dict[Reason, str]] = {
    "ko": {Reason.SERVICE_LIFE: "내용연수 경과", Reason.VENDOR_SUPPORT: "제조사 기술지원 종료",
           Reason.LEASE: "임차 만료", Reason.OUTAGE_HISTORY: "장애 반복"},
    "en": {Reason.SERVICE_LIFE: "service life exceeded",
           Reason.VENDOR_SUPPORT: "vendor support ended", Reason.LEASE: "lease ends",
           Reason.OUTAGE_HISTORY: "repeated outages"},
}

# Words that are not column headers, per language.
TEXT: dict[str, dict[str, str]] = {
    "ko": {"title": "정보통신장비 교체 계획", "year": "{year}년", "totals": "연차별 소요재원",
           "unit": "단위: 천원", "sum": "합계", "missing_rows": "단가 미입력(건)",
           "cost_missing": "단가 미입력", "undated": "일정 미상 (취득일·기술지원 종료일 없음)",
           "undated_note": "일정 미상", "none": "해당 없음", "plan_sheet": "교체계획",
           "totals_sheet": "소요재원", "undated_sheet": "일정미상",
           "rounding": "금액은 원 단위로 합산한 뒤 천원 단위로 반올림했습니다.",
           "missing_note": "단가가 입력되지 않은 {n}건은 합계에 포함되지 않았습니다.",
           "partial": "(단가 미입력 {n}건 제외)",
           "partial_cells": "노란색 칸: 단가 미입력 항목이 있어 실제 소요액보다 적게 합산됨."},
    "en": {"title": "Equipment replacement plan", "year": "{year}",
           "totals": "Required funds by year",
           "unit": "thousand KRW", "sum": "Total", "missing_rows": "Rows without cost",
           "cost_missing": "cost missing", "undated": "Undated (no acquisition or support date)",
           "undated_note": "undated", "none": "none", "plan_sheet": "Plan",
           "totals_sheet": "Totals", "undated_sheet": "Undated",
           "rounding": "Amounts are summed in won, then rounded half up to thousand won.",
           "missing_note": "{n} rows without a unit cost are not included in the totals.",
           "partial": "(without {n} uncosted)",
           "partial_cells": "Yellow cells lack some unit costs: the real need is higher."},
}


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the plan table: its labels, how to get its value, and what it holds."""

    key: str
    ko: str
    en: str
    value: Callable[[PlanRow, str], object]
    kind: str = "text"                # text | int | won

    def label(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en


def _reasons(row: PlanRow, lang: str) -> str:
    return ", ".join(REASON_LABELS[lang][reason] for reason in row.reasons)


def _note(asset: Asset, lang: str) -> str:
    return TEXT[lang]["cost_missing"] if asset.cost_missing else ""


COLUMNS = (
    Column("year", "연도", "Year", lambda r, _: r.year, "int"),
    Column("priority", "순위", "Priority", lambda r, _: r.priority, "int"),
    Column("id", "관리번호", "ID", lambda r, _: r.asset.device_id),
    Column("category", "구분", "Category", lambda r, lang: r.asset.category.display_name(lang)),
    Column("name", "품명", "Name", lambda r, _: r.asset.name),
    Column("model", "모델", "Model", lambda r, _: r.asset.model),
    Column("site", "설치기관", "Site", lambda r, _: r.asset.site),
    Column("location", "설치장소", "Location", lambda r, _: r.asset.location),
    Column("acquired", "도입연도", "Acquired", lambda r, _: r.asset.acquired_year, "int"),
    Column("quantity", "수량", "Qty", lambda r, _: r.asset.quantity, "int"),
    Column("life", "내용연수(년)", "Service life (years)", lambda r, _: r.service_life_years,
           "int"),
    Column("elapsed", "경과연수(년)", "Years elapsed", lambda r, _: r.years_elapsed, "int"),
    Column("reasons", "교체사유", "Reasons", _reasons),
    Column("unit_cost", "단가(원)", "Unit cost (KRW)", lambda r, _: r.asset.unit_cost_krw, "won"),
    Column("total_cost", "금액(원)", "Total (KRW)", lambda r, _: r.asset.total_cost_krw, "won"),
    Column("note", "비고", "Notes", lambda r, lang: _note(r.asset, lang)),
)
_BY_KEY = {column.key: column for column in COLUMNS}

# The undated assets have no year, life or reasons; they share the asset columns.
UNDATED_COLUMNS = tuple(_BY_KEY[k] for k in ("id", "category", "name", "model", "site",
                                             "location", "quantity", "unit_cost", "total_cost",
                                             "note"))


def _undated_row(asset: Asset) -> PlanRow:
    """An undated asset dressed as a row, so that the asset columns can read it."""
    return PlanRow(year=0, priority=0, asset=asset, service_life_years=None, years_elapsed=None,
                   life_ends=None, support_ends=None, lease_ends=None, reasons=(), outages=None)


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
        row = _undated_row(asset)
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

MD_COLUMNS = tuple(_BY_KEY[k] for k in ("priority", "category", "name", "model", "location",
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
                  *_md_table(columns, [_undated_row(a) for a in plan.undated], lang)]
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
    header = [_BY_KEY["category"].label(lang),
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


# --- xlsx ---------------------------------------------------------------------------------

NUMBER_FORMAT = "#,##0"
# 맑은 고딕 is Excel's own Korean default; LibreOffice substitutes a Korean font for it.
_FONT = "맑은 고딕"
_BODY_FONT = Font(name=_FONT, size=10)
_HEADER_FONT = Font(name=_FONT, size=10, bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(vertical="top", wrap_text=True)
_TOP = Alignment(vertical="top")
_PARTIAL_FILL = PatternFill("solid", fgColor="FFF2CC")


def _xlsx(plan: ReplacementPlan, lang: str) -> bytes:
    text = TEXT[lang]
    book = Workbook()
    sheet = book.active
    sheet.title = text["plan_sheet"]
    _fill_table(sheet, COLUMNS, plan.rows, lang)
    _fill_totals(book.create_sheet(text["totals_sheet"]), plan, lang)
    if plan.undated:
        _fill_table(book.create_sheet(text["undated_sheet"]), UNDATED_COLUMNS,
                    [_undated_row(asset) for asset in plan.undated], lang)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fill_table(sheet: Worksheet, columns: tuple[Column, ...], rows: Sequence[PlanRow],
                lang: str) -> None:
    sheet.append([column.label(lang) for column in columns])
    for row in rows:
        sheet.append([column.value(row, lang) for column in columns])
    for index, column in enumerate(columns, start=1):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.font = _BODY_FONT
            # Long names wrap instead of widening the page; all cells top-aligned to match.
            cell.alignment = _WRAP if column.kind == "text" else _TOP
            if column.kind == "won" or column.key == "quantity":
                cell.number_format = NUMBER_FORMAT
    _finish(sheet, freeze="A2", widest=36)


def _fill_totals(sheet: Worksheet, plan: ReplacementPlan, lang: str) -> None:
    """Categories by years in 천원. An empty cell has no rows; a yellow one lacks some costs."""
    text, totals = TEXT[lang], plan.totals
    sheet.append([f"{_BY_KEY['category'].label(lang)} ({text['unit']})",
                  *(text["year"].format(year=y) for y in totals.years), text["sum"]])
    lines = [(c.display_name(lang), [totals.cell(y, c.key) for y in totals.years],
              totals.by_category[c.key]) for c in totals.categories]
    lines.append((text["sum"], [totals.by_year[y] for y in totals.years], totals.overall))
    for label, amounts, overall in lines:
        sheet.append([label, *(_xlsx_amount(a) for a in (*amounts, overall))])
        for cell, amount in zip(sheet[sheet.max_row][1:], (*amounts, overall), strict=False):
            cell.fill = _PARTIAL_FILL if amount.cost_missing_rows else PatternFill()
    sum_row = sheet.max_row
    sheet.append([text["missing_rows"], *(totals.by_year[y].cost_missing_rows
                                          for y in totals.years),
                  totals.overall.cost_missing_rows])
    sheet.append([])
    sheet.append([text["rounding"]])
    if totals.overall.cost_missing_rows:
        sheet.append([text["partial_cells"]])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.font = _HEADER_FONT if cell.row == sum_row else _BODY_FONT
            if cell.column > 1:
                cell.number_format = NUMBER_FORMAT
    _finish(sheet, freeze="B2", widest=30)


def _xlsx_amount(amount: Amount) -> int | None:
    return amount.thousand_krw if amount.rows else None


def _finish(sheet: Worksheet, *, freeze: str, widest: int = 40) -> None:
    """Header style, frozen panes, widths from the content, and pages that print readably."""
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.freeze_panes = freeze
    widths = []
    for index, cells in enumerate(sheet.iter_cols(max_row=sheet.max_row), start=1):
        header, *body = (_display_width(cell.value, cell.number_format) for cell in cells)
        # Headers wrap (two short lines), so a long header does not widen a number column.
        width = min(max(header if header <= 10 else 10, *body, 4) + 2, widest)
        sheet.column_dimensions[get_column_letter(index)].width = width
        widths.append(width)
    _fit_row_heights(sheet, widths)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"


def _fit_row_heights(sheet: Worksheet, widths: list[int]) -> None:
    """Rows tall enough for their wrapped cells. LibreOffice keeps the file's row heights
    rather than measuring wrapped text, so a wrapped cell would spill over the next row."""
    for row in sheet.iter_rows():
        lines = max((math.ceil(_display_width(cell.value, "") / max(widths[cell.column - 1] - 1, 1))
                     for cell in row if cell.alignment.wrap_text and cell.value is not None),
                    default=1)
        if lines > 1:
            sheet.row_dimensions[row[0].row].height = 14 * lines


def _display_width(value: object, number_format: str) -> int:
    """Columns a value needs. A Hangul syllable is about 1.6 digits wide (as rendered in
    LibreOffice with Nanum and Excel with 맑은 고딕); thousands separators count."""
    if value is None:
        return 0
    text = f"{value:,}" if isinstance(value, int) and number_format == NUMBER_FORMAT else str(value)
    if len(text) > 60:        # the rounding note row: let it overflow rather than widen
        return 0
    return math.ceil(sum(1.6 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text))


_EXPORTERS: dict[str, Callable[[ReplacementPlan, str], bytes]] = {
    "csv": _csv, "json": _json, "md": _md, "xlsx": _xlsx,
}

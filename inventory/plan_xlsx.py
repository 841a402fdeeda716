"""The replacement plan as an xlsx workbook: a plan sheet (won, thousands separators), a
totals sheet (천원), and an undated sheet when there are any; frozen headers, column widths,
landscape fit-to-width pages. Its own module so that openpyxl loads only for a workbook.
"""
from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from inventory.plan import Amount, PlanRow, ReplacementPlan
from inventory.plan_table import BY_KEY, COLUMNS, TEXT, UNDATED_COLUMNS, Column, undated_row

NUMBER_FORMAT = "#,##0"
# 맑은 고딕 is Excel's own Korean default; LibreOffice substitutes a Korean font for it.
_FONT = "맑은 고딕"
_BODY_FONT = Font(name=_FONT, size=10)
_HEADER_FONT = Font(name=_FONT, size=10, bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(vertical="top", wrap_text=True)
_TOP = Alignment(vertical="top")
_PARTIAL_FILL = PatternFill("solid", fgColor="FFF2CC")


def xlsx(plan: ReplacementPlan, lang: str) -> bytes:
    text = TEXT[lang]
    book = Workbook()
    sheet = book.active
    sheet.title = text["plan_sheet"]
    _fill_table(sheet, COLUMNS, plan.rows, lang)
    _fill_totals(book.create_sheet(text["totals_sheet"]), plan, lang)
    if plan.undated:
        _fill_table(book.create_sheet(text["undated_sheet"]), UNDATED_COLUMNS,
                    [undated_row(asset) for asset in plan.undated], lang)
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
    sheet.append([f"{BY_KEY['category'].label(lang)} ({text['unit']})",
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

"""The replacement plan as an xlsx workbook in the report's own form, print-ready, 천원.

One sheet per section of the report (`inventory.plan_report`): the project's blocks for the
budget year (대 상, the 구분/도입연도/수량/내용연수/주요기능/비고 table, 교체사유, 소요예산)
and its 연차별 소요재원 by 재원 (합계 first, the actual year, the horizon's years, under a
merged 연차별 소요재원 heading); then every project's funds together (when there are
several), the schedule row by row (세부내역), what was deferred (이연내역) and the undated
assets. Numbers are numbers (#,##0), tables ruled, long text wrapped with row heights to
match, A4 pages fitted to the width. Its own module so that openpyxl loads only for a
workbook.
"""
from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from inventory.plan import Deferral, PlanRow, ReplacementPlan
from inventory.plan_export import BLOCK_HEADERS, block_cells, funding_rows
from inventory.plan_report import Block, FundingTable, Report, Section, report
from inventory.plan_table import (
    COLUMNS,
    TEXT,
    UNDATED_COLUMNS,
    Column,
    block_title,
    defer_text,
    quantity_label,
    reason_text,
    thousand,
    undated_row,
)

NUMBER_FORMAT = "#,##0"
# 맑은 고딕 is Excel's own Korean default; LibreOffice substitutes a Korean font for it.
_FONT = "맑은 고딕"
_BODY_FONT = Font(name=_FONT, size=10)
_BOLD = Font(name=_FONT, size=10, bold=True)
_TITLE_FONT = Font(name=_FONT, size=14, bold=True)
_HEADING_FONT = Font(name=_FONT, size=12, bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(vertical="center", wrap_text=True)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_RIGHT = Alignment(horizontal="right", vertical="center")
# A section sheet's columns: 구분, 도입연도, 수량, 내용연수, 주요기능, 비고 (and, below,
# the funding table's 재원별, 합계 and years reuse them).
_SECTION_WIDTHS = (24, 11, 11, 11, 36, 24)
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def xlsx(plan: ReplacementPlan, lang: str) -> bytes:
    text, whole = TEXT[lang], report(plan)
    book = Workbook()
    names: set[str] = set()
    first = book.active
    for number, section in enumerate(whole.sections, start=1):
        sheet = first if number == 1 else book.create_sheet()
        sheet.title = _sheet_name(f"{number}. {section.project.display_name(lang)}", names)
        _section_sheet(sheet, plan, section, number, lang)
    if not whole.sections:
        first.title = _sheet_name(text["plan_sheet"], names)
        first.append([text["nothing"].format(year=plan.year)])
    if len(whole.sections) > 1:
        _projects_sheet(book.create_sheet(_sheet_name(text["totals_sheet"], names)), whole, lang)
    _rows_sheet(book.create_sheet(_sheet_name(text["detail_sheet"], names)), COLUMNS,
                plan.rows, lang)
    if plan.deferred:
        _deferred_sheet(book.create_sheet(_sheet_name(text["deferred_sheet"], names)),
                        plan.deferred, lang)
    if plan.undated:
        _rows_sheet(book.create_sheet(_sheet_name(text["undated_sheet"], names)),
                    UNDATED_COLUMNS, [undated_row(asset) for asset in plan.undated], lang)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(wanted: str, taken: set[str]) -> str:
    """A valid, unique sheet name: no []:*?/\\, at most 31 characters."""
    base = _SHEET_NAME.sub(" ", wanted).strip()[:31] or "Sheet"
    name, number = base, 2
    while name in taken:
        suffix = f" ({number})"
        name, number = base[:31 - len(suffix)] + suffix, number + 1
    taken.add(name)
    return name


# --- a section of the report --------------------------------------------------------------

def _section_sheet(sheet: Worksheet, plan: ReplacementPlan, section: Section, number: int,
                   lang: str) -> None:
    text = TEXT[lang]
    extra = max(0, len(section.funding.years) + 2 - len(_SECTION_WIDTHS))
    widths = (*_SECTION_WIDTHS, *(11,) * extra)
    sheet.sheet_properties.tabColor = "1F4E78"
    _put(sheet, [f"{number}. {section.project.display_name(lang)}"], _TITLE_FONT)
    sheet.append([])
    if not section.blocks:
        _put(sheet, [text["nothing"].format(year=plan.year)])
    for block in section.blocks:
        _block(sheet, block, lang)
    budget = text["amount"].format(amount=thousand(section.budget))
    _put(sheet, [f"□ {text['budget'].format(year=plan.year)} : {budget}"], _HEADING_FONT)
    _funding_table(sheet, section.funding, lang)
    if section.funding.cost_missing_rows:
        _put(sheet, [text["missing_note"].format(n=section.funding.cost_missing_rows)])
    _put(sheet, [text["rounding"]])
    _print_setup(sheet, widths, landscape=len(widths) > 8)
    _wrap_notes(sheet, widths)


def _block(sheet: Worksheet, block: Block, lang: str) -> None:
    text = TEXT[lang]
    qty, title = quantity_label(block.quantity, block.unit_ko, lang), block_title(block, lang)
    _put(sheet, [f"○ {text['replace'].format(title=title)}"], _BOLD)
    _put(sheet, [f"  - {text['target']} : "
                 f"{text['target_value'].format(title=title, qty=qty)}"])
    header_row = sheet.max_row + 1
    sheet.append(BLOCK_HEADERS[lang])
    for line in block.lines:
        cells = block_cells(line, lang)
        sheet.append([cells[0], cells[1], line.quantity, cells[3], cells[4], cells[5]])
    _rule(sheet, header_row, sheet.max_row, len(_SECTION_WIDTHS))
    for row in sheet.iter_rows(min_row=header_row + 1, max_row=sheet.max_row, min_col=2,
                               max_col=4):
        for cell in row:           # 도입연도, 수량, 내용연수: short, centred as the reports do
            cell.alignment = _CENTER
            cell.number_format = NUMBER_FORMAT if cell.column == 3 else "General"
    amount = text["amount_qty"].format(amount=thousand(block.amount.thousand_krw), qty=qty)
    if block.amount.cost_missing_rows:
        amount += " " + text["partial"].format(n=block.amount.cost_missing_rows)
    _put(sheet, [f"  - {text['why']} : {reason_text(block.why, lang)}"])
    _put(sheet, [f"  - {text['cost']} : {amount}"])
    sheet.append([])


def _funding_table(sheet: Worksheet, table: FundingTable, lang: str) -> None:
    """(단위 : 천원), then 재원별 | 합계 | 연차별 소요재원 (merged over the years), the year
    headings, 계 and a line per 재원. Numbers are numbers; a cell with nothing is '-'."""
    text = TEXT[lang]
    header, *body = funding_rows(table, lang)
    last_column = len(header)
    sheet.append([None] * (last_column - 1) + [text["unit_line"]])
    sheet.cell(sheet.max_row, last_column).alignment = _RIGHT
    top = sheet.max_row + 1
    sheet.append([header[0], header[1], text["by_year"]])
    sheet.append([None, None, *header[2:]])
    sheet.merge_cells(start_row=top, start_column=1, end_row=top + 1, end_column=1)
    sheet.merge_cells(start_row=top, start_column=2, end_row=top + 1, end_column=2)
    if last_column > 3:
        sheet.merge_cells(start_row=top, start_column=3, end_row=top, end_column=last_column)
    for line in body:
        sheet.append([line[0], *(_number(cell) for cell in line[1:])])
    _rule(sheet, top, sheet.max_row, last_column, header_rows=2)
    for row in sheet.iter_rows(min_row=top + 2, max_row=sheet.max_row, min_col=2,
                               max_col=last_column):
        for cell in row:
            cell.number_format = NUMBER_FORMAT
            cell.alignment = _RIGHT
    for cell in sheet[top + 2]:
        cell.font = _BOLD
    sheet.append([])


def _number(cell: str) -> int | str:
    return int(cell.replace(",", "")) if cell != "-" else "-"


# --- the other sheets ---------------------------------------------------------------------

def _projects_sheet(sheet: Worksheet, whole: Report, lang: str) -> None:
    text, table = TEXT[lang], whole.funding
    header = [text["project"], text["sum"],
              *(text["actual"].format(year=y) if y == table.actual_year
                else TEXT[lang]["year"].format(year=y) for y in table.years)]
    _put(sheet, [f"{text['projects_total']} {text['unit_line']}"], _HEADING_FONT)
    top = sheet.max_row + 1
    sheet.append(header)
    for label, own in [(text["all"], table),
                       *((s.project.display_name(lang), s.funding) for s in whole.sections)]:
        sheet.append([label, own.total, *(own.column_total(y) for y in own.years)])
    _rule(sheet, top, sheet.max_row, len(header))
    for row in sheet.iter_rows(min_row=top + 1, min_col=2):
        for cell in row:
            cell.number_format = NUMBER_FORMAT
    for cell in sheet[top + 1]:
        cell.font = _BOLD
    sheet.append([])
    _put(sheet, [text["rounding"]])
    _print_setup(sheet, (30, *(14,) * (len(header) - 1)), landscape=len(header) > 7)


def _rows_sheet(sheet: Worksheet, columns: Sequence[Column], rows: Sequence[PlanRow],
                lang: str) -> None:
    top = 1
    sheet.append([column.label(lang) for column in columns])
    for row in rows:
        sheet.append([column.value(row, lang) for column in columns])
    _rule(sheet, top, sheet.max_row, len(columns))
    for index, column in enumerate(columns, start=1):
        if column.kind != "text":
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = NUMBER_FORMAT if column.kind == "thousand" else "0"
                cell.alignment = _RIGHT
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    _print_setup(sheet, _widths(sheet), landscape=True)


def _deferred_sheet(sheet: Worksheet, items: Sequence[Deferral], lang: str) -> None:
    keys = ("year", "id", "name", "acquired", "quantity", "total_cost", "project", "note")
    columns = [c for c in COLUMNS if c.key in keys]
    due, why = ("도래연도", "이연 사유") if lang == "ko" else ("Due since", "Why deferred")
    sheet.append([*(c.label(lang) for c in columns), due, why])
    for item in items:
        sheet.append([*(c.value(item.row, lang) for c in columns), item.row.due_year,
                      defer_text(item, lang)])
    _rule(sheet, 1, sheet.max_row, len(columns) + 2)
    for index, column in enumerate(columns, start=1):
        if column.kind == "thousand":
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = NUMBER_FORMAT
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    _print_setup(sheet, _widths(sheet), landscape=True)


# --- layout -------------------------------------------------------------------------------

def _put(sheet: Worksheet, values: list[object], font: Font = _BODY_FONT) -> None:
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        cell.font = font


def _wrap_notes(sheet: Worksheet, widths: Sequence[int]) -> None:
    """A line of text alone in column A (a heading, 교체사유, a note) spans the page's
    width and wraps there, so that nothing runs past the printed columns."""
    span, total = len(widths), sum(widths)
    for row in sheet.iter_rows(max_col=1):
        cell = row[0]
        if not isinstance(cell.value, str) or cell.border.left.style:
            continue
        if any(sheet.cell(cell.row, column).value is not None for column in range(2, span + 1)):
            continue
        sheet.merge_cells(start_row=cell.row, start_column=1, end_row=cell.row, end_column=span)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        lines = math.ceil(_display_width(cell.value, "", cap=False) / max(total - 2, 1))
        if lines > 1:
            sheet.row_dimensions[cell.row].height = 15 * lines


def _rule(sheet: Worksheet, top: int, bottom: int, columns: int, header_rows: int = 1) -> None:
    """Borders round every cell of a table; its header rows shaded, bold and centred."""
    for row in sheet.iter_rows(min_row=top, max_row=bottom, max_col=columns):
        for cell in row:
            cell.border = _BOX
            header = cell.row < top + header_rows
            cell.font = _BOLD if header else _BODY_FONT
            if header:
                cell.fill = _HEADER_FILL
                cell.alignment = _CENTER
            else:
                cell.alignment = _WRAP


def _widths(sheet: Worksheet, widest: int = 36) -> tuple[int, ...]:
    widths = []
    for cells in sheet.iter_cols(max_row=sheet.max_row):
        header, *body = (_display_width(cell.value, cell.number_format) for cell in cells)
        widths.append(min(max(min(header, 10), *body, 4) + 2, widest))
    return tuple(widths)


def _print_setup(sheet: Worksheet, widths: Sequence[int], *, landscape: bool) -> None:
    """Widths, row heights for wrapped text, A4 fitted to the page width, margins."""
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    _fit_row_heights(sheet, widths)
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.print_options.horizontalCentered = True


def _fit_row_heights(sheet: Worksheet, widths: Sequence[int]) -> None:
    """Rows tall enough for their wrapped cells. LibreOffice keeps the file's row heights
    rather than measuring wrapped text, so a wrapped cell would spill over the next row."""
    merged = {cell.coordinate for group in sheet.merged_cells.ranges for row in group.cells
              for cell in [sheet.cell(*row)]}
    for row in sheet.iter_rows():
        lines = max((math.ceil(_display_width(cell.value, "") /
                               max(widths[cell.column - 1] - 1, 1))
                     for cell in row
                     if cell.alignment.wrap_text and cell.value is not None
                     and cell.column <= len(widths) and cell.coordinate not in merged),
                    default=1)
        if lines > 1:
            sheet.row_dimensions[row[0].row].height = 14 * lines


def _display_width(value: object, number_format: str, cap: bool = True) -> int:
    """Columns a value needs. A Hangul syllable is about 1.6 digits wide (as rendered in
    LibreOffice with Nanum and Excel with 맑은 고딕); thousands separators count."""
    if value is None:
        return 0
    text = f"{value:,}" if isinstance(value, int) and number_format == NUMBER_FORMAT else str(value)
    if cap and len(text) > 60:    # a note row: wrapped over the page, not a column width
        return 0
    return math.ceil(sum(1.6 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text))


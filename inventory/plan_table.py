"""The replacement plan's words: the detail table's columns with Korean and English
labels, and how the report words reasons (경과 / 예정), notes, quantities, 재원 and
deferrals. Every export format reads it.

Money in the detail columns is in 천원, each row's won rounded half up
(`inventory.plan.to_thousand_krw`); totals are summed in won first (`inventory.plan_report`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from inventory.plan import Asset, Deferral, DeferReason, PlanRow, Reason, to_thousand_krw
from inventory.plan_report import Block, Line, ReasonState

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
           "unit": "단위: 천원", "unit_line": "(단위 : 천원)", "sum": "합계", "all": "계",
           "funding": "재원별", "by_year": "연차별 소요재원", "actual": "{year}년(실적)",
           "missing_rows": "단가 미입력(건)",
           "cost_missing": "단가 미입력", "undated": "일정 미상 (취득일·기술지원 종료일 없음)",
           "undated_note": "일정 미상", "none": "해당 없음", "plan_sheet": "교체계획",
           "totals_sheet": "소요재원", "undated_sheet": "일정미상", "detail_sheet": "세부내역",
           "deferred_sheet": "이연내역",
           "replace": "{title} 교체", "target": "대 상", "target_value": "{title}({qty})",
           "why": "교체사유", "cost": "소요예산", "budget": "{year}년 소요예산",
           "amount": "{amount}천원", "amount_qty": "{amount}천원({qty})",
           "projects_total": "사업별 연차별 소요재원", "project": "사업",
           "detail": "붙임 1. 연차별 교체 일정 (세부 내역)",
           "deferred": "붙임 2. 이연 내역 (연간 상한 초과)",
           "undated_appendix": "붙임 3. 일정 미상 (취득일·기술지원 종료일 없음)",
           "nothing": "{year}년에 교체할 장비가 없습니다.",
           "rounding": "금액은 원 단위로 합산한 뒤 천원 미만을 반올림했습니다(칸마다 한 번); "
                       "계와 합계는 반올림한 칸을 더한 값입니다.",
           "missing_note": "단가가 입력되지 않은 {n}건은 합계에 포함되지 않았습니다.",
           "partial": "(단가 미입력 {n}건 제외)",
           "partial_cells": "노란색 칸: 단가 미입력 항목이 있어 실제 소요액보다 적게 합산됨.",
           "status_replace": "교체", "status_deferred": "이연", "status_undated": "일정 미상",
           "unspecified": "미지정"},
    "en": {"title": "Equipment replacement plan", "year": "{year}",
           "totals": "Required funds by year",
           "unit": "thousand KRW", "unit_line": "(thousand KRW)", "sum": "Total",
           "all": "All sources", "funding": "Funding", "by_year": "Required funds by year",
           "actual": "{year} (actual)", "missing_rows": "Rows without cost",
           "cost_missing": "cost missing", "undated": "Undated (no acquisition or support date)",
           "undated_note": "undated", "none": "none", "plan_sheet": "Plan",
           "totals_sheet": "Totals", "undated_sheet": "Undated", "detail_sheet": "Detail",
           "deferred_sheet": "Deferred",
           "replace": "Replace {title}", "target": "Assets", "target_value": "{title} ({qty})",
           "why": "Reason", "cost": "Budget", "budget": "{year} budget",
           "amount": "{amount} thousand KRW", "amount_qty": "{amount} thousand KRW ({qty})",
           "projects_total": "Required funds by project and year", "project": "Project",
           "detail": "Appendix 1. Schedule by year (detail)",
           "deferred": "Appendix 2. Deferred (yearly cap reached)",
           "undated_appendix": "Appendix 3. Undated (no acquisition or support date)",
           "nothing": "Nothing to replace in {year}.",
           "rounding": "Amounts are summed in won, then rounded half up to thousand won once "
                       "per cell; totals add the rounded cells.",
           "missing_note": "{n} rows without a unit cost are not included in the totals.",
           "partial": "(without {n} uncosted)",
           "partial_cells": "Yellow cells lack some unit costs: the real need is higher.",
           "status_replace": "replace", "status_deferred": "deferred",
           "status_undated": "undated", "unspecified": "unspecified"},
}

# 재원 the reports use, in English; any other is shown as written.
FUNDING_EN = {"구비": "District (구비)", "시비": "City (시비)", "국비": "National (국비)"}
UNITS_EN = {"식": "set", "대": "unit"}


def year_label(year: int, lang: str) -> str:
    return TEXT[lang]["year"].format(year=year)


def quantity_label(quantity: int, unit_ko: str, lang: str) -> str:
    """'2식', '221대'; '2 sets', '221 units'."""
    if lang == "ko":
        return f"{quantity:,}{unit_ko}"
    unit = UNITS_EN.get(unit_ko, "unit")
    return f"{quantity:,} {unit}{'' if quantity == 1 else 's'}"


def funding_label(source: str | None, lang: str) -> str:
    if source is None:
        return TEXT[lang]["unspecified"]
    return source if lang == "ko" else FUNDING_EN.get(source, source)


def thousand(amount: int) -> str:
    return f"{amount:,}"


def _month(when: date, lang: str) -> str:
    return f"{when.year}. {when.month}." if lang == "ko" else when.strftime("%Y-%m")


def block_title(block: Block, lang: str) -> str:
    """What a block replaces: its assets' common name, else the category's name."""
    return block.title or block.category.display_name(lang)


def reason_text(state: ReasonState, lang: str) -> str:
    """교체사유 as the reports word it: '내용연수 경과 및 노후화로 인한 제조사 기술지원 종료';
    an end during the budget year is '예정' with its month."""
    ko = lang == "ko"
    parts: list[str] = []
    if state.life_passed and state.support_passed:
        parts.append("내용연수 경과 및 노후화로 인한 제조사 기술지원 종료" if ko else
                     "service life exceeded and ageing; vendor support ended")
    else:
        if state.life_passed:
            parts.append("내용연수 경과 및 노후화" if ko else "service life exceeded and ageing")
        elif state.life is not None:
            parts.append(f"내용연수 경과 예정({_month(state.life, lang)})" if ko else
                         f"service life ends {_month(state.life, lang)}")
        if state.support_passed:
            parts.append("제조사 기술지원 종료" if ko else "vendor support ended")
        elif state.support is not None:
            parts.append(f"제조사 기술지원 종료 예정({_month(state.support, lang)})" if ko else
                         f"vendor support ends {_month(state.support, lang)}")
    if state.lease_passed:
        parts.append("임차 기간 만료" if ko else "lease ended")
    elif state.lease is not None:
        parts.append(f"임차 기간 만료 예정({_month(state.lease, lang)})" if ko else
                     f"lease ends {_month(state.lease, lang)}")
    if state.outages:
        parts.append("반복 장애 발생" if ko else "repeated outages")
    return (", " if ko else "; ").join(parts)


def elapsed_note(row: PlanRow, lang: str) -> str:
    """'13년 경과'; '7년 경과 예정' when the life ends during the year."""
    if row.years_elapsed is None:
        return ""
    upcoming = Reason.SERVICE_LIFE in row.reasons and not row.life_passed
    if lang == "ko":
        return f"{row.years_elapsed}년 경과" + (" 예정" if upcoming else "")
    return f"{row.years_elapsed} years" + (" at year end" if upcoming else " elapsed")


def asset_notes(row: PlanRow, lang: str) -> list[str]:
    """What the 비고 says of a row beyond its age: a successor, a carried-over backlog,
    the inventory's own note, a missing cost."""
    ko, asset = lang == "ko", row.asset
    notes: list[str] = []
    if asset.renewed_in is not None:
        notes.append(f"{asset.renewed_in}년 교체분" if ko else f"replaced in {asset.renewed_in}")
    if row.due_year is not None and row.due_year < row.year and row.priority:
        notes.append(f"{row.due_year}년 도래분 이월" if ko else f"due since {row.due_year}")
    if asset.notes:
        notes.append(asset.notes)
    if asset.cost_missing:
        notes.append(TEXT[lang]["cost_missing"])
    return notes


def line_note(line: Line, lang: str) -> str:
    """The 비고 of a block's line: the years elapsed, then each distinct note."""
    notes = [elapsed_note(line.rows[0], lang)]
    for row in line.rows:
        notes += [note for note in asset_notes(row, lang) if note not in notes]
    return ", ".join(note for note in notes if note)


def defer_text(item: Deferral, lang: str) -> str:
    """Why a due asset waits: the cap that was reached."""
    project = item.row.project
    if item.reason is DeferReason.CAP_UNITS and project and project.cap_units:
        cap = quantity_label(project.cap_units, item.row.asset.unit_ko, lang)
    elif project and project.cap_krw:
        cap = TEXT[lang]["amount"].format(amount=thousand(to_thousand_krw(project.cap_krw)))
    else:
        cap = "-"
    return f"연간 상한({cap}) 도달로 이연" if lang == "ko" else f"yearly cap ({cap}) reached"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the detail table: its labels, how to get its value, and what it holds."""

    key: str
    ko: str
    en: str
    value: Callable[[PlanRow, str], object]
    kind: str = "text"                # text | int | thousand (천원)

    def label(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en


def _reasons(row: PlanRow, lang: str) -> str:
    return reason_text(ReasonState.of([row]), lang) if row.reasons else ""


def _note(row: PlanRow, lang: str) -> str:
    return ", ".join(filter(None, [elapsed_note(row, lang), *asset_notes(row, lang)]))


def _thousand(value: int | None) -> int | None:
    return None if value is None else to_thousand_krw(value)


def _project(row: PlanRow, lang: str) -> str | None:
    return row.project.display_name(lang) if row.project else None


COLUMNS = (
    Column("year", "연도", "Year", lambda r, _: r.year or None, "int"),
    Column("priority", "순위", "Priority", lambda r, _: r.priority or None, "int"),
    Column("id", "관리번호", "ID", lambda r, _: r.asset.device_id),
    Column("category", "구분", "Category", lambda r, lang: r.asset.category.display_name(lang)),
    Column("name", "품명", "Name", lambda r, _: r.asset.name),
    Column("model", "모델", "Model", lambda r, _: r.asset.model),
    Column("site", "설치기관", "Site", lambda r, _: r.asset.site),
    Column("location", "설치장소", "Location", lambda r, _: r.asset.location),
    Column("acquired", "도입연도", "Acquired", lambda r, _: r.asset.acquired_year, "int"),
    Column("quantity", "수량", "Qty", lambda r, _: r.asset.quantity, "int"),
    Column("unit", "단위", "Unit",
           lambda r, lang: r.asset.unit_ko if lang == "ko" else UNITS_EN.get(r.asset.unit_ko)),
    Column("life", "내용연수(년)", "Service life (years)", lambda r, _: r.service_life_years,
           "int"),
    Column("elapsed", "경과연수(년)", "Years elapsed", lambda r, _: r.years_elapsed, "int"),
    Column("reasons", "교체사유", "Reasons", _reasons),
    Column("unit_cost", "단가(천원)", "Unit cost (thousand KRW)",
           lambda r, _: _thousand(r.asset.unit_cost_krw), "thousand"),
    Column("total_cost", "금액(천원)", "Total (thousand KRW)",
           lambda r, _: _thousand(r.asset.total_cost_krw), "thousand"),
    Column("funding", "재원", "Funding", lambda r, lang: funding_label(r.asset.funding, lang)),
    Column("function", "주요기능", "Main function", lambda r, _: r.asset.function),
    Column("project", "사업", "Project", _project),
    Column("note", "비고", "Notes", _note),
)
BY_KEY = {column.key: column for column in COLUMNS}

# The undated assets have no year, life or reasons; they share the asset columns.
UNDATED_COLUMNS = tuple(BY_KEY[k] for k in ("id", "category", "name", "model", "site",
                                             "location", "quantity", "unit", "unit_cost",
                                             "total_cost", "funding", "note"))


def undated_row(asset: Asset) -> PlanRow:
    """An undated asset dressed as a row, so that the asset columns can read it."""
    return PlanRow(year=0, priority=0, asset=asset, service_life_years=None, years_elapsed=None,
                   life_ends=None, support_ends=None, lease_ends=None, reasons=(), outages=None)

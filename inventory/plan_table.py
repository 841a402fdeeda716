"""The replacement plan as a table: its columns, their Korean and English labels, and
the words the exports share (reasons, notes, headings). Every export format reads it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inventory.plan import Asset, PlanRow, Reason

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
BY_KEY = {column.key: column for column in COLUMNS}

# The undated assets have no year, life or reasons; they share the asset columns.
UNDATED_COLUMNS = tuple(BY_KEY[k] for k in ("id", "category", "name", "model", "site",
                                             "location", "quantity", "unit_cost", "total_cost",
                                             "note"))


def undated_row(asset: Asset) -> PlanRow:
    """An undated asset dressed as a row, so that the asset columns can read it."""
    return PlanRow(year=0, priority=0, asset=asset, service_life_years=None, years_elapsed=None,
                   life_ends=None, support_ends=None, lease_ends=None, reasons=(), outages=None)

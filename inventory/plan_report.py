"""The replacement plan arranged as the district's report arranges it: one section per
project, in it a block per kind of asset replaced in the budget year (the
구분/도입연도/수량/내용연수/주요기능/비고 table, 교체사유, 소요예산), and the section's
연차별 소요재원 by 재원 (funding source) with 합계 first, the year before's actual spend and
the horizon's years. Language-free: `inventory.plan_table` words it, the exports lay it out.

Money in 천원, rounded as the office's tables add up: each cell of a funding table is its
won summed and rounded half up once (`inventory.plan.to_thousand_krw`); the 계 row and the
합계 column add those rounded cells, so the printed table sums exactly. A block's 소요예산
is its won summed and rounded once.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from inventory.model import Project
from inventory.plan import (
    Amount,
    Asset,
    CategoryLabel,
    Deferral,
    PlanRow,
    Reason,
    ReplacementPlan,
    to_thousand_krw,
)

# 재원 in the order the reports list them; others follow alphabetically, unnamed last.
FUNDING_ORDER = ("구비", "시비", "국비", "특별교부금", "특별조정교부금")


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """One line of a block's table: assets of one name, year, life and function."""

    label: str
    acquired_year: int | None
    quantity: int
    unit_ko: str
    service_life_years: int | None
    years_elapsed: int | None
    function: str | None
    rows: tuple[PlanRow, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """What one kind of asset (a category, within a project) needs in the budget year."""

    title: str | None                 # the assets' common name (행정망 백본 스위치), if any
    category: CategoryLabel
    unit_ko: str
    lines: tuple[Line, ...]
    rows: tuple[PlanRow, ...]

    @property
    def quantity(self) -> int:
        return sum(row.asset.quantity for row in self.rows)

    @property
    def amount(self) -> Amount:
        return Amount.of(row.asset for row in self.rows)

    @property
    def why(self) -> ReasonState:
        return ReasonState.of(self.rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasonState:
    """Which reasons hold across rows, and whether each had already happened by 1 Jan
    (경과, 종료) or happens during the year (예정, with the earliest date)."""

    life: date | None = None          # set when the life ends during the year (예정)
    life_passed: bool = False
    support: date | None = None
    support_passed: bool = False
    lease: date | None = None
    lease_passed: bool = False
    outages: bool = False

    @classmethod
    def of(cls, rows: Iterable[PlanRow]) -> ReasonState:
        life: list[date] = []
        support: list[date] = []
        lease: list[date] = []
        flags = {"life_passed": False, "support_passed": False, "lease_passed": False,
                 "outages": False}
        for row in rows:
            first = date(row.year, 1, 1)
            if Reason.SERVICE_LIFE in row.reasons and row.life_ends is not None:
                flags["life_passed"] |= row.life_passed
                life.append(row.life_ends)
            if Reason.VENDOR_SUPPORT in row.reasons and row.support_ends is not None:
                flags["support_passed"] |= row.support_passed
                support.append(row.support_ends)
            if Reason.LEASE in row.reasons and row.lease_ends is not None:
                flags["lease_passed"] |= row.lease_ends < first
                lease.append(row.lease_ends)
            flags["outages"] |= Reason.OUTAGE_HISTORY in row.reasons
        return cls(life=None if flags["life_passed"] or not life else min(life),
                   support=None if flags["support_passed"] or not support else min(support),
                   lease=None if flags["lease_passed"] or not lease else min(lease), **flags)


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingTable:
    """연차별 소요재원 of a project (or of the whole plan): 천원 by 재원 and year."""

    actual_year: int
    years: tuple[int, ...]            # the actual year first, then the plan's years
    sources: tuple[str | None, ...]
    cells: dict[tuple[str | None, int], int]
    cost_missing_rows: int

    def cell(self, source: str | None, year: int) -> int:
        return self.cells.get((source, year), 0)

    def row_total(self, source: str | None) -> int:
        return sum(self.cell(source, year) for year in self.years)

    def column_total(self, year: int) -> int:
        return sum(self.cell(source, year) for source in self.sources)

    @property
    def total(self) -> int:
        return sum(self.column_total(year) for year in self.years)


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """A project of the report: its blocks in the budget year, its funding table, and
    every row and deferral of the horizon (the appendix)."""

    project: Project
    blocks: tuple[Block, ...]
    funding: FundingTable
    rows: tuple[PlanRow, ...]
    deferred: tuple[Deferral, ...]

    @property
    def budget(self) -> int:
        """The budget year's need in 천원, as the funding table shows it."""
        return self.funding.column_total(self.funding.years[1])


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    plan: ReplacementPlan
    sections: tuple[Section, ...]
    funding: FundingTable             # every project together

    @property
    def budget(self) -> int:
        return self.funding.column_total(self.plan.year)


def report(plan: ReplacementPlan) -> Report:
    """The plan arranged as the report (module doc)."""
    sections = tuple(_section(plan, project) for project in plan.projects)
    every = _funding(plan, plan.rows, [spent.asset for spent in plan.spent])
    return Report(plan=plan, sections=sections, funding=every)


def _section(plan: ReplacementPlan, project: Project) -> Section:
    rows = tuple(row for row in plan.rows if _in(row, project))
    spent = [item.asset for item in plan.spent if item.project.key == project.key]
    budget_rows = [row for row in rows if row.year == plan.year]
    return Section(project=project, blocks=_blocks(budget_rows),
                   funding=_funding(plan, rows, spent), rows=rows,
                   deferred=tuple(d for d in plan.deferred if _in(d.row, project)))


def _in(row: PlanRow, project: Project) -> bool:
    return row.project is not None and row.project.key == project.key


def _blocks(rows: Sequence[PlanRow]) -> tuple[Block, ...]:
    """A block per category, in the order of its first (highest-priority) row."""
    by_category: dict[str, list[PlanRow]] = {}
    for row in rows:
        by_category.setdefault(row.asset.category.key, []).append(row)
    blocks = []
    for group in by_category.values():
        first = group[0].asset
        blocks.append(Block(title=common_name([row.asset.name for row in group]),
                            category=first.category, unit_ko=first.unit_ko,
                            lines=_lines(group), rows=tuple(group)))
    return tuple(blocks)


def _lines(rows: Sequence[PlanRow]) -> tuple[Line, ...]:
    """Rows of one name stem, acquisition year, life and function make one line; lines
    oldest first, as the reports list them."""
    groups: dict[tuple[object, ...], list[PlanRow]] = {}
    for row in rows:
        key = (name_stem(row.asset.name), row.asset.acquired_year, row.service_life_years,
               row.asset.function, row.asset.renewed_in)
        groups.setdefault(key, []).append(row)
    lines = [Line(label=name_stem(group[0].asset.name), acquired_year=group[0].asset.acquired_year,
                  quantity=sum(row.asset.quantity for row in group),
                  unit_ko=group[0].asset.unit_ko,
                  service_life_years=group[0].service_life_years,
                  years_elapsed=group[0].years_elapsed, function=group[0].asset.function,
                  rows=tuple(group)) for group in groups.values()]
    lines.sort(key=lambda line: (line.acquired_year or 9999, line.label))
    return tuple(lines)


def _funding(plan: ReplacementPlan, rows: Iterable[PlanRow],
             spent: Iterable[Asset]) -> FundingTable:
    won: dict[tuple[str | None, int], int] = {}
    missing = 0
    for year, asset in [*((row.year, row.asset) for row in rows),
                        *((plan.actual_year, asset) for asset in spent)]:
        key = (asset.funding, year)
        won[key] = won.get(key, 0) + (asset.total_cost_krw or 0)
        missing += asset.cost_missing
    sources = sorted({source for source, _ in won}, key=_funding_order)
    return FundingTable(actual_year=plan.actual_year, years=(plan.actual_year, *plan.years),
                        sources=tuple(sources) or (None,),
                        cells={key: to_thousand_krw(value) for key, value in won.items()},
                        cost_missing_rows=missing)


def _funding_order(source: str | None) -> tuple[int, str]:
    if source is None:
        return (len(FUNDING_ORDER) + 1, "")
    if source in FUNDING_ORDER:
        return (FUNDING_ORDER.index(source), source)
    return (len(FUNDING_ORDER), source)


def name_stem(name: str) -> str:
    """A name without its trailing number: '행정망 백본 스위치 1' -> '행정망 백본 스위치';
    '업무용 PC (2019년 도입분)' -> '업무용 PC'."""
    stem = re.sub(r"\s*\([^)]*\)\s*$", "", name).strip()
    stem = re.sub(r"[\s\-_#]*\d+$", "", stem).strip()
    return stem or name


def common_name(names: Sequence[str]) -> str | None:
    """The words every name starts with, without trailing numbers; None if none."""
    stems = [name_stem(name) for name in names]
    words = [stem.split() for stem in stems]
    common: list[str] = []
    for column in zip(*words, strict=False):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    return " ".join(common) or None

"""The yearly replacement plan: which assets are replaced in budget years Y..Y+N, what it
costs, what waits and why.

A pure function of the devices, the service-life policy, the budget year, the horizon, the
plan settings (projects, yearly caps, order) and (optionally) outage counts per device; it
reads no files and no clock.

When an asset falls due (DESIGN.md "Lifecycle rules"):

* its service life ends (acquired + service life, per `inventory.lifecycle`) on or before
  31 Dec of a year: reason `service_life`;
* its manufacturer support ends (`support_ends`, else the EoX last date of support; the
  last supported day) on or before 31 Dec of a year: reason `vendor_support`;
* its lease ends on or before 31 Dec of a year: reason `lease` (a leased MFP is not bought
  but its lease is renewed; the renewal needs the same line in the budget).

The schedule, year by year from Y: every asset due by the end of the year and not yet
replaced is a candidate (an asset overdue before Y is a candidate in Y). Candidates are
grouped by project (`inventory.model.Project`: the config's `plan.projects`, else a
project per category). A project without a cap takes all its candidates; one with a
yearly cap (units, or won) takes them in its order (`oldest_first`: acquisition date, then
priority; `priority`: the priority below) until the cap is reached, splitting a batch
(221 of 384 PCs) where the cap falls inside it, and never letting a later candidate jump
ahead of one that did not fit. What is left is *deferred*: listed in that year with why,
and a candidate again the next year. A replaced asset's successor (the same asset bought
in the year it was replaced, no support or EoX dates) comes due again one service life
later (the rule in force in that year) and is scheduled like any other asset when that
falls within the horizon.

An asset appears in the plan with every reason that holds by 31 Dec of the year it is
replaced. `outage_history` is added when the caller passes outage counts for the last
12 months and the device has at least `repeated_outages` of them; it ranks an asset higher
but never puts it in the plan on its own (the plan ranks candidates, it does not condemn).
Assets retired on or before 1 Jan of Y are left out. An asset with `replaced_in` is left
out too: it was replaced; the year before Y its replacement cost is that year's actual
spend (`ReplacementPlan.spent`), and when the inventory does not hold its successor
(`replaced_by`), the plan assumes one bought that year.

Assets that cannot be scheduled at all (no acquisition date, no support end, no lease end)
are listed apart as `undated`, so that they are not lost.

Priority (1 = first), within each year, by these keys in turn:

1. service life already exceeded on 1 Jan of the year, before life ending during the year,
   before life not ending this year (due for another reason);
2. support already ended on 1 Jan, before support ending during the year, before supported;
3. repeated outages before none;
4. criticality: critical, high, normal, low (`Criticality.rank`);
5. older first (acquisition date; unknown last);
6. device id, so that the order is total and stable.

Money: row costs are integer won. Totals are summed in won and converted to thousand won
(천원) once, at the end, rounding half up (239,931,500 won -> 239,932 천원), so that rounding
never accumulates across rows. A row without a cost is flagged `cost_missing`; it adds
nothing to a total, and every total says how many of its rows lacked a cost.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from inventory.lifecycle import (
    Lifecycle,
    LifeStatus,
    Policy,
    SupportStatus,
    add_years,
    assess,
    service_life_of,
)
from inventory.model import Criticality, Device, Order, PlanSettings, Project, VendorDates

DEFAULT_REPEATED_OUTAGES = 3

# How candidates rank: a tuple compared element by element (see `_candidate`).
SortKey = tuple[Any, ...]


class Reason(StrEnum):
    """Why an asset is in the plan. The values are the stable codes used in exports."""

    SERVICE_LIFE = "service_life"
    VENDOR_SUPPORT = "vendor_support"
    LEASE = "lease"
    OUTAGE_HISTORY = "outage_history"


@dataclass(frozen=True, slots=True)
class CategoryLabel:
    """A category's key and display names, as the plan shows it."""

    key: str
    name_ko: str
    name_en: str

    def display_name(self, lang: str) -> str:
        return self.name_ko if lang == "ko" else self.name_en


@dataclass(frozen=True, slots=True, kw_only=True)
class Asset:
    """What the plan shows of a device: identity, place, quantity and price (won), and
    what the report says of it (주요기능, 재원, 비고). A successor the plan assumes keeps
    its predecessor's id and says in `renewed_in` when that was replaced."""

    device_id: str
    category: CategoryLabel
    name: str
    model: str | None
    site: str | None
    location: str | None
    acquired: date | None
    quantity: int
    criticality: Criticality
    unit_cost_krw: int | None
    unit_ko: str = "대"                  # the counter word of the quantity: 대, 식
    function: str | None = None          # 주요기능
    funding: str | None = None           # 재원; None: not said
    notes: str | None = None             # 비고
    renewed_in: int | None = None        # a successor: the year its predecessor was replaced

    @property
    def acquired_year(self) -> int | None:
        return self.acquired.year if self.acquired else None

    @property
    def total_cost_krw(self) -> int | None:
        return None if self.unit_cost_krw is None else self.unit_cost_krw * self.quantity

    @property
    def cost_missing(self) -> bool:
        return self.unit_cost_krw is None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanRow:
    """One asset (or the part of a batch) replaced in `year`, with why and how urgently."""

    year: int
    priority: int                     # 1 = first, within the year
    asset: Asset
    project: Project | None = None    # the section of the report it belongs to
    due_year: int | None = None       # the year it first fell due (earlier: it waited)
    service_life_years: int | None
    years_elapsed: int | None         # year - acquired year, the budget tables' convention
    life_ends: date | None
    support_ends: date | None
    lease_ends: date | None
    reasons: tuple[Reason, ...]
    outages: int | None               # outages in the last 12 months, when the caller knew

    @property
    def life_passed(self) -> bool:
        """The service life ended before the year began (경과), not during it (예정)."""
        return self.life_ends is not None and self.life_ends <= date(self.year, 1, 1)

    @property
    def support_passed(self) -> bool:
        """Support had ended before the year began (종료), not during it (종료 예정)."""
        return self.support_ends is not None and self.support_ends < date(self.year, 1, 1)


class DeferReason(StrEnum):
    """Why a due asset waits for a later year."""

    CAP_UNITS = "cap_units"           # the project's yearly cap in units is reached
    CAP_KRW = "cap_krw"               # its yearly cap in money is reached


@dataclass(frozen=True, slots=True, kw_only=True)
class Deferral:
    """What was due in `row.year` but waits: `row` as it would be (priority 0), and why."""

    row: PlanRow
    reason: DeferReason


@dataclass(frozen=True, slots=True, kw_only=True)
class Spent:
    """An asset the inventory says was replaced in `year` (`replaced_in`): actual spend."""

    year: int
    project: Project
    asset: Asset


@dataclass(frozen=True, slots=True, kw_only=True)
class Amount:
    """Money over a set of rows, in won, with how many of them had no cost."""

    krw: int = 0
    rows: int = 0
    quantity: int = 0
    cost_missing_rows: int = 0

    @property
    def thousand_krw(self) -> int:
        return to_thousand_krw(self.krw)

    @classmethod
    def of(cls, assets: Iterable[Asset]) -> Amount:
        krw = rows = quantity = missing = 0
        for asset in assets:
            krw += asset.total_cost_krw or 0
            rows += 1
            quantity += asset.quantity
            missing += asset.cost_missing
        return cls(krw=krw, rows=rows, quantity=quantity, cost_missing_rows=missing)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanTotals:
    """연차별 소요재원: amounts per (year, category), per year, per category, and overall.

    `categories` lists the categories that have rows, in the policy's order.
    """

    years: tuple[int, ...]
    categories: tuple[CategoryLabel, ...]
    cells: Mapping[tuple[int, str], Amount]
    by_year: Mapping[int, Amount]
    by_category: Mapping[str, Amount]
    overall: Amount

    def cell(self, year: int, category: str) -> Amount:
        return self.cells.get((year, category), Amount())


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplacementPlan:
    """The plan for budget years `year`..`year + horizon`: rows by year, then priority."""

    year: int
    horizon: int
    repeated_outages: int
    rows: tuple[PlanRow, ...]
    undated: tuple[Asset, ...]           # cannot be placed in a year: no usable date
    totals: PlanTotals
    projects: tuple[Project, ...] = ()   # the report's sections, in order
    deferred: tuple[Deferral, ...] = ()  # by year, then the project's order
    spent: tuple[Spent, ...] = ()        # replaced in year - 1: the actual column

    @property
    def actual_year(self) -> int:
        """The year before the budget year, whose actual spend the report shows."""
        return self.year - 1

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.year, self.year + self.horizon + 1))

    def rows_in(self, year: int) -> tuple[PlanRow, ...]:
        return tuple(row for row in self.rows if row.year == year)

    def deferred_in(self, year: int) -> tuple[Deferral, ...]:
        return tuple(item for item in self.deferred if item.row.year == year)


def to_thousand_krw(krw: int) -> int:
    """Won to thousand won, rounding half up (away from zero), as budget tables show money."""
    return int((Decimal(krw) / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def build_plan(devices: Iterable[Device], policy: Policy, *, year: int, horizon: int = 0,
               outages: Mapping[str, int] | None = None,
               repeated_outages: int = DEFAULT_REPEATED_OUTAGES,
               settings: PlanSettings | None = None) -> ReplacementPlan:
    """The replacement plan for budget years `year`..`year + horizon` (see module doc)."""
    if horizon < 0:
        raise ValueError(f"horizon must be 0 or more, not {horizon}")
    if repeated_outages < 1:
        raise ValueError(f"repeated_outages must be 1 or more, not {repeated_outages}")
    devices = tuple(devices)
    context = _Context(policy, settings or PlanSettings(), outages, repeated_outages,
                       year + horizon, {device.id for device in devices})
    pending: list[_Pending] = []
    undated: list[Asset] = []
    spent: list[Spent] = []
    for device in devices:
        if device.replaced_in is not None:
            if device.replaced_in == year - 1:
                spent.append(Spent(year=device.replaced_in, project=context.project_of(device),
                                   asset=context.asset(device)))
            if device.replaced_by not in context.ids:
                context.renew(pending, device, device.replaced_in, device.quantity)
            continue
        if device.is_retired(date(year, 1, 1)):
            continue
        due = context.due_year(device, year)
        if due is None:
            undated.append(context.asset(device))
        elif due <= context.last_year:
            pending.append(_Pending(device, device.quantity, due, None,
                                    context.project_of(device)))
    candidates: list[tuple[SortKey, PlanRow]] = []
    deferred: list[Deferral] = []
    for current in range(year, context.last_year + 1):
        _schedule_year(context, current, pending, candidates, deferred)
        pending = [item for item in pending if item.quantity > 0]
    rows = _prioritise(candidates)
    undated.sort(key=lambda asset: asset.device_id)
    return ReplacementPlan(year=year, horizon=horizon, repeated_outages=repeated_outages,
                           rows=rows, undated=tuple(undated),
                           totals=_totals(rows, policy, tuple(range(year, context.last_year + 1))),
                           projects=context.projects_used(rows, deferred, spent),
                           deferred=tuple(deferred), spent=tuple(spent))


@dataclass(slots=True)
class _Pending:
    """Units of a device (or of a successor the plan assumes) due and not yet replaced."""

    device: Device
    quantity: int
    due: int
    renewed_in: int | None
    project: Project


class _Context:
    """What scheduling every year needs: the policy, the projects, outages, labels."""

    def __init__(self, policy: Policy, settings: PlanSettings,
                 outages: Mapping[str, int] | None, repeated_outages: int, last_year: int,
                 ids: set[str]):
        self.policy, self.settings, self.outages = policy, settings, outages
        self.repeated_outages, self.last_year, self.ids = repeated_outages, last_year, ids
        self.labels = {key: CategoryLabel(c.key, c.name_ko, c.name_en)
                       for key, c in policy.items()}
        self.by_device = {d: p for p in settings.projects for d in p.devices}
        self.by_category = {c: p for p in settings.projects for c in p.categories}
        self.own: dict[str, Project] = {}

    def project_of(self, device: Device) -> Project:
        found = self.by_device.get(device.id) or self.by_category.get(device.category)
        if found is not None:
            return found
        if device.category not in self.own:
            label = self.label(device.category)
            self.own[device.category] = Project(key=device.category, name_ko=label.name_ko,
                                                name_en=label.name_en,
                                                categories=(device.category,))
        return self.own[device.category]

    def projects_used(self, rows: Iterable[PlanRow], deferred: Iterable[Deferral],
                      spent: Iterable[Spent]) -> tuple[Project, ...]:
        """The configured projects with something in them, in the config's order, then
        each category's own, in the policy's order."""
        used = {row.project.key for row in rows if row.project is not None}
        used |= {item.row.project.key for item in deferred if item.row.project is not None}
        used |= {item.project.key for item in spent}
        order = {key: index for index, key in enumerate(self.policy)}
        own = sorted(self.own.values(), key=lambda p: (order.get(p.key, len(order)), p.key))
        return tuple(p for p in (*self.settings.projects, *own) if p.key in used)

    def label(self, category: str) -> CategoryLabel:
        # The loader rejects unknown categories; a caller passing a partial policy still
        # gets a row, labelled with the bare key, rather than an exception.
        return self.labels.get(category) or CategoryLabel(category, category, category)

    def asset(self, device: Device, quantity: int | None = None,
              renewed_in: int | None = None) -> Asset:
        category = self.policy.get(device.category)
        return Asset(device_id=device.id, category=self.label(device.category),
                     name=device.name, model=device.model, site=device.site,
                     location=device.location, acquired=device.acquired,
                     quantity=device.quantity if quantity is None else quantity,
                     criticality=device.criticality, unit_cost_krw=device.unit_cost_krw,
                     unit_ko=category.unit_ko if category else "대", function=device.function,
                     funding=device.funding or self.settings.funding, notes=device.notes,
                     renewed_in=renewed_in)

    def due_year(self, device: Device, first_year: int) -> int | None:
        """The first year (never before `first_year`) by whose end a due date has passed."""
        lifecycle = assess(device, self.policy, date(first_year, 1, 1))
        dates = [d for d in (lifecycle.life_ends, lifecycle.support_ends, device.lease_ends)
                 if d is not None]
        if not dates:
            return None
        return max(first_year, min(d.year for d in dates))

    def renew(self, pending: list[_Pending], device: Device, year: int, quantity: int) -> None:
        """The successor of `quantity` units of `device` replaced in `year`, as pending
        when it falls due within the horizon."""
        life = service_life_of(device, self.policy)
        lease = device.lease_ends
        successor = replace(
            device, acquired=date(year, 1, 1), acquired_year_only=True, quantity=quantity,
            support_ends=None, vendor_dates=VendorDates(), warranty_ends=None,
            contract_ends=None, retired=None, replaced_by=None, replaced_in=None,
            lease_ends=(add_years(lease, year - lease.year + life.years)
                        if lease is not None and life is not None else None))
        due = self.due_year(successor, year + 1)
        if due is not None and due <= self.last_year:
            pending.append(_Pending(successor, quantity, due, year, self.project_of(device)))


def _schedule_year(context: _Context, year: int, pending: list[_Pending],
                   candidates: list[tuple[SortKey, PlanRow]], deferred: list[Deferral]) -> None:
    """Replace what each project can afford of what is due by the end of `year`; the rest
    is deferred. Units replaced are taken off `pending`, their successors added to it."""
    by_project: dict[str, list[tuple[SortKey, _Pending, Lifecycle]]] = {}
    for item in pending:
        if item.due > year:
            continue
        lifecycle = assess(item.device, context.policy, date(year, 1, 1))
        key = _priority_key(item.device, lifecycle, year, _outages(context, item),
                            context.repeated_outages)
        if item.project.order is Order.OLDEST_FIRST:
            key = (item.device.acquired or date.max, *key)
        by_project.setdefault(item.project.key, []).append((key, item, lifecycle))
    for items in by_project.values():
        items.sort(key=lambda entry: entry[0])
        taking = True
        units_left, krw_left = items[0][1].project.cap_units, items[0][1].project.cap_krw
        for _, item, lifecycle in items:
            count = _affordable(item, units_left, krw_left) if taking else 0
            if count:
                row = _row(context, item, lifecycle, year, count)
                candidates.append((_priority_key(item.device, lifecycle, year,
                                                 _outages(context, item),
                                                 context.repeated_outages), row))
                units_left = None if units_left is None else units_left - count
                krw_left = (None if krw_left is None
                            else krw_left - count * (item.device.unit_cost_krw or 0))
                item.quantity -= count
                context.renew(pending, item.device, year, count)
            if item.quantity:
                taking = False
                reason = (DeferReason.CAP_UNITS if units_left is not None and
                          (krw_left is None or units_left < item.quantity)
                          else DeferReason.CAP_KRW)
                deferred.append(Deferral(row=_row(context, item, lifecycle, year,
                                                  item.quantity, priority=0), reason=reason))


def _affordable(item: _Pending, units_left: int | None, krw_left: int | None) -> int:
    """How many units of `item` fit under what is left of the caps (a unit without a cost
    is not held back by a cap in money: it is flagged as uncosted instead)."""
    count = item.quantity
    if units_left is not None:
        count = min(count, units_left)
    cost = item.device.unit_cost_krw
    if krw_left is not None and cost:
        count = min(count, krw_left // cost)
    return max(count, 0)


def _outages(context: _Context, item: _Pending) -> int | None:
    if context.outages is None:
        return None
    return 0 if item.renewed_in is not None else context.outages.get(item.device.id, 0)


def _priority_key(device: Device, lifecycle: Lifecycle, year: int,
                  outage_count: int | None, repeated_outages: int) -> SortKey:
    """The priority rule (module doc); `lifecycle` is the device assessed on 1 Jan of `year`."""
    year_end = date(year, 12, 31)
    life_due = lifecycle.life_ends is not None and lifecycle.life_ends <= year_end
    support_due = lifecycle.support_ends is not None and lifecycle.support_ends <= year_end
    repeated = outage_count is not None and outage_count >= repeated_outages
    return (year,
            0 if lifecycle.status is LifeStatus.EXCEEDED else 1 if life_due else 2,
            0 if lifecycle.support is SupportStatus.UNSUPPORTED else 1 if support_due else 2,
            0 if repeated else 1,
            device.criticality.rank,
            device.acquired or date.max,
            device.id)


def _row(context: _Context, item: _Pending, lifecycle: Lifecycle, year: int, quantity: int,
         priority: int = 0) -> PlanRow:
    """The row for `quantity` units of `item` in `year`, with every reason that holds."""
    device, year_end = item.device, date(year, 12, 31)
    outage_count = _outages(context, item)
    holds = ((Reason.SERVICE_LIFE, lifecycle.life_ends is not None
              and lifecycle.life_ends <= year_end),
             (Reason.VENDOR_SUPPORT, lifecycle.support_ends is not None
              and lifecycle.support_ends <= year_end),
             (Reason.LEASE, device.lease_ends is not None and device.lease_ends <= year_end),
             (Reason.OUTAGE_HISTORY, outage_count is not None
              and outage_count >= context.repeated_outages))
    life = lifecycle.service_life
    return PlanRow(year=year, priority=priority,
                   asset=context.asset(device, quantity, item.renewed_in),
                   project=item.project, due_year=item.due,
                   service_life_years=life.years if life else None,
                   years_elapsed=year - device.acquired.year if device.acquired else None,
                   life_ends=lifecycle.life_ends, support_ends=lifecycle.support_ends,
                   lease_ends=device.lease_ends,
                   reasons=tuple(reason for reason, holds_ in holds if holds_),
                   outages=outage_count)


def _prioritise(candidates: list[tuple[SortKey, PlanRow]]) -> tuple[PlanRow, ...]:
    """Rows sorted by year and priority key, numbered 1.. within each year."""
    candidates.sort(key=lambda pair: pair[0])
    rows: list[PlanRow] = []
    rank, current_year = 0, None
    for _, row in candidates:
        rank = rank + 1 if row.year == current_year else 1
        current_year = row.year
        rows.append(replace(row, priority=rank))
    return tuple(rows)


def _totals(rows: tuple[PlanRow, ...], policy: Policy, years: tuple[int, ...]) -> PlanTotals:
    groups: dict[tuple[int, str], list[Asset]] = {}
    in_year: dict[int, list[Asset]] = {y: [] for y in years}
    in_category: dict[str, list[Asset]] = {}
    labels: dict[str, CategoryLabel] = {}
    for row in rows:
        key = row.asset.category.key
        groups.setdefault((row.year, key), []).append(row.asset)
        in_year[row.year].append(row.asset)
        in_category.setdefault(key, []).append(row.asset)
        labels[key] = row.asset.category
    cells = {where: Amount.of(assets) for where, assets in groups.items()}
    by_year = {y: Amount.of(assets) for y, assets in in_year.items()}
    by_category = {key: Amount.of(assets) for key, assets in in_category.items()}
    overall = Amount.of(row.asset for row in rows)
    order = {key: index for index, key in enumerate(policy)}
    categories = tuple(sorted(labels.values(), key=lambda c: (order.get(c.key, len(order)),
                                                              c.key)))
    return PlanTotals(years=years, categories=categories, cells=cells, by_year=by_year,
                      by_category=by_category, overall=overall)

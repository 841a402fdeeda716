"""The yearly replacement plan: which assets fall due in budget years Y..Y+N, and what it costs.

A pure function of the devices, the service-life policy, the budget year, the horizon and
(optionally) outage counts per device; it reads no files and no clock.

When an asset falls due (DESIGN.md "Lifecycle rules"):

* its service life ends (acquired + service life, per `inventory.lifecycle`) on or before
  31 Dec of a year: reason `service_life`;
* its manufacturer support ends (`support_ends`, else the EoX last date of support; the
  last supported day) on or before 31 Dec of a year: reason `vendor_support`;
* its lease ends on or before 31 Dec of a year: reason `lease` (a leased MFP is not bought
  but its lease is renewed; the renewal needs the same line in the budget).

An asset appears once, in the first year of Y..Y+N in which any of these has happened; an
asset already overdue before Y appears in Y. Its reasons are all those that hold by 31 Dec
of that year. `outage_history` is added when the caller passes outage counts for the last
12 months and the device has at least `repeated_outages` of them; it ranks an asset higher
but never puts it in the plan on its own (the plan ranks candidates, it does not condemn).
Assets retired on or before 1 Jan of Y are left out.

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
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from inventory.lifecycle import Lifecycle, LifeStatus, Policy, SupportStatus, assess
from inventory.model import Criticality, Device

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
    """What the plan shows of a device: identity, place, quantity and price (won)."""

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
    """One asset (or batch) in the year it falls due, with why and how urgently."""

    year: int
    priority: int                     # 1 = first, within the year
    asset: Asset
    service_life_years: int | None
    years_elapsed: int | None         # year - acquired year, the budget tables' convention
    life_ends: date | None
    support_ends: date | None
    lease_ends: date | None
    reasons: tuple[Reason, ...]
    outages: int | None               # outages in the last 12 months, when the caller knew


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

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.year, self.year + self.horizon + 1))

    def rows_in(self, year: int) -> tuple[PlanRow, ...]:
        return tuple(row for row in self.rows if row.year == year)


def to_thousand_krw(krw: int) -> int:
    """Won to thousand won, rounding half up (away from zero), as budget tables show money."""
    return int((Decimal(krw) / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def build_plan(devices: Iterable[Device], policy: Policy, *, year: int, horizon: int = 0,
               outages: Mapping[str, int] | None = None,
               repeated_outages: int = DEFAULT_REPEATED_OUTAGES) -> ReplacementPlan:
    """The replacement plan for budget years `year`..`year + horizon` (see module doc)."""
    if horizon < 0:
        raise ValueError(f"horizon must be 0 or more, not {horizon}")
    if repeated_outages < 1:
        raise ValueError(f"repeated_outages must be 1 or more, not {repeated_outages}")
    first_day, last_year = date(year, 1, 1), year + horizon
    labels = {key: CategoryLabel(c.key, c.name_ko, c.name_en) for key, c in policy.items()}
    candidates: list[tuple[SortKey, dict[str, Any]]] = []
    undated: list[Asset] = []
    for device in devices:
        if device.is_retired(first_day):
            continue
        lifecycle = assess(device, policy, first_day)
        due = _due_year(device, lifecycle.life_ends, lifecycle.support_ends, year)
        if due is None:
            undated.append(_asset(device, labels))
        elif due <= last_year:
            outage_count = None if outages is None else outages.get(device.id, 0)
            if due != year:    # "exceeded"/"unsupported" are judged on 1 Jan of the row's year
                lifecycle = assess(device, policy, date(due, 1, 1))
            candidates.append(_candidate(device, lifecycle, labels, due, outage_count,
                                         repeated_outages))
    rows = _prioritise(candidates)
    undated.sort(key=lambda asset: asset.device_id)
    return ReplacementPlan(year=year, horizon=horizon, repeated_outages=repeated_outages,
                           rows=rows, undated=tuple(undated),
                           totals=_totals(rows, policy, tuple(range(year, last_year + 1))))


def _due_year(device: Device, life_ends: date | None, support_ends: date | None,
              first_year: int) -> int | None:
    """The first budget year (never before `first_year`) by whose end a due date has passed."""
    dates = [d for d in (life_ends, support_ends, device.lease_ends) if d is not None]
    if not dates:
        return None
    return max(first_year, min(d.year for d in dates))


def _candidate(device: Device, lifecycle: Lifecycle, labels: Mapping[str, CategoryLabel],
               year: int, outage_count: int | None,
               repeated_outages: int) -> tuple[SortKey, dict[str, Any]]:
    """The sort key (the priority rule) and fields of the row for `device` in `year`.

    `lifecycle` is the device assessed on 1 Jan of `year`.
    """
    year_end = date(year, 12, 31)
    life_due = lifecycle.life_ends is not None and lifecycle.life_ends <= year_end
    support_due = lifecycle.support_ends is not None and lifecycle.support_ends <= year_end
    lease_due = device.lease_ends is not None and device.lease_ends <= year_end
    repeated = outage_count is not None and outage_count >= repeated_outages
    reasons = tuple(reason for reason, holds in ((Reason.SERVICE_LIFE, life_due),
                                                 (Reason.VENDOR_SUPPORT, support_due),
                                                 (Reason.LEASE, lease_due),
                                                 (Reason.OUTAGE_HISTORY, repeated)) if holds)
    life = lifecycle.service_life
    row = {
        "year": year, "asset": _asset(device, labels),
        "service_life_years": life.years if life else None,
        "years_elapsed": year - device.acquired.year if device.acquired else None,
        "life_ends": lifecycle.life_ends, "support_ends": lifecycle.support_ends,
        "lease_ends": device.lease_ends, "reasons": reasons, "outages": outage_count}
    key = (year,
           0 if lifecycle.status is LifeStatus.EXCEEDED else 1 if life_due else 2,
           0 if lifecycle.support is SupportStatus.UNSUPPORTED else 1 if support_due else 2,
           0 if repeated else 1,
           device.criticality.rank,
           device.acquired or date.max,
           device.id)
    return key, row


def _prioritise(candidates: list[tuple[SortKey, dict[str, Any]]]) -> tuple[PlanRow, ...]:
    """Rows sorted by year and priority key, numbered 1.. within each year."""
    candidates.sort(key=lambda pair: pair[0])
    rows: list[PlanRow] = []
    rank, current_year = 0, None
    for _, fields in candidates:
        rank = rank + 1 if fields["year"] == current_year else 1
        current_year = fields["year"]
        rows.append(PlanRow(priority=rank, **fields))
    return tuple(rows)


def _asset(device: Device, labels: Mapping[str, CategoryLabel]) -> Asset:
    # The loader rejects unknown categories; a caller passing a partial policy still gets
    # a row, labelled with the bare key, rather than an exception.
    label = labels.get(device.category) or CategoryLabel(device.category, device.category,
                                                         device.category)
    return Asset(device_id=device.id, category=label,
                 name=device.name, model=device.model, site=device.site,
                 location=device.location, acquired=device.acquired,
                 quantity=device.quantity, criticality=device.criticality,
                 unit_cost_krw=device.unit_cost_krw)


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

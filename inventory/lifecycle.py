"""Lifecycle status: a pure function of an asset, the service-life policy and a date.

Two lifecycles are kept apart, as good asset systems do:

* the office's own policy, the service life (내용연수) by category, and
* the manufacturer's, support end and the EoX milestones;

plus the contract dates (warranty, maintenance contract, lease).

Date rules (the contract, pinned by tests):

* End of service life = acquired + N years. On that date N whole years have elapsed, so
  the asset is `exceeded` from that day on. A 29 Feb acquisition ends on 28 Feb in a
  non-leap year (never 1 Mar: the asset must not gain a day).
* `due`: the life ends after the as-of date and no later than as-of + horizon months.
* `support_ends` is the manufacturer's *last* day of support: `unsupported` from the day
  after; `support_ending` when it falls within the horizon, or when there is no end date
  but security fixes or software maintenance have already stopped.
* Contract dates (warranty, maintenance contract, lease) are the last covered day, like
  support: `ended` the day after, `ending` within the horizon, else `active`.
* No acquisition date: service-life status `unknown` (the plan lists such assets apart).
"""
from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from inventory.model import Category, Device

DEFAULT_HORIZON_MONTHS = 12


class LifeStatus(StrEnum):
    EXCEEDED = "exceeded"
    DUE = "due"
    IN_SERVICE = "in_service"
    UNKNOWN = "unknown"          # no acquisition date or no service life


class SupportStatus(StrEnum):
    UNSUPPORTED = "unsupported"
    SUPPORT_ENDING = "support_ending"
    SUPPORTED = "supported"
    UNKNOWN = "unknown"          # no support date and no milestone passed


class ContractStatus(StrEnum):
    ENDED = "ended"
    ENDING = "ending"
    ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class ContractDate:
    kind: str                     # warranty | contract | lease
    ends: date
    status: ContractStatus


@dataclass(frozen=True, slots=True)
class ServiceLife:
    """How long an asset's service life is and where that number came from."""

    years: int
    origin: str                   # "device" override, or the category rule's source


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifecycle:
    """An asset's lifecycle facts as of one date."""

    device_id: str
    as_of: date
    service_life: ServiceLife | None
    life_ends: date | None
    years_elapsed: int | None     # whole years since acquisition, as of `as_of`
    status: LifeStatus
    support_ends: date | None
    support: SupportStatus
    milestones_passed: tuple[str, ...]
    contracts: tuple[ContractDate, ...]


Policy = Mapping[str, Category]


def add_months(start: date, months: int) -> date:
    """`start` moved by whole months, the day clamped to the month's length."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def add_years(start: date, years: int) -> date:
    return add_months(start, 12 * years)


def whole_years_between(start: date, end: date) -> int:
    """Completed years from start to end (negative if end is earlier), per `add_years`."""
    years = end.year - start.year
    if years >= 0 and add_years(start, years) > end:
        years -= 1
    elif years < 0 and add_years(start, years) < end:
        years += 1
    return years


def service_life_of(device: Device, policy: Policy) -> ServiceLife | None:
    """The device's own override, else the category rule in force when it was acquired."""
    if device.service_life_years is not None:
        return ServiceLife(device.service_life_years, "device")
    category = policy.get(device.category)
    if category is None:
        return None
    rule = category.rule_for(device.acquired)
    return ServiceLife(rule.years, rule.source or f"category {category.key}")


def support_end_of(device: Device) -> date | None:
    """The manufacturer's last day of support: `support_ends`, else the EoX last date."""
    return device.support_ends or device.vendor_dates.last_date_of_support


def assess(device: Device, policy: Policy, as_of: date,
           horizon_months: int = DEFAULT_HORIZON_MONTHS) -> Lifecycle:
    """The lifecycle of `device` as of `as_of`, looking `horizon_months` ahead."""
    horizon_end = add_months(as_of, horizon_months)
    life = service_life_of(device, policy)
    life_ends = (add_years(device.acquired, life.years)
                 if life is not None and device.acquired is not None else None)
    return Lifecycle(
        device_id=device.id,
        as_of=as_of,
        service_life=life,
        life_ends=life_ends,
        years_elapsed=(whole_years_between(device.acquired, as_of)
                       if device.acquired is not None else None),
        status=_life_status(life_ends, as_of, horizon_end),
        support_ends=support_end_of(device),
        support=_support_status(device, as_of, horizon_end),
        milestones_passed=tuple(name for name, when in device.vendor_dates.items()
                                if when < as_of),
        contracts=_contracts(device, as_of, horizon_end),
    )


def _life_status(life_ends: date | None, as_of: date, horizon_end: date) -> LifeStatus:
    if life_ends is None:
        return LifeStatus.UNKNOWN
    if life_ends <= as_of:
        return LifeStatus.EXCEEDED
    if life_ends <= horizon_end:
        return LifeStatus.DUE
    return LifeStatus.IN_SERVICE


def _support_status(device: Device, as_of: date, horizon_end: date) -> SupportStatus:
    ends = support_end_of(device)
    if ends is not None:
        if ends < as_of:
            return SupportStatus.UNSUPPORTED
        if ends <= horizon_end:
            return SupportStatus.SUPPORT_ENDING
        return SupportStatus.SUPPORTED
    milestones = device.vendor_dates
    winding_down = [d for d in (milestones.end_of_security_fixes,
                                milestones.end_of_sw_maintenance) if d is not None]
    if any(d < as_of for d in winding_down):
        return SupportStatus.SUPPORT_ENDING
    if winding_down or milestones.end_of_sale is not None:
        return SupportStatus.SUPPORTED
    return SupportStatus.UNKNOWN


def _contracts(device: Device, as_of: date, horizon_end: date) -> tuple[ContractDate, ...]:
    found = []
    for kind, ends in (("warranty", device.warranty_ends), ("contract", device.contract_ends),
                       ("lease", device.lease_ends)):
        if ends is None:
            continue
        if ends < as_of:
            status = ContractStatus.ENDED
        elif ends <= horizon_end:
            status = ContractStatus.ENDING
        else:
            status = ContractStatus.ACTIVE
        found.append(ContractDate(kind, ends, status))
    return tuple(found)

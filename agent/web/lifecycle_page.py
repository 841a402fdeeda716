"""Lifecycle and plan: the assets whose service life or manufacturer support ends within
N months (or already has), and the replacement plan for a chosen year in the report's
own form, built and exported by inventory/ as `lifeline plan` does (xlsx, csv, md)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from agent.web.source import CLIENT
from alerts.evaluation.open_store import plan_outages
from inventory.lifecycle import Lifecycle, LifeStatus, SupportStatus, add_months, assess
from inventory.model import Config, Device
from inventory.plan import DEFAULT_REPEATED_OUTAGES, ReplacementPlan, build_plan
from inventory.plan_export import FORMATS, export
from inventory.plan_report import Report, report

MAX_MONTHS = 120
DOWNLOADS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8"}
assert set(DOWNLOADS) <= set(FORMATS)


@dataclass(frozen=True, slots=True)
class DueLine:
    device: Device
    lifecycle: Lifecycle
    first_end: date             # the earlier of the life's and the support's end


@dataclass(frozen=True, slots=True)
class LifecyclePage:
    months: int
    until: date
    lines: tuple[DueLine, ...]


def due_within(config: Config, months: int, today: date) -> LifecyclePage:
    """Assets (not retired) whose life or support ends on or before today + months."""
    until = add_months(today, months)
    lines = []
    for device in config.devices:
        if device.is_retired(today):
            continue
        life = assess(device, config.categories, today, months)
        ends = [d for d in (life.life_ends, life.support_ends) if d is not None and d <= until]
        if ends and (life.status in (LifeStatus.EXCEEDED, LifeStatus.DUE)
                     or life.support in (SupportStatus.UNSUPPORTED,
                                         SupportStatus.SUPPORT_ENDING)):
            lines.append(DueLine(device, life, min(ends)))
    lines.sort(key=lambda line: (line.first_end, line.device.id))
    return LifecyclePage(months, until, tuple(lines))


def plan_for(config: Config, year: int, now: datetime) -> ReplacementPlan:
    """The plan for `year` as `lifeline plan --year` builds it (outage counts from the
    alert store the config uses, read without changing it). Raises
    AlertStoreUnavailableError."""
    outages = plan_outages(config, now, CLIENT)
    return build_plan(config.devices, config.categories, year=year, outages=outages,
                      repeated_outages=DEFAULT_REPEATED_OUTAGES, settings=config.plan)


def plan_report(plan: ReplacementPlan) -> Report:
    return report(plan)


def plan_file(plan: ReplacementPlan, fmt: str, lang: str) -> bytes:
    return export(plan, fmt, lang)

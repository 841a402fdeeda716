"""Lifecycle rules at their edges (DESIGN.md "Lifecycle rules")."""
from __future__ import annotations

from datetime import date

import pytest

from inventory.lifecycle import (
    ContractStatus,
    LifeStatus,
    SupportStatus,
    add_years,
    assess,
    whole_years_between,
)
from inventory.load import load_service_life_table
from inventory.model import Category, Device, LifeRule, VendorDates

POLICY = load_service_life_table()


def device(**fields) -> Device:
    return Device(**{"id": "x", "name": "X", "category": "pc", **fields})


def test_end_of_life_is_acquired_plus_years_and_exceeded_from_that_day() -> None:
    pc = device(acquired=date(2016, 3, 1))          # pc: 5 years
    assert assess(pc, POLICY, date(2021, 2, 28)).status is LifeStatus.DUE
    on_the_day = assess(pc, POLICY, date(2021, 3, 1))
    assert on_the_day.life_ends == date(2021, 3, 1)
    assert on_the_day.status is LifeStatus.EXCEEDED
    assert on_the_day.years_elapsed == 5


def test_due_means_within_the_horizon() -> None:
    pc = device(acquired=date(2016, 12, 31))        # life ends 2021-12-31
    assert assess(pc, POLICY, date(2020, 12, 31), horizon_months=12).status is LifeStatus.DUE
    assert assess(pc, POLICY, date(2020, 12, 30), horizon_months=12).status is LifeStatus.IN_SERVICE
    assert assess(pc, POLICY, date(2021, 6, 1), horizon_months=0).status is LifeStatus.IN_SERVICE
    assert assess(pc, POLICY, date(2021, 12, 31), horizon_months=0).status is LifeStatus.EXCEEDED


def test_29_february_acquisition_ends_on_28_february() -> None:
    pc = device(acquired=date(2016, 2, 29))
    result = assess(pc, POLICY, date(2021, 2, 28))
    assert result.life_ends == date(2021, 2, 28)
    assert result.status is LifeStatus.EXCEEDED and result.years_elapsed == 5
    assert assess(pc, POLICY, date(2021, 2, 27)).years_elapsed == 4
    # into a leap year it keeps the 29th
    assert add_years(date(2016, 2, 29), 4) == date(2020, 2, 29)


def test_no_acquisition_date_is_unknown_not_a_guess() -> None:
    result = assess(device(), POLICY, date(2021, 1, 1))
    assert result.status is LifeStatus.UNKNOWN
    assert result.life_ends is None and result.years_elapsed is None
    assert result.service_life is not None and result.service_life.years == 5


def test_support_ended_with_life_left() -> None:
    switch = device(category="switch", acquired=date(2020, 6, 30), support_ends=date(2021, 3, 31))
    result = assess(switch, POLICY, date(2021, 4, 1))
    assert result.status is LifeStatus.IN_SERVICE
    assert result.support is SupportStatus.UNSUPPORTED
    # the last day of support is still supported
    assert assess(switch, POLICY, date(2021, 3, 31)).support is SupportStatus.SUPPORT_ENDING


def test_life_ended_with_support_left() -> None:
    server = device(category="server", acquired=date(2013, 1, 1), support_ends=date(2025, 12, 31))
    result = assess(server, POLICY, date(2021, 1, 1))
    assert result.status is LifeStatus.EXCEEDED and result.support is SupportStatus.SUPPORTED


def test_eox_milestones() -> None:
    milestones = VendorDates(end_of_sale=date(2015, 6, 30), end_of_security_fixes=date(2019, 6, 30))
    result = assess(device(category="switch", vendor_dates=milestones), POLICY, date(2020, 1, 1))
    assert result.support is SupportStatus.SUPPORT_ENDING   # no fixes any more, no end date
    assert result.milestones_passed == ("end_of_sale", "end_of_security_fixes")
    last_day = VendorDates(last_date_of_support=date(2019, 12, 31))
    assert assess(device(vendor_dates=last_day), POLICY, date(2020, 1, 1)).support \
        is SupportStatus.UNSUPPORTED
    assert assess(device(), POLICY, date(2020, 1, 1)).support is SupportStatus.UNKNOWN


def test_device_override_beats_category() -> None:
    overridden = device(acquired=date(2015, 1, 1), service_life_years=8)
    result = assess(overridden, POLICY, date(2021, 1, 1))
    assert result.service_life.years == 8 and result.service_life.origin == "device"
    assert result.status is LifeStatus.IN_SERVICE


def test_rule_in_force_at_acquisition() -> None:
    category = Category("pc", "PC", "PC", (LifeRule(3), LifeRule(5, date(2010, 1, 1))))
    policy = {"pc": category}
    assert assess(device(acquired=date(2009, 12, 31)), policy, date(2013, 1, 1)).status \
        is LifeStatus.EXCEEDED
    assert assess(device(acquired=date(2010, 1, 1)), policy, date(2013, 1, 1)).status \
        is LifeStatus.IN_SERVICE


def test_contract_dates() -> None:
    mfp = device(category="mfp_lease", acquired=date(2018, 7, 1), lease_ends=date(2021, 6, 30),
                 warranty_ends=date(2019, 6, 30), contract_ends=date(2030, 1, 1))
    contracts = {c.kind: c.status for c in assess(mfp, POLICY, date(2021, 1, 1)).contracts}
    assert contracts == {"warranty": ContractStatus.ENDED, "lease": ContractStatus.ENDING,
                         "contract": ContractStatus.ACTIVE}


def test_batch_record_is_one_record_with_a_quantity() -> None:
    batch = device(acquired=date(2020, 3, 1), quantity=101, unit_cost_krw=1_200_000)
    assert batch.total_cost_krw == 121_200_000
    assert assess(batch, POLICY, date(2025, 3, 1)).status is LifeStatus.EXCEEDED


@pytest.mark.parametrize("start,end,years", [
    (date(2008, 3, 1), date(2021, 2, 28), 12), (date(2008, 3, 1), date(2021, 3, 1), 13),
    (date(2020, 2, 29), date(2021, 2, 28), 1), (date(2021, 1, 1), date(2020, 1, 1), -1),
])
def test_whole_years_between(start: date, end: date, years: int) -> None:
    assert whole_years_between(start, end) == years

"""The replacement plan's rules, pinned at their edges, and the district's own figures."""
from __future__ import annotations

from datetime import date

import pytest

from inventory.model import Category, Criticality, Device, LifeRule, VendorDates
from inventory.plan import Reason, build_plan, to_thousand_krw

POLICY = {
    "backbone_switch": Category("backbone_switch", "백본 스위치", "Backbone switch",
                                (LifeRule(7),)),
    "ips": Category("ips", "침입방지시스템", "Intrusion prevention system", (LifeRule(6),)),
    "security_appliance": Category("security_appliance", "보안 장비", "Security appliance",
                                   (LifeRule(6),)),
    "pc": Category("pc", "개인용 컴퓨터", "Personal computer",
                   (LifeRule(3), LifeRule(5, date(2004, 1, 1)))),
    "mfp_lease": Category("mfp_lease", "임차 복합기", "Leased multifunction printer",
                          (LifeRule(3),)),
}


def dev(device_id: str = "d1", *, category: str = "backbone_switch", **fields) -> Device:
    fields.setdefault("name", device_id)
    return Device(id=device_id, category=category, **fields)


def plan_of(*devices: Device, year: int = 2021, **options):
    return build_plan(devices, POLICY, year=year, **options)


def only_row(plan):
    assert len(plan.rows) == 1, plan.rows
    return plan.rows[0]


# --- The district's 2021 plan (DOMAIN.md) ------------------------------------------------

def district_2021() -> list[Device]:
    return [
        dev("bb-sw-1", name="행정망 백본 스위치", acquired=date(2008, 3, 1),
            support_ends=date(2020, 12, 31), unit_cost_krw=239_931_000, quantity=2,
            criticality=Criticality.CRITICAL),
        dev("ips-1", category="ips", name="침입방지시스템", acquired=date(2012, 5, 1),
            unit_cost_krw=53_528_000, criticality=Criticality.HIGH),
        dev("media-1", category="security_appliance", name="보조기억매체 관리시스템",
            acquired=date(2009, 6, 1), unit_cost_krw=43_233_000),
    ]


def test_district_backbone_pair_ips_and_media_control_in_2021():
    plan = plan_of(*district_2021())
    rows = {row.asset.device_id: row for row in plan.rows}
    backbone = rows["bb-sw-1"]
    assert (backbone.years_elapsed, backbone.service_life_years,
            backbone.asset.quantity) == (13, 7, 2)
    assert backbone.reasons == (Reason.SERVICE_LIFE, Reason.VENDOR_SUPPORT)
    assert to_thousand_krw(backbone.asset.total_cost_krw) == 479_862
    assert (rows["ips-1"].years_elapsed, rows["ips-1"].service_life_years) == (9, 6)
    assert rows["ips-1"].reasons == (Reason.SERVICE_LIFE,)
    assert to_thousand_krw(rows["ips-1"].asset.total_cost_krw) == 53_528
    assert (rows["media-1"].years_elapsed, rows["media-1"].service_life_years) == (12, 6)
    assert to_thousand_krw(rows["media-1"].asset.total_cost_krw) == 43_233
    assert plan.totals.by_year[2021].thousand_krw == 479_862 + 53_528 + 43_233
    assert plan.totals.cell(2021, "ips").thousand_krw == 53_528
    assert plan.totals.by_category["backbone_switch"].quantity == 2


def test_district_priority_unsupported_critical_backbone_first():
    plan = plan_of(*district_2021())
    # All three exceeded their life before 2021; only the backbone is also unsupported.
    assert next(row.asset.device_id for row in plan.rows) == "bb-sw-1"
    assert [row.priority for row in plan.rows] == [1, 2, 3]


# --- When an asset falls due --------------------------------------------------------------

def test_life_ending_31_december_is_due_that_year_and_1_january_the_next():
    ends_31_dec = dev("a", acquired=date(2014, 12, 31))   # + 7 years = 2021-12-31
    ends_1_jan = dev("b", acquired=date(2015, 1, 1))      # + 7 years = 2022-01-01
    plan = plan_of(ends_31_dec, ends_1_jan, horizon=1)
    years = {row.asset.device_id: row.year for row in plan.rows}
    assert years == {"a": 2021, "b": 2022}
    assert plan.rows_in(2021)[0].life_ends == date(2021, 12, 31)


def test_horizon_zero_is_the_budget_year_only():
    plan = plan_of(dev("a", acquired=date(2014, 12, 31)), dev("b", acquired=date(2015, 1, 1)))
    assert [row.asset.device_id for row in plan.rows] == ["a"]
    assert plan.years == (2021,)
    assert set(plan.totals.by_year) == {2021}


def test_horizon_places_each_asset_once_in_its_first_due_year():
    devices = [dev(f"y{y}", acquired=date(y - 7, 6, 1)) for y in range(2020, 2026)]
    plan = plan_of(*devices, horizon=2)
    assert [(row.asset.device_id, row.year) for row in plan.rows] == [
        ("y2020", 2021), ("y2021", 2021), ("y2022", 2022), ("y2023", 2023)]


def test_29_february_acquisition_ends_28_february():
    plan = plan_of(dev("leap", acquired=date(2016, 2, 29)), year=2023)   # + 7 = 2023-02-28
    row = only_row(plan)
    assert row.life_ends == date(2023, 2, 28)
    assert row.year == 2023 and row.years_elapsed == 7


def test_29_february_acquisition_overdue_is_listed_in_the_budget_year():
    row = only_row(plan_of(dev("leap", category="ips", acquired=date(2012, 2, 29)), year=2024,
                           horizon=0))
    assert row.life_ends == date(2018, 2, 28)   # + 6 years, overdue, listed in 2024
    assert row.year == 2024 and row.years_elapsed == 12


def test_support_ended_with_life_left():
    asset = dev("a", acquired=date(2018, 1, 1), support_ends=date(2020, 6, 30))
    row = only_row(plan_of(asset))
    assert row.reasons == (Reason.VENDOR_SUPPORT,)
    assert row.life_ends == date(2025, 1, 1)
    assert row.years_elapsed == 3


def test_support_ending_on_31_december_of_the_year_counts_that_year():
    asset = dev("a", acquired=date(2018, 1, 1), support_ends=date(2021, 12, 31))
    assert only_row(plan_of(asset)).reasons == (Reason.VENDOR_SUPPORT,)
    later = dev("b", acquired=date(2018, 1, 1), support_ends=date(2022, 1, 1))
    assert plan_of(later).rows == ()


def test_eox_last_date_of_support_counts_as_support_end():
    asset = dev("a", acquired=date(2019, 1, 1),
                vendor_dates=VendorDates(last_date_of_support=date(2021, 3, 31)))
    assert only_row(plan_of(asset)).reasons == (Reason.VENDOR_SUPPORT,)


def test_life_ended_with_support_left():
    asset = dev("a", acquired=date(2012, 1, 1), support_ends=date(2026, 12, 31))
    row = only_row(plan_of(asset))
    assert row.reasons == (Reason.SERVICE_LIFE,)
    assert row.support_ends == date(2026, 12, 31)


def test_no_acquisition_date_but_support_date_is_scheduled_by_support():
    row = only_row(plan_of(dev("a", support_ends=date(2021, 5, 1))))
    assert row.reasons == (Reason.VENDOR_SUPPORT,)
    assert row.years_elapsed is None and row.asset.acquired_year is None


def test_no_acquisition_and_no_support_date_is_listed_as_undated():
    plan = plan_of(dev("nodate", unit_cost_krw=1_000_000))
    assert plan.rows == ()
    assert [asset.device_id for asset in plan.undated] == ["nodate"]
    assert plan.undated[0].category.name_ko == "백본 스위치"


def test_lease_end_is_a_reason_and_a_due_date():
    mfp = dev("mfp-1", category="mfp_lease", acquired=date(2020, 3, 1),
              lease_ends=date(2022, 2, 28), unit_cost_krw=1_200_000, quantity=96)
    plan = plan_of(mfp, horizon=2)
    row = only_row(plan)
    assert (row.year, row.reasons) == (2022, (Reason.LEASE,))
    assert row.asset.total_cost_krw == 96 * 1_200_000


def test_retired_on_or_before_1_january_is_left_out_but_later_retirement_is_not():
    gone = dev("gone", acquired=date(2008, 1, 1), retired=date(2021, 1, 1))
    going = dev("going", acquired=date(2008, 1, 1), retired=date(2021, 1, 2))
    assert [row.asset.device_id for row in plan_of(gone, going).rows] == ["going"]


def test_not_yet_due_is_not_in_the_plan():
    assert plan_of(dev("new", acquired=date(2020, 1, 1)), horizon=3).rows == ()


def test_device_service_life_override_wins():
    row = only_row(plan_of(dev("a", acquired=date(2017, 1, 1), service_life_years=4)))
    assert (row.service_life_years, row.life_ends) == (4, date(2021, 1, 1))


def test_category_rule_in_force_at_acquisition():
    old_pc = dev("old", category="pc", acquired=date(2003, 6, 1))
    row = only_row(plan_of(old_pc, year=2006))
    assert row.service_life_years == 3


def test_negative_horizon_rejected():
    with pytest.raises(ValueError):
        plan_of(horizon=-1)


# --- Priority -----------------------------------------------------------------------------

def order(plan) -> list[str]:
    return [row.asset.device_id for row in plan.rows]


def test_priority_exceeded_before_due_during_the_year():
    due_in_year = dev("due", acquired=date(2014, 6, 1), criticality=Criticality.CRITICAL)
    exceeded = dev("exceeded", acquired=date(2013, 6, 1), criticality=Criticality.LOW)
    assert order(plan_of(due_in_year, exceeded)) == ["exceeded", "due"]


def test_priority_life_ending_on_1_january_counts_as_exceeded_that_year():
    jan1 = dev("jan1", acquired=date(2014, 1, 1), criticality=Criticality.LOW)   # ends 2021-01-01
    jan2 = dev("jan2", acquired=date(2014, 1, 2), criticality=Criticality.CRITICAL)
    assert order(plan_of(jan2, jan1)) == ["jan1", "jan2"]


def test_priority_unsupported_before_supported():
    supported = dev("sup", acquired=date(2010, 1, 1), criticality=Criticality.CRITICAL)
    unsupported = dev("unsup", acquired=date(2012, 1, 1), support_ends=date(2019, 1, 1),
                      criticality=Criticality.LOW)
    assert order(plan_of(supported, unsupported)) == ["unsup", "sup"]


def test_priority_outage_history_with_threshold_parameter():
    quiet = dev("quiet", acquired=date(2010, 1, 1), criticality=Criticality.CRITICAL)
    flaky = dev("flaky", acquired=date(2012, 1, 1), criticality=Criticality.LOW)
    plan = plan_of(quiet, flaky, outages={"flaky": 3, "quiet": 2})
    assert order(plan) == ["flaky", "quiet"]
    assert plan.rows[0].reasons == (Reason.SERVICE_LIFE, Reason.OUTAGE_HISTORY)
    assert plan.rows[1].outages == 2 and Reason.OUTAGE_HISTORY not in plan.rows[1].reasons
    stricter = plan_of(quiet, flaky, outages={"flaky": 3}, repeated_outages=4)
    assert order(stricter) == ["quiet", "flaky"]


def test_outage_history_alone_does_not_put_an_asset_in_the_plan():
    assert plan_of(dev("new", acquired=date(2020, 1, 1)), outages={"new": 9}).rows == ()


def test_priority_critical_before_low_then_older_then_id():
    low = dev("low", acquired=date(2010, 1, 1), criticality=Criticality.LOW)
    crit = dev("crit", acquired=date(2012, 1, 1), criticality=Criticality.CRITICAL)
    older = dev("z-older", acquired=date(2011, 1, 1))
    newer = dev("a-newer", acquired=date(2011, 6, 1))
    twin = dev("b-twin", acquired=date(2011, 6, 1))
    assert order(plan_of(low, newer, twin, crit, older)) == [
        "crit", "z-older", "a-newer", "b-twin", "low"]


def test_priority_restarts_at_one_each_year():
    plan = plan_of(*(dev(f"d{y}", acquired=date(y, 6, 1)) for y in (2013, 2014, 2015)),
                   horizon=1)
    assert [(row.year, row.priority) for row in plan.rows] == [(2021, 1), (2021, 2), (2022, 1)]


# --- Money and totals ---------------------------------------------------------------------

@pytest.mark.parametrize(("won", "thousand"), [
    (0, 0), (499, 0), (500, 1), (1_499, 1), (1_500, 2), (239_931_500, 239_932),
    (479_862_000, 479_862)])
def test_thousand_won_rounds_half_up(won, thousand):
    assert to_thousand_krw(won) == thousand


def test_totals_sum_in_won_and_convert_once():
    # Three rows of 400 won: 0 천원 each if rounded per row, 1 천원 when summed first.
    rows = [dev(f"p{i}", acquired=date(2010, 1, 1), unit_cost_krw=400) for i in range(3)]
    totals = plan_of(*rows).totals
    assert totals.by_year[2021].krw == 1_200
    assert totals.by_year[2021].thousand_krw == 1


def test_cost_missing_is_flagged_and_counted_not_zeroed():
    priced = dev("priced", acquired=date(2010, 1, 1), unit_cost_krw=2_000_000, quantity=3)
    unpriced = dev("unpriced", acquired=date(2010, 1, 1), quantity=5)
    plan = plan_of(priced, unpriced)
    flags = {row.asset.device_id: row.asset.cost_missing for row in plan.rows}
    assert flags == {"priced": False, "unpriced": True}
    unpriced_row = next(row for row in plan.rows if row.asset.device_id == "unpriced")
    assert unpriced_row.asset.total_cost_krw is None
    total = plan.totals.by_year[2021]
    assert (total.krw, total.rows, total.quantity, total.cost_missing_rows) == (6_000_000, 2, 8, 1)
    assert plan.totals.overall.cost_missing_rows == 1


def test_totals_per_category_and_year_in_policy_order():
    plan = plan_of(dev("ips", category="ips", acquired=date(2012, 1, 1), unit_cost_krw=1_000),
                   dev("bb", acquired=date(2015, 6, 1), unit_cost_krw=5_000), horizon=1)
    assert [c.key for c in plan.totals.categories] == ["backbone_switch", "ips"]
    assert plan.totals.cell(2021, "ips").krw == 1_000
    assert plan.totals.cell(2022, "backbone_switch").krw == 5_000
    assert plan.totals.cell(2021, "backbone_switch").rows == 0
    assert plan.totals.overall.krw == 6_000
    assert plan.totals.by_category["ips"].krw == 1_000

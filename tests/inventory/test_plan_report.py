"""The plan in the district report's own form (issue 15): the example district's 2021
blocks and amounts as the 2020 report (seed 002) gives them, in md, xlsx and csv; the
schedule with a yearly cap, successors coming due again, 경과 / 예정 wording, 재원 and
the year before's actual; the plan command's --cap, --order and --lang."""
from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from agent.cli import main
from inventory.load import load_config
from inventory.model import Category, Device, LifeRule, Order, PlanSettings, Project
from inventory.plan import DeferReason, build_plan
from inventory.plan_export import export
from inventory.plan_report import common_name, name_stem, report

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"
PROJECT = "정보통신시스템 운영관리 내실화"
BACKBONE_FUNCTION = "모든 행정업무용 네트워크 스위치 연결용 메인 스위치"
IPS_FUNCTION = "홈페이지 서버에 대한 외부의 불법적인 접근패턴을 감지하여 차단"
WHY = "내용연수 경과 및 노후화로 인한 제조사 기술지원 종료"


@pytest.fixture(scope="module")
def district():
    return load_config(EXAMPLE)


def plan_of(config, year=2021, horizon=0, settings=None):
    return build_plan(config.devices, config.categories, year=year, horizon=horizon,
                      settings=settings or config.plan)


# --- The seed's 2021 blocks, in md ---------------------------------------------------------

def test_markdown_reproduces_the_seed_blocks_and_amounts(district):
    text = export(plan_of(district), "md", "ko").decode("utf-8")
    section = text[text.index(f"## 1. {PROJECT}"):text.index("## 2. ")]
    assert "### 행정망 백본 스위치 교체" in section
    assert "- 대 상 : 행정망 백본 스위치(2식)" in section
    assert "| 구분 | 도입연도 | 수량 | 내용연수 | 주요기능 | 비고 |" in section
    assert (f"| 행정망 백본 스위치 | 2008년 | 2 | 7년 | {BACKBONE_FUNCTION} | 13년 경과 |"
            in section)
    assert f"- 교체사유 : {WHY}" in section
    assert "- 소요예산 : 479,862천원(2식)" in section
    assert f"| 서비스망 침입방지시스템 | 2012년 | 1 | 6년 | {IPS_FUNCTION} | 9년 경과 |" in section
    assert "- 소요예산 : 53,528천원(1식)" in section
    assert ("| 보조기억매체 관리시스템 | 2009년 | 1 | 6년 | 업무용 PC 행정정보의 유출 차단 "
            "| 12년 경과 |") in section
    assert "- 소요예산 : 43,233천원(1식)" in section
    assert section.count(f"- 교체사유 : {WHY}") == 3
    # The project's total as the seed's 2021 column, by 재원 with 합계 first and the
    # actual of 2020 (the firewall pair and the access-log system replaced that year).
    assert "□ 2021년 소요예산 : 576,623천원" in section
    assert "| 재원별 | 합계 | 2020년(실적) | 2021년 |" in section
    assert "| 계 | 733,557 | 156,934 | 576,623 |" in section
    assert "| 구비 | 733,557 | 156,934 | 576,623 |" in section


def test_pc_block_is_the_seeds_221_pcs(district):
    text = export(plan_of(district), "md", "ko").decode("utf-8")
    assert "- 대 상 : 업무용 PC(221대)" in text
    assert "- 소요예산 : 265,200천원(221대)" in text
    assert "| 업무용 PC | 2014년 | 104 | 5년 | - | 7년 경과 |" in text


def test_english_report_words_the_same_blocks(district):
    text = export(plan_of(district), "md", "en").decode("utf-8")
    assert "### Replace 행정망 백본 스위치" in text
    assert "- Budget : 479,862 thousand KRW (2 sets)" in text
    assert "- Reason : service life exceeded and ageing; vendor support ended" in text
    assert "| Funding | Total | 2020 (actual) | 2021 |" in text


# --- The same in xlsx ----------------------------------------------------------------------

def workbook(plan, lang="ko"):
    return openpyxl.load_workbook(io.BytesIO(export(plan, "xlsx", lang)))


def rows_of(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_xlsx_has_a_print_ready_sheet_per_section_in_thousand_won(district):
    book = workbook(plan_of(district))
    assert book.sheetnames[0] == f"1. {PROJECT}"
    assert book.sheetnames[1] == "2. 노후 전산장비(PC) 순차 교체"
    assert {"소요재원", "세부내역"} <= set(book.sheetnames)
    sheet = book[book.sheetnames[0]]
    rows = rows_of(sheet)
    firsts = [row[0] for row in rows]
    line = rows[firsts.index("행정망 백본 스위치")]
    assert line[:6] == ["행정망 백본 스위치", "2008년", 2, "7년", BACKBONE_FUNCTION, "13년 경과"]
    assert rows[firsts.index("구분")][:6] == ["구분", "도입연도", "수량", "내용연수", "주요기능",
                                            "비고"]
    assert "  - 대 상 : 행정망 백본 스위치(2식)" in firsts
    assert f"  - 교체사유 : {WHY}" in firsts
    assert "  - 소요예산 : 479,862천원(2식)" in firsts
    assert "  - 소요예산 : 53,528천원(1식)" in firsts
    assert "  - 소요예산 : 43,233천원(1식)" in firsts
    assert "□ 2021년 소요예산 : 576,623천원" in firsts
    header = firsts.index("재원별")
    assert rows[header][:3] == ["재원별", "합계", "연차별 소요재원"]
    assert rows[header + 1][2:4] == ["2020년(실적)", "2021년"]
    assert rows[header + 2][:4] == ["계", 733_557, 156_934, 576_623]
    assert rows[header + 3][:4] == ["구비", 733_557, 156_934, 576_623]
    total = sheet.cell(header + 3, 4)
    assert total.number_format == "#,##0" and total.border.left.style == "thin"
    assert f"C{header + 1}:D{header + 1}" in {str(r) for r in sheet.merged_cells.ranges}
    setup = sheet.page_setup
    assert (int(setup.paperSize), setup.fitToWidth) == (int(sheet.PAPERSIZE_A4), 1)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage


def test_xlsx_detail_sheet_is_in_thousand_won(district):
    sheet = workbook(plan_of(district))["세부내역"]
    header = [cell.value for cell in sheet[1]]
    assert "금액(천원)" in header and "금액(원)" not in header
    rows = [dict(zip(header, row, strict=False)) for row in sheet.iter_rows(min_row=2,
                                                                           values_only=True)]
    backbone = next(row for row in rows if row["관리번호"] == "bb-sw-1")
    assert (backbone["금액(천원)"], backbone["재원"], backbone["주요기능"]) == (
        239_931, "구비", BACKBONE_FUNCTION)


# --- csv ----------------------------------------------------------------------------------

def test_csv_has_bom_thousand_won_and_deferred_lines(district):
    data = export(plan_of(district, horizon=4), "csv", "ko")
    assert data.startswith(b"\xef\xbb\xbf")
    header, *lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header[-1] == "상태" and "금액(천원)" in header and "재원" in header
    records = [dict(zip(header, line, strict=True)) for line in lines]
    backbone = next(r for r in records if r["관리번호"] == "bb-sw-1")
    assert (backbone["금액(천원)"], backbone["상태"]) == ("239931", "교체")
    waiting = [r for r in records if r["상태"] == "이연"]
    assert waiting and all("연간 상한(221대) 도달로 이연" in r["비고"] for r in waiting)


# --- The schedule: a cap of 221 PCs a year ---------------------------------------------------

def pc_rows(plan):
    return [(row.year, row.asset.acquired_year, row.asset.quantity, row.asset.renewed_in)
            for row in plan.rows if row.asset.category.key == "pc"]


def test_221_pcs_a_year_oldest_first_over_2021_2025(district):
    plan = plan_of(district, horizon=4)
    assert pc_rows(plan) == [
        (2021, 2014, 104, None), (2021, 2015, 52, None), (2021, 2016, 65, None),
        (2022, 2017, 221, None),
        (2023, 2017, 163, None), (2023, 2018, 58, None),
        (2024, 2018, 65, None), (2024, 2019, 156, None),
        (2025, 2019, 221, None)]
    for year in range(2021, 2026):
        replaced = sum(q for y, _, q, _ in pc_rows(plan) if y == year)
        assert replaced == 221
        assert plan.totals.cell(year, "pc").thousand_krw == 265_200
    waiting = [(item.row.asset.acquired_year, item.row.asset.quantity, item.row.due_year)
               for item in plan.deferred_in(2025) if item.row.asset.category.key == "pc"]
    assert waiting == [(2019, 379, 2024), (2020, 101, 2025)]
    assert {item.reason for item in plan.deferred} == {DeferReason.CAP_UNITS}


def test_pcs_replaced_in_2021_come_due_again_in_2026(district):
    plan = plan_of(district, horizon=9)
    again = [item.row for item in plan.deferred_in(2026)
             if item.row.asset.renewed_in == 2021]
    assert sorted((row.asset.quantity, row.due_year) for row in again) == [
        (52, 2026), (65, 2026), (104, 2026)]
    # They wait for the older backlog, then are replaced in turn (bought in 2021).
    assert (2028, 2021, 104, 2021) in pc_rows(plan)
    text = export(plan, "md", "ko").decode("utf-8")
    appendix = text[text.index("## 붙임 2. 이연 내역"):]
    assert "| 2026 | pc-2014 | 업무용 PC (2014년 이전 도입분) | 2021 | 104 | 2026 |" in appendix
    assert "2021년 교체분" in appendix


def test_a_successor_follows_the_life_in_force_when_it_was_bought(district):
    # The example's PCs live 6 years from 2024 on: those replaced in 2024 come due in 2030.
    plan = plan_of(district, horizon=9)
    renewed_2024 = [row for row in plan.rows if row.asset.category.key == "pc"
                    and row.asset.renewed_in == 2024]
    deferred = [item.row for item in plan.deferred if item.row.asset.renewed_in == 2024]
    assert not renewed_2024 and {row.due_year for row in deferred} <= {2030}


# --- Rules on small inventories ----------------------------------------------------------

POLICY = {"ips": Category("ips", "침입방지시스템", "IPS", (LifeRule(6),), unit_ko="식"),
          "pc": Category("pc", "개인용 컴퓨터", "PC", (LifeRule(5),))}


def test_life_and_support_ending_during_the_year_are_worded_as_expected():
    device = Device(id="ips-1", name="IPS", category="ips", acquired=date(2015, 5, 10),
                    support_ends=date(2021, 6, 30), unit_cost_krw=10_000_000)
    text = export(build_plan([device], POLICY, year=2021), "md", "ko").decode("utf-8")
    assert ("- 교체사유 : 내용연수 경과 예정(2021. 5.), 제조사 기술지원 종료 예정(2021. 6.)"
            in text)
    assert "| IPS | 2015년 | 1 | 6년 | - | 6년 경과 예정 |" in text
    passed = Device(id="ips-2", name="IPS", category="ips", acquired=date(2014, 5, 10),
                    support_ends=date(2020, 12, 31))
    text = export(build_plan([passed], POLICY, year=2021), "md", "ko").decode("utf-8")
    assert f"- 교체사유 : {WHY}" in text and "| 7년 경과, 단가 미입력 |" in text


def test_a_cap_in_thousand_won_and_priority_order():
    pcs = [Device(id=f"pc-{year}", name="PC", category="pc", acquired=date(year, 1, 1),
                  quantity=10, unit_cost_krw=1_000_000) for year in (2014, 2015)]
    project = Project(key="pcs", name_ko="PC", name_en="PCs", categories=("pc",),
                      cap_krw=15_000_000, order=Order.OLDEST_FIRST)
    plan = build_plan(pcs, POLICY, year=2021, horizon=1,
                      settings=PlanSettings(projects=(project,)))
    assert [(r.year, r.asset.device_id, r.asset.quantity) for r in plan.rows] == [
        (2021, "pc-2014", 10), (2021, "pc-2015", 5), (2022, "pc-2015", 5)]
    (waiting,) = plan.deferred_in(2021)
    assert waiting.reason is DeferReason.CAP_KRW and waiting.row.asset.quantity == 5
    text = export(plan, "md", "ko").decode("utf-8")
    assert "연간 상한(15,000천원) 도달로 이연" in text


def test_replaced_in_is_the_actual_and_out_of_the_plan():
    old = Device(id="old", name="IPS", category="ips", acquired=date(2010, 1, 1),
                 unit_cost_krw=50_000_000, replaced_in=2020, funding="시비")
    plan = build_plan([old], POLICY, year=2021, horizon=6)
    assert [spent.asset.device_id for spent in plan.spent] == ["old"]
    section, = report(plan).sections
    assert section.funding.cell("시비", 2020) == 50_000
    # No successor in the inventory: the plan assumes one bought in 2020, due in 2026.
    assert [(row.year, row.asset.renewed_in) for row in plan.rows] == [(2026, 2020)]


def test_funding_sources_in_the_reports_order_with_totals_first():
    devices = [Device(id=f"d{i}", name="PC", category="pc", acquired=date(2014, 1, 1),
                      unit_cost_krw=1_000_000, funding=source)
               for i, source in enumerate(["국비", "구비", "시비", None])]
    section, = report(build_plan(devices, POLICY, year=2021)).sections
    assert section.funding.sources == ("구비", "시비", "국비", None)
    text = export(build_plan(devices, POLICY, year=2021), "md", "ko").decode("utf-8")
    assert "| 계 | 4,000 | - | 4,000 |" in text and "| 미지정 | 1,000 | - | 1,000 |" in text


def test_block_titles_from_the_names():
    assert name_stem("행정망 백본 스위치 1") == "행정망 백본 스위치"
    assert name_stem("업무용 PC (2019년 도입분)") == "업무용 PC"
    assert common_name(["행정망 백본 스위치 1", "행정망 백본 스위치 2"]) == "행정망 백본 스위치"
    assert common_name(["자산관리 서버", "대표 홈페이지 서버"]) is None


# --- The command ----------------------------------------------------------------------------

def test_plan_command_cap_order_and_lang_default(tmp_path, capsys, write):
    out = tmp_path / "plan.md"
    assert main(["plan", str(EXAMPLE), "--year", "2021", "--horizon", "1", "--cap", "pc=100",
                 "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")          # agent.lang: ko in the example
    assert "- 대 상 : 업무용 PC(100대)" in text and "연간 상한(100대) 도달로 이연" in text
    assert main(["plan", str(EXAMPLE), "--year", "2021", "--cap", "printer=10천원",
                 "--order", "printer=oldest_first", "--lang", "en", "-o", str(out)]) == 0
    assert "yearly cap (10 thousand KRW) reached" in out.read_text(encoding="utf-8")
    assert main(["plan", str(EXAMPLE), "--year", "2021", "--cap", "프린토=5"]) == 1
    assert "neither a project nor a category (did you mean '프린터'?)" in capsys.readouterr().err

"""Plan exports: csv (BOM), json, markdown (the district table layout) and xlsx read back."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import openpyxl
import pytest
from test_plan import POLICY, dev, district_2021

from inventory.plan import build_plan
from inventory.plan_export import export

BACKBONE = "행정망 백본 스위치"


@pytest.fixture
def plan():
    devices = [*district_2021(),
               dev("fw-web", category="ips", name="웹 방화벽 | 별관", acquired=date(2015, 1, 1)),
               dev("mystery", category="ips", name="출처 미상 장비", unit_cost_krw=5_000_000)]
    return build_plan(devices, POLICY, year=2021, horizon=1)


def rows_of_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_has_bom_korean_headers_and_labels(plan):
    data = export(plan, "csv", "ko")
    assert data.startswith(b"\xef\xbb\xbf")
    header, *rows = rows_of_csv(data)
    assert header[:5] == ["연도", "순위", "관리번호", "구분", "품명"]
    first = dict(zip(header, rows[0], strict=False))
    assert first["품명"] == BACKBONE and first["구분"] == "백본 스위치"
    assert first["교체사유"] == "내용연수 경과 및 노후화로 인한 제조사 기술지원 종료"
    assert (first["경과연수(년)"], first["수량"], first["금액(천원)"]) == ("13", "2", "479862")
    assert (first["단위"], first["상태"]) == ("대", "교체")


def test_csv_flags_missing_cost_and_lists_undated_last(plan):
    header, *rows = rows_of_csv(export(plan, "csv", "ko"))
    by_id = {row[header.index("관리번호")]: dict(zip(header, row, strict=False)) for row in rows}
    assert "단가 미입력" in by_id["fw-web"]["비고"] and by_id["fw-web"]["금액(천원)"] == ""
    assert rows[-1][header.index("관리번호")] == "mystery"
    assert by_id["mystery"]["연도"] == "" and "일정 미상" in by_id["mystery"]["비고"]
    assert by_id["mystery"]["상태"] == "일정 미상"


def test_csv_english_headers_and_reasons(plan):
    header, first, *_ = rows_of_csv(export(plan, "csv", "en"))
    assert header[:3] == ["Year", "Priority", "ID"]
    record = dict(zip(header, first, strict=False))
    assert record["Reasons"] == "service life exceeded and ageing; vendor support ended"
    assert record["Category"] == "Backbone switch"


def test_json_codes_stable_labels_follow_language(plan):
    data = export(plan, "json", "ko")
    assert BACKBONE.encode() in data                 # Korean written as is, not \\u escapes
    document = json.loads(data)
    backbone = document["rows"][0]
    assert backbone["reasons"] == ["service_life", "vendor_support"]
    assert backbone["reason_labels"] == ["내용연수 경과", "제조사 기술지원 종료"]
    assert backbone["years_elapsed"] == 13 and backbone["total_cost_krw"] == 479_862_000
    by_year = {entry["year"]: entry for entry in document["totals"]["by_year"]}
    assert by_year[2021]["thousand_krw"] == 479_862 + 53_528 + 43_233
    assert by_year[2021]["cost_missing_rows"] == 1
    assert by_year[2022]["rows"] == 0
    assert [asset["id"] for asset in document["undated"]] == ["mystery"]
    english = json.loads(export(plan, "json", "en"))
    assert english["rows"][0]["reasons"] == backbone["reasons"]


def test_markdown_sections_appendix_rows_in_thousand_won(plan):
    text = export(plan, "md", "ko").decode("utf-8")
    assert "## 1. 백본 스위치" in text and "### 행정망 백본 스위치 교체" in text
    assert "## 붙임 1. 연차별 교체 일정 (세부 내역)" in text
    backbone_line = next(line for line in text.splitlines()
                         if BACKBONE in line and line.startswith("| 2021"))
    cells = [cell.strip() for cell in backbone_line.strip("|").split(" | ")]
    assert "내용연수 경과 및 노후화로 인한 제조사 기술지원 종료" in cells
    assert "479,862" in cells                        # total, 천원
    assert "13" in cells and "2008" in cells
    assert "단가가 입력되지 않은 1건은 합계에 포함되지 않았습니다." in text
    assert "- 소요예산 : 53,528천원(2대) (단가 미입력 1건 제외)" in text


def test_markdown_escapes_pipes_in_cells(plan):
    text = export(plan, "md", "en").decode("utf-8")
    assert "웹 방화벽 \\| 별관" in text
    assert "## Required funds by project and year" in text


def read_xlsx(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def test_xlsx_detail_sheet_frozen_formatted_korean(plan):
    book = read_xlsx(export(plan, "xlsx", "ko"))
    assert book.sheetnames == ["1. 백본 스위치", "2. 침입방지시스템", "3. 보안 장비", "소요재원",
                               "세부내역", "일정미상"]
    sheet = book["세부내역"]
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header[3:5] == ["구분", "품명"]
    first = dict(zip(header, sheet[2], strict=False))
    assert first["품명"].value == BACKBONE
    assert first["금액(천원)"].value == 479_862
    assert first["금액(천원)"].number_format == "#,##0"
    widths = {key: dim.width for key, dim in sheet.column_dimensions.items()}
    assert widths["E"] > widths["A"]                 # 품명 wider than 연도
    assert sheet.max_row == 1 + len(plan.rows)


def test_xlsx_projects_sheet_in_thousand_won(plan):
    sheet = read_xlsx(export(plan, "xlsx", "ko"))["소요재원"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:5] == ("사업", "합계", "2020년(실적)", "2021년", "2022년")
    table = {row[0]: row for row in rows[2:] if row[0]}
    assert table["계"][3] == 479_862 + 53_528 + 43_233
    assert table["백본 스위치"][1:5] == (479_862, 0, 479_862, 0)


def test_xlsx_english_sheet_names_and_no_undated_sheet_when_none():
    plan = build_plan(district_2021(), POLICY, year=2021)
    book = read_xlsx(export(plan, "xlsx", "en"))
    assert book.sheetnames == ["1. Backbone switch", "2. Intrusion prevention system",
                               "3. Security appliance", "Totals", "Detail"]
    assert book["Detail"]["D2"].value == "Backbone switch"


def test_unknown_format_or_language_rejected(plan):
    with pytest.raises(ValueError, match="format"):
        export(plan, "pdf", "ko")
    with pytest.raises(ValueError, match="language"):
        export(plan, "csv", "jp")

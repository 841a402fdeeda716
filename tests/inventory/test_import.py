"""Spreadsheet import: headers, encodings, years, money, ids, errors, and the round trip."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import yaml

from agent.cli import import_sheet as import_command
from agent.cli import main
from agent.cli import plan as plan_command
from config.errors import ConfigError
from inventory.importer import import_sheet, slug, to_yaml
from inventory.load import load_config, load_service_life_table

HEADER = "구분,품명,모델,제조사,도입연도,수량,내용연수,설치장소,단가(천원),관리번호,비고"
ROWS = [
    "행정망 백본,행정망 백본 스위치,EX-9000,ExampleNet,2008년,2,7,4층 전산실,"
    "\"239,931\",BB-001,이중화",
    "침입방지 시스템,서비스망 IPS,GL-IPS 3000,GL,2012,1,6년,4층 전산실,53528,,",
]


@pytest.fixture(scope="module")
def table():
    return load_service_life_table()


def write_csv(tmp_path: Path, lines: list[str], encoding: str = "utf-8",
              name: str = "inv.csv") -> Path:
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def problems_of(path: Path, table) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        import_sheet(path, table)
    return [str(p) for p in caught.value.problems]


def test_korean_headers_map_to_the_config_schema(tmp_path, table):
    result = import_sheet(write_csv(tmp_path, [HEADER, *ROWS]), table)
    backbone, ips = result.devices
    assert backbone == {
        "id": "BB-001", "name": "행정망 백본 스위치", "category": "backbone_switch",
        "vendor": "ExampleNet", "model": "EX-9000", "location": "4층 전산실",
        "acquired": 2008, "service_life_years": 7, "unit_cost_krw": 239_931_000,
        "quantity": 2, "notes": "이중화"}
    assert list(backbone) == ["id", "name", "category", "vendor", "model", "location",
                              "acquired", "service_life_years", "unit_cost_krw", "quantity",
                              "notes"]
    assert ips["category"] == "ips" and ips["unit_cost_krw"] == 53_528_000
    assert ips["id"] == f"ips-{slug('서비스망 IPS')}"   # name and site, never the row
    assert ips["service_life_years"] == 6         # the table's own number, kept as written
    assert result.encoding == "UTF-8" and result.unknown_columns == ()


def test_english_headers_and_variants(tmp_path, table):
    path = write_csv(tmp_path, [
        "Category,Item Name,Model,Acquisition Date,QTY,Service life (years),Unit cost (KRW),"
        "Serial_No,Goods code,Owner",
        "Backbone Switch,Core,EX-1,2008-03-01,1,10,\"1,000,000\",SN1,43211501,Kim"])
    result = import_sheet(path, table)
    (device,) = result.devices
    assert device["acquired"] == date(2008, 3, 1)
    assert device["service_life_years"] == 10     # differs from the table's 7: kept
    assert (device["serial"], device["goods_code"]) == ("SN1", "43211501")
    assert device["unit_cost_krw"] == 1_000_000
    assert result.unknown_columns == ("Owner",)


def test_cp949_csv_is_detected_and_said(tmp_path, table):
    result = import_sheet(write_csv(tmp_path, [HEADER, *ROWS], encoding="cp949"), table)
    assert result.encoding == "CP949"
    assert result.devices[0]["name"] == "행정망 백본 스위치"
    assert "read as CP949" in to_yaml(result)


def test_utf8_with_bom(tmp_path, table):
    result = import_sheet(write_csv(tmp_path, [HEADER, *ROWS], encoding="utf-8-sig"), table)
    assert result.encoding == "UTF-8 with BOM"
    assert result.devices[0]["category"] == "backbone_switch"   # the BOM is not in 구분


def test_neither_utf8_nor_cp949_is_an_error(tmp_path, table):
    path = tmp_path / "inv.csv"
    path.write_bytes(b"\xff\xfe\xff\x00garbage")
    (message,) = problems_of(path, table)
    assert message.startswith(f"{path}: ") and "neither UTF-8 nor CP949" in message


@pytest.mark.parametrize(("written", "expected"), [
    ("2008", 2008), ("2008년", 2008), ("2008.0", 2008), ("2008-03-01", date(2008, 3, 1)),
    ("2008. 3. 1.", date(2008, 3, 1)), ("2008년 3월 1일", date(2008, 3, 1)),
    ("20080301", date(2008, 3, 1)), ("2016-02-29", date(2016, 2, 29))])
def test_acquisition_forms(tmp_path, table, written, expected):
    path = write_csv(tmp_path, ["구분,품명,도입연도", f"PC,업무용 PC,{written}"])
    assert import_sheet(path, table).devices[0]["acquired"] == expected


def test_year_before_is_that_year_with_warning_and_note(tmp_path, table):
    path = write_csv(tmp_path, ["구분,품명,도입연도,수량", "PC,업무용 PC,2014년 이전,104"])
    result = import_sheet(path, table)
    (device,) = result.devices
    assert device["acquired"] == 2014 and device["quantity"] == 104
    assert "2014년 이전" in device["notes"]
    assert any("row 2" in w and "2014" in w for w in result.warnings)


def test_money_in_won_with_commas_and_unit_in_cell(tmp_path, table):
    path = write_csv(tmp_path, ["구분,품명,도입연도,단가", "PC,a,2016,\"1,150,000원\"",
                                "PC,b,2016,1150천원", "PC,c,2016,₩1150000"])
    assert [d["unit_cost_krw"] for d in import_sheet(path, table).devices] == [1_150_000] * 3


def test_total_without_unit_cost_is_divided_by_quantity(tmp_path, table):
    path = write_csv(tmp_path, ["구분,품명,도입연도,수량,금액(천원)", "PC,a,2016,65,\"74,750\""])
    assert import_sheet(path, table).devices[0]["unit_cost_krw"] == 1_150_000


def test_errors_name_file_row_and_column_all_at_once(tmp_path, table):
    path = write_csv(tmp_path, [
        "구분,품명,도입연도,수량,단가",
        "라우타,코어 라우터,2010,abc,1000",
        "스위치,,20x8,0,-5",
        "스위치,정상 행,2015,2,1000"])
    messages = problems_of(path, table)
    assert f"{path}: row 2, column 수량: not a whole number: 'abc'" in messages
    assert any(m.startswith(f"{path}: row 2, column 구분: unknown category '라우타'")
               and "라우터" in m for m in messages)
    row3 = [m for m in messages if m.startswith(f"{path}: row 3, ")]
    assert {m.split(",")[1].split(":")[0].strip() for m in row3} == {
        "column 품명", "column 도입연도", "column 수량", "column 단가"}


def test_duplicate_ids_are_errors(tmp_path, table):
    path = write_csv(tmp_path, ["구분,품명,도입연도,관리번호", "PC,a,2016,X-1", "PC,b,2016,X-1"])
    (message,) = problems_of(path, table)
    assert "row 3, column 관리번호: duplicate id 'X-1' (also row 2)" in message


def test_title_rows_blank_rows_and_total_rows(tmp_path, table):
    path = write_csv(tmp_path, ["2021년 정보통신장비 현황,,", ",,", "구분,품명,도입연도",
                                "PC,a,2016", ",,", "합계,,"])
    result = import_sheet(path, table)
    assert [d["id"] for d in result.devices] == ["pc-a"]
    assert any("row 6" in w and "total" in w for w in result.warnings)


def test_missing_required_columns(tmp_path, table):
    (message,) = problems_of(write_csv(tmp_path, ["품명,수량", "x,1"]), table)
    assert "missing required column" in message
    assert "구분" in message and "도입연도" in message and "품명" not in message.split(":")[-1]


def test_xlsx_with_dates_numbers_and_korean(tmp_path, table):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["정보화 장비 현황"])
    sheet.append(["구분", "품명", "취득일", "수량", "단가(원)", "물품분류번호"])
    sheet.append(["방화벽", "행정망 방화벽", datetime(2014, 3, 2), 2.0, 44_791_000, 43222501])
    path = tmp_path / "inv.xlsx"
    book.save(path)
    result = import_sheet(path, table)
    (device,) = result.devices
    assert device["category"] == "firewall" and device["acquired"] == date(2014, 3, 2)
    assert (device["quantity"], device["unit_cost_krw"]) == (2, 44_791_000)
    assert device["goods_code"] == "43222501"
    assert device["id"] == f"firewall-{slug('행정망 방화벽')}"
    assert result.encoding is None


def test_xlsx_missing_required_column(tmp_path, table):
    book = openpyxl.Workbook()
    book.active.append(["구분", "품명", "수량"])
    book.active.append(["PC", "a", 1])
    path = tmp_path / "inv.xlsx"
    book.save(path)
    (message,) = problems_of(path, table)
    assert message.startswith(f"{path}: row 1: missing required column(s): 도입연도")


def test_not_a_workbook_and_missing_file(tmp_path, table):
    fake = tmp_path / "fake.xlsx"
    fake.write_text("구분,품명\n")
    assert "not a readable xlsx" in problems_of(fake, table)[0]
    assert "no such file" in problems_of(tmp_path / "none.csv", table)[0]
    assert ".xlsx or .csv" in problems_of(tmp_path / "old.xls", table)[0]


def test_round_trip_loads_with_the_config_loader(tmp_path, table):
    sheet = write_csv(tmp_path, [HEADER, *ROWS, "PC,업무용 PC,,,2014년 이전,104,5,,1200,정보-7,"])
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(to_yaml(import_sheet(sheet, table)), encoding="utf-8")
    main = tmp_path / "lifeline.yaml"
    main.write_text("include: [inventory.yaml]\n", encoding="utf-8")
    config = load_config(main)
    backbone = config.device("BB-001")
    assert backbone.acquired == date(2008, 1, 1) and backbone.acquired_year_only
    assert backbone.unit_cost_krw * backbone.quantity == 479_862_000
    pc = config.device(slug("정보-7"))
    assert dict(pc.tags) == {"asset_no": "정보-7"} and pc.quantity == 104


def run_cli(argv: list[str]) -> int:
    return main(argv)


def test_import_command_writes_nothing_on_error(tmp_path, capsys):
    sheet = write_csv(tmp_path, ["구분,품명,도입연도,수량", "PC,a,2016,abc"])
    out = tmp_path / "inventory.yaml"
    assert run_cli(["import", str(sheet), "-o", str(out)]) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert "row 2, column 수량: not a whole number: 'abc'" in err and "Traceback" not in err


def test_import_command_reports_encoding_and_unknown_columns(tmp_path, capsys):
    sheet = write_csv(tmp_path, [HEADER + ",담당자", *(r + ",김" for r in ROWS)], "cp949")
    out = tmp_path / "inventory.yaml"
    assert run_cli(["import", str(sheet), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "read as CP949" in err and "not understood" in err and "담당자" in err
    written = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert written["devices"][0]["name"] == "행정망 백본 스위치"


def test_plan_command_from_imported_sheet(tmp_path, capsys):
    sheet = write_csv(tmp_path, [HEADER, *ROWS])
    (tmp_path / "inventory.yaml").write_text(
        to_yaml(import_sheet(sheet, load_service_life_table())), encoding="utf-8")
    (tmp_path / "main.yaml").write_text("include: [inventory.yaml]\n", encoding="utf-8")
    assert run_cli(["plan", str(tmp_path / "main.yaml"), "--year", "2021"]) == 0
    out = capsys.readouterr().out
    assert "479,862" in out and "53,528" in out
    assert run_cli(["plan", str(tmp_path / "main.yaml"), "--year", "2021",
                    "--format", "xlsx"]) == 1          # xlsx needs -o
    assert run_cli(["plan", str(tmp_path / "missing.yaml"), "--year", "2021"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_command_modules_expose_the_cli_interface():
    for module in (import_command, plan_command):
        assert callable(module.add_arguments) and callable(module.run)

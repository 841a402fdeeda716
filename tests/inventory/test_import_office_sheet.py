"""The office's own sheet (issue 15): its date styles, 운영시간, 주요기능, 비고, 재원, every
value kept, ids that survive an inserted row, `-o` into a new folder, Korean messages;
and Korean category names in the configuration, with a did-you-mean."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from agent.cli import main
from config.errors import ConfigError
from inventory.importer import import_sheet, to_yaml
from inventory.load import load_config, load_service_life_table

HEADER = "연번,구분,품명,설치기관,도입연도,수량,내용연수,운영시간,주요기능,재원,비고,담당자"
ROWS = [
    "1,무인민원발급기,무인민원발급기,이마트 금정점,2013.03.,1,7,매일 10:00~24:00,"
    "주민등록 등·초본 발급,구비,이전 설치,민원여권과",
    "2,무인민원발급기,무인민원발급기,부산대역,2015.2,1,7,매일 05:00~24:00,"
    "주민등록 등·초본 발급,시비,,민원여권과",
    "3,무인민원발급기,무인민원발급기,새마을금고 회동점,2015년 2월,1,7,월~금 09:00~16:00,,,,",
    "4,무인민원발급기,무인민원발급기,구청 민원실,2017-02,1,7,24시간,,,,",
    "5,스위치,서버팜 스위치,구청,2020.09.,2,7,,서버 연결,구비,,",
]


@pytest.fixture(scope="module")
def table():
    return load_service_life_table()


def write_sheet(tmp_path: Path, rows: list[str], name: str = "office.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp949"))
    return path


def test_a_cp949_sheet_written_the_office_way_imports_as_it_is(tmp_path, table):
    result = import_sheet(write_sheet(tmp_path, ROWS), table)
    assert result.encoding == "CP949"
    emart, station, credit_union, hall, switch = result.devices
    assert emart["acquired"] == date(2013, 3, 1)
    assert station["acquired"] == date(2015, 2, 1)
    assert credit_union["acquired"] == date(2015, 2, 1)
    assert hall["acquired"] == date(2017, 2, 1)
    assert emart["operating_hours"] == "daily 10:00-24:00"
    assert credit_union["operating_hours"] == "mon-fri 09:00-16:00"
    assert hall["operating_hours"] == "24h"
    assert (emart["function"], emart["funding"], emart["notes"]) == (
        "주민등록 등·초본 발급", "구비", "이전 설치")
    assert station["funding"] == "시비"
    assert emart["service_life_years"] == 7          # the table's own 7, kept as written
    assert emart["tags"] == {"담당자": "민원여권과"}    # a column not understood, kept
    assert switch["category"] == "switch" and switch["quantity"] == 2


@pytest.mark.parametrize(("written", "expected"), [
    ("2013.03.", date(2013, 3, 1)), ("2013.3", date(2013, 3, 1)),
    ("2013년 3월", date(2013, 3, 1)), ("2013-03", date(2013, 3, 1)),
    ("2013. 3.", date(2013, 3, 1)), ("2013.12", date(2013, 12, 1)),
    ("2013.03.05", date(2013, 3, 5)), ("2013", 2013), ("2013년", 2013)])
def test_the_offices_date_styles(tmp_path, table, written, expected):
    row = f"1,PC,업무용 PC,구청,{written},1,5,,,,,"
    (device,) = import_sheet(write_sheet(tmp_path, [row]), table).devices
    assert device["acquired"] == expected


def test_a_month_that_is_not_one_is_an_error(tmp_path, table):
    with pytest.raises(ConfigError) as caught:
        import_sheet(write_sheet(tmp_path, ["1,PC,업무용 PC,구청,2013.13.,1,5,,,,,"]), table)
    assert "not a month: '2013.13.'" in str(caught.value)


def test_unreadable_opening_hours_name_the_cell(tmp_path, table):
    with pytest.raises(ConfigError) as caught:
        import_sheet(write_sheet(tmp_path, ["1,PC,업무용 PC,구청,2013,1,5,가끔,,,,"]), table)
    assert "row 2, column 운영시간: not opening hours: '가끔'" in str(caught.value)


def test_ids_do_not_change_when_a_row_is_inserted(tmp_path, table):
    before = import_sheet(write_sheet(tmp_path, ROWS, "before.csv"), table)
    inserted = [ROWS[0], "9,무인민원발급기,무인민원발급기,롯데마트,2018.02.,1,7,,,,,", *ROWS[1:]]
    after = import_sheet(write_sheet(tmp_path, inserted, "after.csv"), table)
    ids_before = {d["id"] for d in before.devices}
    ids_after = {d["id"] for d in after.devices}
    assert ids_before < ids_after and len(ids_after) == len(ids_before) + 1
    assert all(not d["id"].endswith(("-2", "-3", "-4", "-5", "-6")) for d in after.devices)


def test_the_same_name_and_site_twice_takes_the_year(tmp_path, table):
    rows = ["1,PC,업무용 PC,구청,2015,10,5,,,,,", "2,PC,업무용 PC,구청,2016,10,5,,,,,"]
    first, second = import_sheet(write_sheet(tmp_path, rows), table).devices
    assert second["id"] == f"{first['id']}-2016"


def test_imported_sheet_loads_and_plans(tmp_path, table):
    inventory = tmp_path / "inventory" / "office.yaml"
    inventory.parent.mkdir()
    inventory.write_text(to_yaml(import_sheet(write_sheet(tmp_path, ROWS), table)),
                         encoding="utf-8")
    main_file = tmp_path / "lifeline.yaml"
    main_file.write_text("include: [inventory/*.yaml]\n", encoding="utf-8")
    config = load_config(main_file)
    kiosk = next(d for d in config.devices if d.site == "이마트 금정점")
    assert (kiosk.function, kiosk.funding, kiosk.operating_hours) == (
        "주민등록 등·초본 발급", "구비", "daily 10:00-24:00")


def test_import_command_creates_the_output_folder_and_speaks_korean(tmp_path, capsys):
    sheet = write_sheet(tmp_path, ROWS)
    out = tmp_path / "new" / "deeper" / "office.yaml"
    assert main(["import", str(sheet), "-o", str(out), "--lang", "ko"]) == 0
    devices = yaml.safe_load(out.read_text(encoding="utf-8"))["devices"]
    assert len(devices) == 5
    err = capsys.readouterr().err
    assert "CP949(으)로 읽음" in err and "5건을" in err and "담당자" in err
    assert main(["import", str(sheet), "--lang", "en", "-o", str(out)]) == 0
    assert "5 records written to" in capsys.readouterr().err


# --- Korean category names in the configuration --------------------------------------------

def test_korean_category_names_and_aliases_in_yaml(write):
    main_file = write("lifeline.yaml", """\
        devices:
          - {id: sw-1, name: 스위치 1, category: 스위치, acquired: 2020-06-30}
          - {id: bb-1, name: 백본, category: 행정망 백본, acquired: 2008-03}
          - {id: fw-1, name: 방화벽, category: Firewall, acquired: 2020}
        """)
    config = load_config(main_file)
    assert [d.category for d in config.devices] == ["switch", "backbone_switch", "firewall"]
    assert config.device("bb-1").acquired == date(2008, 3, 1)


def test_an_unknown_korean_category_has_a_did_you_mean(write):
    main_file = write("lifeline.yaml", """\
        devices:
          - {id: sw-1, name: 스위치 1, category: 스위취, acquired: 2020}
        """)
    with pytest.raises(ConfigError) as caught:
        load_config(main_file)
    assert "unknown category '스위취' (did you mean '스위치'?)" in str(caught.value)


def test_plan_section_checks_categories_and_devices(write):
    main_file = write("lifeline.yaml", """\
        plan:
          projects:
            - {key: net, name_ko: 네트워크, categories: [스위치, 라우타], devices: [sw-9]}
          categories:
            pc: {cap_units: 221, order: oldest_first}
        devices:
          - {id: sw-1, name: 스위치 1, category: switch, acquired: 2020}
        """)
    with pytest.raises(ConfigError) as caught:
        load_config(main_file)
    text = str(caught.value)
    assert "unknown category '라우타' (did you mean '라우터'?)" in text
    assert "unknown device 'sw-9'" in text


def test_replaced_in_before_acquired_is_an_error(write):
    main_file = write("lifeline.yaml", """\
        devices:
          - {id: sw-1, name: 스위치 1, category: switch, acquired: 2020, replaced_in: 2019}
        """)
    with pytest.raises(ConfigError, match="2019 is before the year it was acquired"):
        load_config(main_file)

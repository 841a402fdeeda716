"""Importing a camera sheet: an address column (관리IP, IP주소) and a protocol default per
category turn a 600-row sheet into 600 watched cameras, each with its parent switch."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.cli import main
from config.errors import ConfigError
from inventory.importer import import_sheet, to_yaml
from inventory.load import load_config, load_service_life_table

HEADER = "관리번호,구분,품명,설치장소,도입연도,관리IP,상위장비,점검방식"


@pytest.fixture(scope="module")
def table():
    return load_service_life_table()


def sheet(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "cameras.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_six_hundred_cameras_become_six_hundred_watched_devices(tmp_path: Path, table) -> None:
    rows = [f"CAM-{i:03d},CCTV,방범 CCTV {i},교차로 {i},2018,127.0.{i // 250 + 10}.{i % 250 + 1},"
            "poe-sw-1," for i in range(600)]
    result = import_sheet(sheet(tmp_path, rows), table)
    assert len(result.devices) == 600
    first = result.devices[0]
    assert first["category"] == "cctv_camera" and first["parent"] == "poe-sw-1"
    assert first["poll"] == {"protocol": "icmp", "address": "127.0.10.1"}
    # the YAML loads as a config, parent and all
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(to_yaml(result), encoding="utf-8")
    main_file = tmp_path / "main.yaml"
    main_file.write_text(
        "include: [inventory.yaml, switch.yaml]\n", encoding="utf-8")
    (tmp_path / "switch.yaml").write_text(
        "devices:\n  - {id: poe-sw-1, name: PoE, category: switch}\n", encoding="utf-8")
    config = load_config(main_file)
    cameras = [d for d in config.devices if d.category == "cctv_camera"]
    assert len(cameras) == 600 and all(d.poll and d.poll.protocol == "icmp" for d in cameras)


def test_english_headers_a_protocol_column_and_ip_with_port(tmp_path: Path, table) -> None:
    path = sheet(tmp_path, ["AP-1,AP,lobby AP,2019,127.0.0.20,,",
                            "K-1,kiosk,lobby kiosk,2017,127.0.0.21:8080,,tcp",
                            "SW-9,switch,closet switch,2015,127.0.0.22,,"],
                 header="id,category,name,year,IP address,parent,protocol")
    result = import_sheet(path, table)
    ap, kiosk, switch = result.devices
    assert ap["poll"] == {"protocol": "icmp", "address": "127.0.0.20"}
    assert kiosk["poll"] == {"protocol": "tcp", "address": "127.0.0.21:8080"}
    assert "poll" not in switch and switch["tags"] == {"address": "127.0.0.22"}
    assert any("no default protocol" in w for w in result.warnings)


def test_bad_addresses_and_protocols_are_row_problems(tmp_path: Path, table) -> None:
    path = sheet(tmp_path, ["C-1,CCTV,cam,,2018,127.0.0.1:554,,",
                            "C-2,CCTV,cam,,2018,127.0.0.2,,tcp",
                            "C-3,CCTV,cam,,2018,not an ip,,",
                            "C-4,CCTV,cam,,2018,127.0.0.4,,snmp"])
    with pytest.raises(ConfigError) as caught:
        import_sheet(path, table)
    shown = [str(p) for p in caught.value.problems]
    assert any("row 2, column 관리IP" in p and "needs no port" in p for p in shown), shown
    assert any("row 3, column 관리IP" in p and "needs host:port" in p for p in shown), shown
    assert any("row 4" in p and "not an IP address" in p for p in shown), shown
    assert any("row 5, column 점검방식" in p and "only icmp or tcp" in p for p in shown), shown


def test_the_command_changes_a_default_per_category(tmp_path: Path, capsys) -> None:
    path = sheet(tmp_path, ["C-1,CCTV,cam,,2018,127.0.0.1,,",
                            "P-1,IP전화기,phone,,2019,127.0.0.2,,"])
    out = tmp_path / "out.yaml"
    assert main(["import", str(path), "-o", str(out), "--poll", "ip_phone=none"]) == 0
    camera, phone = yaml.safe_load(out.read_text(encoding="utf-8"))["devices"]
    assert camera["poll"]["protocol"] == "icmp" and "poll" not in phone
    assert main(["import", str(path), "--poll", "camera"]) == 1
    assert "expected CATEGORY=icmp" in capsys.readouterr().err

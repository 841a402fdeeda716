"""`lifeline inventory --lang ko|en` (default: the config's agent.lang, else the locale)
and its csv for Excel: a byte-order mark, costs, 재원, 주요기능 (issue 15)."""
from __future__ import annotations

import csv
import io

from agent.cli import main
from agent.cli.common import locale_lang, resolve_lang

CONFIG = """\
agent: {{state_dir: ./var{lang}}}
devices:
  - id: bb-1
    name: 행정망 백본 스위치
    category: backbone_switch
    acquired: 2008-03-01
    support_ends: 2020-12-31
    unit_cost_krw: 239931000
    quantity: 2
    funding: 구비
    function: 메인 스위치
"""


def test_csv_has_a_bom_korean_headers_costs_and_words(write, tmp_path, capsys):
    config = write("lifeline.yaml", CONFIG.format(lang=", lang: ko"))
    out = tmp_path / "inventory.csv"
    assert main(["inventory", str(config), "--as-of", "2021-01-01", "--format", "csv",
                 "-o", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    record = dict(zip(header, row, strict=True))
    assert (record["단가(원)"], record["금액(원)"]) == ("239931000", "479862000")
    assert (record["재원"], record["주요기능"]) == ("구비", "메인 스위치")
    assert (record["내용연수 상태"], record["기술지원 상태"]) == ("내용연수 경과", "기술지원 종료")


def test_table_in_english_when_asked(write, capsys):
    config = write("lifeline.yaml", CONFIG.format(lang=", lang: ko"))
    assert main(["inventory", str(config), "--as-of", "2021-01-01", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ID ") and "1 records as of 2021-01-01: 1 exceeded" in out
    assert main(["inventory", str(config), "--as-of", "2021-01-01"]) == 0
    assert "2021-01-01 기준 1건: 내용연수 경과 1" in capsys.readouterr().out


def test_language_defaults_to_the_locale_without_agent_lang(monkeypatch):
    monkeypatch.setenv("LC_ALL", "ko_KR.UTF-8")
    assert locale_lang() == "ko" and resolve_lang(None) == "ko"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    assert resolve_lang(None) == "en"
    assert resolve_lang("ko") == "ko"

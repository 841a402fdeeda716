"""Import the asset sheet an office keeps (csv or xlsx) as inventory YAML.

`import_sheet(path, categories)` reads the sheet, maps its columns (Korean or English
headers, small variants: spacing, case, units in brackets such as 단가(천원)), and turns
every row into a device entry in the config schema of DESIGN.md. All problems are
collected first and raised together as one `ConfigError`, each naming file, row and
column (`inv.csv: row 7, column 수량: not a whole number: 'abc'`); nothing is returned
half-done. `to_yaml(result)` writes the entries (Korean kept, keys in a stable order).

Rules worth knowing:

* The header row is the first of the top ten rows that names a category and a name
  column (office sheets often start with a title row). Rows are numbered as the
  spreadsheet numbers them (the header is row 1 when there is no title).
* Required columns: category (구분), name (품명), acquisition year or date (도입연도 or
  취득일). A row may leave the year empty: it is imported without `acquired`, and the
  plan lists it as undated.
* Categories match the service-life table's keys, Korean and English names and aliases,
  ignoring case and spaces. An unknown one is an error with the closest known name.
* 도입연도 2008, "2008년" -> `acquired: 2008` (the loader reads a bare year as 1 Jan and
  marks it year-only). "2014년 이전" -> 2014, with a warning and a note on the device.
  A year and month as offices write it ("2013.03.", "2013.3", "2013년 3월", "2013-03")
  -> the 1st of that month (a support or lease end: the last day of that month). An
  xlsx *number* cell 2013.1 cannot tell January from October: it is read as January.
* 운영시간 ("매일 10:00~24:00", "평일 09:00~18:00", "24시간", "월~금 09:00~16:00") ->
  `operating_hours` in the config's grammar (inventory/hours.py); 주요기능 -> `function`,
  재원 -> `funding`, 비고 -> `notes`.
* Money: commas, 원 and ₩ are dropped; a column or cell in 천원 is multiplied by 1000.
  Without 단가 but with 금액 (total), the unit cost is the total over the quantity.
* Every value the sheet gives is kept: 내용연수 even where it equals the table's, and a
  column the importer does not understand goes into `tags` under its header as written.
* Ids never depend on the row: 관리번호/id when it is a valid id (letters, digits,
  `_ . : -`); a 관리번호 that is not (Korean, spaces) becomes a slug of it and is kept in
  `tags.asset_no`; without one, `<category>-<slug of name and site>`. A slug keeps ASCII
  letters and digits and, when the text has others (Korean), adds 6 hex digits of its
  SHA-1, so that it stays unique and the same on every re-import. Two rows with the
  same name and site take their acquisition year, then `-2`, `-3` in sheet order.
* CSV is read as UTF-8 (with or without BOM), else CP949, which Korean Excel writes by
  default; the encoding used is reported. Comma, tab or semicolon separated.
* An address column (관리IP, IP주소) makes a row a watched device: `poll: {protocol,
  address}`, the protocol from a 점검방식/protocol column, else the category's default
  (`DEFAULT_PROTOCOLS`: cameras, access points, phones and signage are pinged; the caller
  may change them). Only `icmp` and `tcp` (address host:port, e.g. RTSP 554) come from a
  sheet: SNMP needs credentials and HTTP a URL, which are written in YAML. An address in
  a category without a protocol is kept as `tags.address`, with a warning. A 상위장비
  (parent) column gives the switch a device hangs off.
"""
from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import ipaddress
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import yaml

from config.dates import in_window, out_of_window
from config.errors import ConfigError, Problem, did_you_mean
from config.files import FileRefusedError, read_capped
from config.messages import Message, said
from inventory.category_names import CategoryIndex
from inventory.category_names import normalise as _normalise
from inventory.hours import HoursError, OperatingHours
from inventory.model import Category

T = TypeVar("T")
Cells = Callable[[str], Any]     # a row's cell by canonical column name, None if absent

# Canonical field -> the headers that mean it, already normalised (see `_normalise`).
FIELD_HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("관리번호", "자산번호", "자산관리번호", "id", "assetid", "assetno", "assetnumber"),
    "category": ("구분", "분류", "품목", "종류", "장비구분", "장비분류", "category", "type",
                 "kind"),
    "name": ("품명", "장비명", "명칭", "물품명", "name", "item", "itemname", "description"),
    "vendor": ("제조사", "제조업체", "제조회사", "vendor", "manufacturer", "maker", "make"),
    "model": ("모델", "모델명", "규격", "model", "modelname"),
    "serial": ("일련번호", "시리얼", "시리얼번호", "제조번호", "serial", "serialnumber",
               "serialno", "s/n", "sn"),
    "site": ("설치기관", "기관", "사이트", "site"),
    "location": ("설치장소", "설치위치", "위치", "장소", "location", "place"),
    "goods_code": ("물품분류번호", "물품목록번호", "goodscode", "goodsclassificationnumber"),
    "acquired_year": ("도입연도", "도입년도", "취득연도", "취득년도", "구입연도", "구입년도",
                      "도입시기", "year", "acquiredyear", "yearacquired", "acquisitionyear"),
    "acquired_date": ("취득일", "취득일자", "도입일", "도입일자", "구입일", "구입일자",
                      "acquired", "acquireddate", "acquisitiondate", "dateacquired"),
    "service_life_years": ("내용연수", "servicelife", "servicelifeyears", "usefullife"),
    "support_ends": ("기술지원종료일", "기술지원종료", "supportends", "endofsupport"),
    "lease_ends": ("임차만료일", "임차종료일", "leaseends", "leaseend"),
    "unit_cost": ("단가", "취득단가", "unitcost", "unitcostkrw", "unitprice", "price"),
    "total_cost": ("금액", "취득금액", "총액", "합계금액", "totalcost", "amount", "total"),
    "quantity": ("수량", "qty", "quantity", "count"),
    "criticality": ("중요도", "criticality"),
    "notes": ("비고", "notes", "note", "remarks", "memo"),
    "function": ("주요기능", "기능", "용도", "function", "mainfunction", "purpose"),
    "funding": ("재원", "예산재원", "funding", "fundingsource"),
    "operating_hours": ("운영시간", "이용시간", "운영시간대", "openinghours", "operatinghours",
                        "hours"),
    "address": ("관리ip", "ip주소", "ip", "ipaddress", "관리주소", "address", "ipv4", "ip어드레스"),
    "protocol": ("점검방식", "감시방식", "protocol", "pollprotocol"),
    "parent": ("상위장비", "연결장비", "상위스위치", "연결스위치", "parent", "uplink"),
}
# Categories watched by default when a row has an address: the large fleets with no
# SNMP an operator would poll (the district's 604 cameras, its APs, phones, signage).
DEFAULT_PROTOCOLS: Mapping[str, str] = {"cctv_camera": "icmp", "wifi_ap": "icmp",
                                        "ip_phone": "icmp", "signage": "icmp"}
IMPORTED_PROTOCOLS = ("icmp", "tcp")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Understood and deliberately not imported: row numbers and values Lifeline derives.
IGNORED_HEADERS = ("연번", "순번", "번호", "no", "no.", "경과연수", "경과년수", "yearselapsed")
REQUIRED = (("category", "구분 (category)"), ("name", "품명 (name)"))
ACQUIRED_LABEL = "도입연도 or 취득일 (acquired year or date)"
TOTAL_ROW_WORDS = ("합계", "계", "소계", "총계", "total", "subtotal")
CRITICALITY_WORDS = {"critical": "critical", "high": "high", "normal": "normal", "low": "low",
                     "최상": "critical", "긴급": "critical", "핵심": "critical",
                     "상": "high", "높음": "high", "중": "normal", "보통": "normal",
                     "하": "low", "낮음": "low"}
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
HEADER_SEARCH_ROWS = 10
EXTRA = "extra:"                 # a column not understood: its cells become tags
MAX_CELL_CHARS = 2000            # a name or a note is a line or two; this leaves room

_HEADER_INDEX = {alias: name for name, aliases in FIELD_HEADERS.items() for alias in aliases}


@dataclass(frozen=True, slots=True)
class SheetProblem(Problem):
    """A problem in a spreadsheet: `line` is the row (0: the whole sheet), `path` the column."""

    def text(self, lang: str = "en") -> str:
        where = [said("sheet_row", row=str(self.line)).render(lang)] if self.line else []
        where += [said("sheet_column", column=self.path).render(lang)] if self.path else []
        message = self.said.render(lang)
        return f"{self.file}: {', '.join(where)}: {message}" if where else \
            f"{self.file}: {message}"

    def __str__(self) -> str:
        return self.text("en")


class CellError(ValueError):
    """A cell that cannot be read; `said` says why (the message is its English)."""

    def __init__(self, kind: str, **values: str) -> None:
        self.said = said(kind, **values)
        super().__init__(self.said.render("en"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    """What a sheet became: device entries (dicts in the config schema, keys in order)."""

    source: Path
    devices: tuple[dict[str, Any], ...]
    encoding: str | None                  # how a CSV was decoded; None for xlsx
    unknown_columns: tuple[str, ...]      # headers not understood, as written
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Column:
    index: int
    header: str                           # as written, for messages
    thousand_won: bool = False            # the header says 천원


@dataclass(slots=True)
class _RowContext:
    """Where a row's problems and warnings go while it is read."""

    file: str
    row: int
    problems: list[Problem]
    warnings: list[str]
    columns: Mapping[str, _Column] = field(default_factory=dict)

    def problem(self, fieldname: str, message: Message) -> None:
        self.problems.append(SheetProblem(self.file, self.row, self.columns[fieldname].header,
                                          message))


# ---- reading -----------------------------------------------------------------------------

def read_rows(path: Path) -> tuple[list[list[Any]], str | None]:
    """The sheet's rows as lists of cell values, and the CSV encoding used (None for xlsx)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm"):
        hint = said("save_as_xlsx" if suffix == ".xls" else "none")
        raise _sheet_error(path, said("not_a_sheet", hint=hint))
    try:
        data = read_capped(path)
    except FileRefusedError as exc:
        raise _sheet_error(path, exc.said) from None
    if suffix in (".xlsx", ".xlsm"):
        rows, encoding = _xlsx_rows(path, data), None
    else:
        text, csv_encoding = decode_csv(path, data)
        rows, encoding = _csv_rows(path, text), csv_encoding
    _check_cell_sizes(path, rows)
    return rows, encoding


def decode_csv(path: Path, data: bytes) -> tuple[str, str]:
    """The text of a CSV file: UTF-8 (with or without BOM), else CP949 (Korean Excel)."""
    encodings: tuple[tuple[str, str], ...]
    if data.startswith(codecs.BOM_UTF8):
        encodings = (("utf-8-sig", "UTF-8 with BOM"),)
    else:
        encodings = (("utf-8", "UTF-8"), ("cp949", "CP949"))
    for codec, label in encodings:
        try:
            return data.decode(codec), label
        except UnicodeDecodeError:
            continue
    raise _sheet_error(path, said("cannot_decode"))


def _csv_rows(path: Path, text: str) -> list[list[Any]]:
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        return [list(row) for row in reader]
    except csv.Error as exc:    # e.g. a cell past the csv module's own limit (128 KiB)
        raise ConfigError([SheetProblem(str(path), reader.line_num, "",
                                        said("not_csv", why=str(exc)))]) from None


def _check_cell_sizes(path: Path, rows: list[list[Any]]) -> None:
    """No cell longer than MAX_CELL_CHARS: such a cell is not an asset's name or note but
    a wrong file or a paste gone astray, and it would be carried into the inventory."""
    problems = [SheetProblem(str(path), number, f"{column}",
                             said("cell_too_long", length=f"{len(value):,}",
                                  limit=f"{MAX_CELL_CHARS:,}"))
                for number, row in enumerate(rows, 1)
                for column, value in enumerate(row, 1)
                if isinstance(value, str) and len(value) > MAX_CELL_CHARS]
    if problems:
        raise ConfigError(problems[:10])


def _xlsx_rows(path: Path, data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook  # only the xlsx path pays for openpyxl

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _sheet_error(path, said("not_xlsx", why=str(exc))) from None
    try:
        sheet = book.active or book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _sheet_error(path: Path, message: Message) -> ConfigError:
    return ConfigError([SheetProblem(str(path), 0, "", message)])


# ---- headers -----------------------------------------------------------------------------

def _parse_header(cell: Any) -> tuple[str | None, bool]:
    """(canonical field or None, whether the header says 천원) for one header cell."""
    text = _normalise(str(cell or ""))
    units = "".join(re.findall(r"[(\[](.*?)[)\]]", text))
    base = re.sub(r"[(\[].*?[)\]]", "", text)
    thousand = "천원" in units or base.endswith("천원")
    base = re.sub(r"(천원|원|krw)$", "", base) if base not in _HEADER_INDEX else base
    if base in IGNORED_HEADERS or text in IGNORED_HEADERS:
        return "", thousand
    return _HEADER_INDEX.get(base), thousand


def _find_header(rows: list[list[Any]]) -> int | None:
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        fields = {_parse_header(cell)[0] for cell in row}
        if {"category", "name"} <= fields:
            return index
    return None


def _map_columns(path: Path, header: list[Any], header_row: int, problems: list[Problem],
                 warnings: list[str]) -> tuple[dict[str, _Column], list[str]]:
    columns: dict[str, _Column] = {}
    unknown: list[str] = []
    for index, cell in enumerate(header):
        written = str(cell).strip() if cell is not None else ""
        if not written:
            continue
        name, thousand = _parse_header(cell)
        if name is None:
            unknown.append(written)
            columns[f"{EXTRA}{written}"] = _Column(index, written)   # kept as a tag
        elif name and name in columns:
            warnings.append(f"{path}: column {written}: means the same as column "
                            f"{columns[name].header}; ignored")
        elif name:
            columns[name] = _Column(index, written, thousand)
    missing = [label for name, label in REQUIRED if name not in columns]
    if "acquired_year" not in columns and "acquired_date" not in columns:
        missing.append(ACQUIRED_LABEL)
    if missing:
        problems.append(SheetProblem(str(path), header_row, "",
                                     said("missing_columns", columns=", ".join(missing))))
    return columns, unknown


# ---- cells -------------------------------------------------------------------------------

def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)                   # xlsx stores 2008 or a model number as 2008.0
    if isinstance(value, datetime):
        value = value.date()
    text = str(value).strip()
    return text or None


def _whole(value: Any, units: str = "") -> int:
    """A whole number: 2, 2.0, '1,585', '2대'. Raises ValueError with the message."""
    if isinstance(value, bool):
        raise CellError("not_whole", value=repr(value))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = re.sub(rf"\s*({units})$", "", str(value).strip(), flags=re.IGNORECASE) if units \
        else str(value).strip()
    cleaned = text.replace(",", "")
    if not re.fullmatch(r"\d+", cleaned):
        raise CellError("not_whole", value=repr(value))
    return int(cleaned)


def _won(value: Any, thousand_column: bool) -> int:
    """Money in won from 239931000, '239,931,000원', '₩1,200', or 천원 (column or cell)."""
    text = str(value).strip().replace(",", "").replace("₩", "").replace(" ", "")
    thousand = thousand_column or text.endswith("천원")
    text = re.sub(r"(천원|원|krw)$", "", text, flags=re.IGNORECASE)
    try:
        amount = Decimal(text) * (1000 if thousand else 1)
    except InvalidOperation:
        raise CellError("not_an_amount", value=repr(value)) from None
    if amount < 0 or amount != amount.to_integral_value():
        raise CellError("not_won", value=repr(value))
    return int(amount)


_YEAR = re.compile(r"(\d{4})(?:\.0+)?\s*년?")   # 2008.0: a year saved from a number cell
_BEFORE = re.compile(
    r"(?:~|≤|<=|<)?\s*(\d{4})\s*년?\s*(이전|이하|까지|以前|or earlier|and before)?")
_DATE = re.compile(r"(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})\s*[.일]?")
# '2013.03.', '2013.3', '2013년 3월', '2013-03', '2013/03': a year and a month
_MONTH = re.compile(r"(\d{4})\s*(?:[-./]|년)\s*(\d{1,2})\s*[.월]?")


@dataclass(frozen=True, slots=True)
class _Acquired:
    """An acquisition as the sheet gave it: a whole date, or only a year (maybe 'before')."""

    value: date | int
    approximate: bool = False             # "2014년 이전": the year is an upper bound
    month_only: bool = False              # "2013.03.": the 1st stands for the month

    @property
    def year(self) -> int:
        return self.value if isinstance(self.value, int) else self.value.year


def _acquired(value: Any) -> _Acquired:
    """2008, 2008.0, '2008년', '2014년 이전', '~2014', dates as cells or written out."""
    if isinstance(value, datetime):
        return _Acquired(_windowed(value.date()))
    if isinstance(value, date):
        return _Acquired(_windowed(value))
    text = _text(value) or ""
    compact = text.replace(" ", "")
    if match := _DATE.fullmatch(text):
        try:
            written = date(*map(int, match.groups()))
        except ValueError:
            raise CellError("not_a_cell_date", value=repr(value)) from None
        return _Acquired(_windowed(written))
    if re.fullmatch(r"\d{8}", compact):
        try:
            written = date(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
        except ValueError:
            raise CellError("not_a_cell_date", value=repr(value)) from None
        return _Acquired(_windowed(written))
    if match := _YEAR.fullmatch(text):
        return _Acquired(_check_year(int(match.group(1)), value))
    if match := _MONTH.fullmatch(text):
        year, month = _check_year(int(match.group(1)), value), int(match.group(2))
        if not 1 <= month <= 12:
            raise CellError("not_a_month", value=repr(value))
        return _Acquired(_windowed(date(year, month, 1)), month_only=True)
    if (match := _BEFORE.fullmatch(text)) and (match.group(2) or not text[0].isdigit()):
        return _Acquired(_check_year(int(match.group(1)), value), approximate=True)
    raise CellError("not_year_or_date", value=repr(value))


def _windowed(value: date) -> date:
    """The date, if the configuration would take it (config/dates.py)."""
    if not in_window(value):
        window = out_of_window(value)
        raise CellError(window.kind, **{k: str(v) for k, v in window.values})
    return value


def _check_year(year: int, written: Any) -> int:
    if not 1950 <= year <= 2100:
        raise CellError("not_plausible_year", value=repr(written))
    return year


def _date_cell(value: Any) -> date:
    """A last day (support, lease): a date, or a month meaning its last day."""
    found = _acquired(value)
    if isinstance(found.value, int):
        raise CellError("not_a_last_day", value=repr(value))
    if found.month_only:
        first = found.value
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return date.fromordinal(following.toordinal() - 1)
    return found.value


_HOURS_WORDS = (("24시간", "24h"), ("매일", "daily"), ("평일", "mon-fri"), ("주말", "sat,sun"),
                ("월", "mon"), ("화", "tue"), ("수", "wed"), ("목", "thu"), ("금", "fri"),
                ("토", "sat"), ("일", "sun"))


def _hours(value: Any) -> str:
    """운영시간 in the config's grammar: '매일 10:00~24:00' -> 'daily 10:00-24:00',
    '월~금 09:00~16:00' -> 'mon-fri 09:00-16:00', '24시간' -> '24h'."""
    text = unicodedata.normalize("NFKC", _text(value) or "")
    text = re.sub(r"[~∼〜–—]", "-", text).replace("요일", "").replace("연중무휴", "")
    for korean, english in _HOURS_WORDS:
        text = text.replace(korean, f" {english} ")
    text = " ".join(text.split())
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"\s*,\s*", ",", text)
    text = re.sub(r"\s*/\s*", "; ", text)
    try:
        OperatingHours.parse(text)
    except HoursError:
        raise CellError("not_hours", value=repr(value)) from None
    return text


# ---- rows --------------------------------------------------------------------------------

def _cell(row: list[Any], columns: Mapping[str, _Column], name: str) -> Any:
    column = columns.get(name)
    if column is None or column.index >= len(row):
        return None
    value = row[column.index]
    return None if isinstance(value, str) and not value.strip() else value


def _read_row(ctx: _RowContext, row: list[Any], index: CategoryIndex,
              categories: Mapping[str, Category],
              protocols: Mapping[str, str]) -> dict[str, Any] | None:
    """One device entry, or None when the row has problems (recorded in `ctx`)."""
    before = len(ctx.problems)
    get = functools.partial(_cell, row, ctx.columns)       # get("quantity"): the cell
    entry: dict[str, Any] = {}
    category = _category(ctx, get("category"), index)
    name = _text(get("name"))
    if name is None:
        ctx.problem("name", said("no_name"))
    acquired = _parse(ctx, "acquired_date", get("acquired_date"), _acquired) \
        or _parse(ctx, "acquired_year", get("acquired_year"), _acquired)
    _check_year_and_date(ctx, get, acquired)
    quantity = _parse(ctx, "quantity", get("quantity"),
                      lambda v: _whole(v, "대|식|개|ea|set|sets|units?"))
    if quantity is not None and quantity < 1:
        ctx.problem("quantity", said("quantity_below_one", value=str(quantity)))
    life = _parse(ctx, "service_life_years", get("service_life_years"),
                  lambda v: _whole(v, "년|years?|yrs?"))
    unit_cost = _unit_cost(ctx, get, quantity or 1)
    if len(ctx.problems) > before or category is None or name is None:
        return None
    entry["category"] = category
    entry["name"] = name
    for key in ("vendor", "model", "serial", "site", "location", "goods_code"):
        if (text := _text(get(key))) is not None:
            entry[key] = text
    if acquired is not None:
        entry["acquired"] = acquired.value
    if life is not None:          # kept even when it equals the table's: the sheet said it
        entry["service_life_years"] = life
    for key in ("support_ends", "lease_ends"):
        if (when := _parse(ctx, key, get(key), _date_cell)) is not None:
            entry[key] = when
    if unit_cost is not None:
        entry["unit_cost_krw"] = unit_cost
    entry["quantity"] = quantity or 1
    if (level := _criticality(ctx, get("criticality"))) is not None:
        entry["criticality"] = level
    _office_fields(ctx, entry, get)
    notes = _notes(ctx, get("notes"), get, acquired)
    if notes:
        entry["notes"] = notes
    if (parent := _text(get("parent"))) is not None:
        entry["parent"] = parent
    _watch(ctx, entry, get, protocols)
    return entry if len(ctx.problems) == before else None


def _watch(ctx: _RowContext, entry: dict[str, Any], get: Cells,
           protocols: Mapping[str, str]) -> None:
    """`poll` from the address and protocol cells (or the category's default protocol)."""
    address = _text(get("address"))
    written = _text(get("protocol"))
    if address is None:
        if written is not None:
            ctx.problem("protocol", said("protocol_without_address"))
        return
    protocol = written.lower() if written is not None else protocols.get(entry["category"])
    if protocol is None:
        entry["tags"] = {**entry.get("tags", {}), "address": address}
        ctx.warnings.append(f"{ctx.file}: row {ctx.row}: category {entry['category']} has no "
                            f"default protocol: the address is kept as tags.address, not polled")
        return
    if protocol not in IMPORTED_PROTOCOLS:
        ctx.problem("protocol", said("sheet_protocol", value=repr(written)))
        return
    problem = _address_problem(address, protocol)
    if problem:
        ctx.problem("address", problem)
        return
    entry["poll"] = {"protocol": protocol, "address": address}


def _address_problem(address: str, protocol: str) -> Message | None:
    host, port = address, None
    if address.count(":") == 1 or address.startswith("["):
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.fullmatch(host):
            return said("not_a_host", value=repr(address))
    if protocol == "icmp" and port is not None:
        return said("ping_no_port", value=repr(address))
    if protocol == "tcp" and not (port and port.isdigit() and 0 < int(port) < 65536):
        return said("tcp_needs_port", value=repr(address))
    return None


def _office_fields(ctx: _RowContext, entry: dict[str, Any], get: Cells) -> None:
    """주요기능, 재원, 운영시간, and the cells of columns not understood (as tags)."""
    for key in ("function", "funding"):
        if (text := _text(get(key))) is not None:
            entry[key] = text
    if (hours := _parse(ctx, "operating_hours", get("operating_hours"), _hours)) is not None:
        entry["operating_hours"] = hours
    extra = {name[len(EXTRA):]: str(text) for name in ctx.columns if name.startswith(EXTRA)
             if (text := _text(get(name))) is not None}
    if extra:
        entry["tags"] = {**entry.get("tags", {}), **extra}


def _parse(ctx: _RowContext, fieldname: str, value: Any,
           parse: Callable[[Any], T]) -> T | None:
    """`parse(value)`, or None when the cell is empty or does not parse (a problem)."""
    if value is None:
        return None
    try:
        return parse(value)
    except CellError as exc:
        ctx.problem(fieldname, exc.said)
        return None


def _category(ctx: _RowContext, value: Any, index: CategoryIndex) -> str | None:
    written = _text(value)
    if written is None:
        ctx.problem("category", said("no_category"))
        return None
    key = index.find(written)
    if key is None:
        ctx.problem("category", said("unknown_category", value=repr(written),
                                     hint=did_you_mean(written, index.labels, cutoff=0.5)))
    return key


def _check_year_and_date(ctx: _RowContext, get: Cells, acquired: _Acquired | None) -> None:
    """A sheet with both a year and a date column must agree with itself."""
    year_cell, date_cell = get("acquired_year"), get("acquired_date")
    if acquired is None or year_cell is None or date_cell is None:
        return
    try:
        year = _acquired(year_cell).year
    except ValueError:
        return                                  # the date wins; the year is not used
    if year != acquired.year:
        ctx.problem("acquired_year", said("year_disagrees", year=str(year),
                                          header=ctx.columns["acquired_date"].header,
                                          date=str(acquired.value)))


def _money(ctx: _RowContext, column: str) -> Callable[[Any], int]:
    """The parser of a money column: in 천원 when its header says so. Called only for a
    cell the sheet has, so only then is the column looked up."""
    def parse(value: Any) -> int:
        return _won(value, ctx.columns[column].thousand_won)
    return parse


def _unit_cost(ctx: _RowContext, get: Cells, quantity: int) -> int | None:
    unit = _parse(ctx, "unit_cost", get("unit_cost"), _money(ctx, "unit_cost"))
    total = _parse(ctx, "total_cost", get("total_cost"), _money(ctx, "total_cost"))
    if unit is not None or total is None:
        if unit is not None and total is not None and unit * quantity != total:
            ctx.warnings.append(f"{ctx.file}: row {ctx.row}: {ctx.columns['unit_cost'].header} "
                                f"x {quantity} is {unit * quantity:,}, not "
                                f"{ctx.columns['total_cost'].header} {total:,}; the unit cost "
                                f"was used")
        return unit
    if total % quantity:
        ctx.problem("total_cost", said("total_not_multiple", total=f"{total:,}",
                                       quantity=str(quantity)))
        return None
    return total // quantity


def _criticality(ctx: _RowContext, value: Any) -> str | None:
    written = _text(value)
    if written is None:
        return None
    level = CRITICALITY_WORDS.get(written.lower())
    if level is None:
        ctx.problem("criticality", said("unknown_criticality", value=repr(written)))
    return level


def _notes(ctx: _RowContext, written: Any, get: Any, acquired: _Acquired | None) -> str | None:
    notes = [text] if (text := _text(written)) else []
    if acquired is not None and acquired.approximate:
        raw = _text(get("acquired_year")) or _text(get("acquired_date"))
        ctx.warnings.append(f"{ctx.file}: row {ctx.row}: acquired {raw!r} read as "
                            f"{acquired.year} (an upper bound: the asset may be older)")
        notes.append(f"도입연도: {raw} (imported as {acquired.year})")
    return "; ".join(notes) or None


def _is_blank(row: list[Any]) -> bool:
    return all(_text(value) is None for value in row)


def _is_total_row(row: list[Any], columns: Mapping[str, _Column]) -> bool:
    labels = [_text(_cell(row, columns, name)) for name in ("category", "name")]
    return any(label is not None and _normalise(label) in TOTAL_ROW_WORDS for label in labels)


# ---- ids ---------------------------------------------------------------------------------

def _assign_ids(file: str, placed: list[tuple[int, dict[str, Any], str | None]],
                problems: list[Problem], id_header: str, warnings: list[str]) -> None:
    """Ids from the sheet where valid, else slugs (module doc); duplicates are errors."""
    seen: dict[str, int] = {}
    kept_as_tag = 0
    for row, entry, written in placed:
        if written is not None and ID_PATTERN.fullmatch(written):
            device_id = written
        elif written is not None:
            device_id = slug(written)
            entry["tags"] = {"asset_no": written, **entry.get("tags", {})}
            kept_as_tag += 1
        else:
            device_id = _free_id(entry, seen)
        if device_id in seen:
            problems.append(SheetProblem(
                file, row, id_header, said("duplicate_row_id", id=repr(device_id),
                                           row=str(seen[device_id]))))
        seen[device_id] = row
        entry["id"] = device_id
    if kept_as_tag:
        warnings.append(f"{file}: {kept_as_tag} {id_header} value(s) are not valid ids (letters, "
                        f"digits, _ . : -): ids were made from them and the numbers kept as "
                        f"tags.asset_no")


def _free_id(entry: dict[str, Any], seen: Mapping[str, int]) -> str:
    """`<category>-<slug of name and site>`, then with the year, then -2, -3 …"""
    base = f"{entry['category']}-{slug(' '.join(filter(None, [entry['name'], entry.get('site')])))}"
    year = entry.get("acquired")
    year = year if isinstance(year, int) else getattr(year, "year", None)
    tries = [base, *([f"{base}-{year}"] if year else [])]
    for candidate in tries:
        if candidate not in seen:
            return candidate
    number = 2
    while f"{tries[-1]}-{number}" in seen:
        number += 1
    return f"{tries[-1]}-{number}"


def slug(text: str) -> str:
    """An id from any text: its ASCII letters and digits, lower case, joined by '-', plus 6
    hex digits of its SHA-1 when it has other characters (Korean), so that two Korean
    names never meet and the same name always gives the same id."""
    folded = unicodedata.normalize("NFKC", text).strip()
    ascii_part = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:80]
    if folded.isascii() and ascii_part:
        return ascii_part
    digest = hashlib.sha1(folded.encode("utf-8")).hexdigest()[:6]
    return f"{ascii_part}-{digest}" if ascii_part else digest


# ---- the whole sheet ---------------------------------------------------------------------

KEY_ORDER = ("id", "name", "category", "vendor", "model", "serial", "site", "location",
             "goods_code", "acquired", "service_life_years", "support_ends", "lease_ends",
             "unit_cost_krw", "quantity", "criticality", "function", "funding",
             "operating_hours", "parent", "tags", "notes", "poll")


def import_sheet(path: str | Path, categories: Mapping[str, Category],
                 protocols: Mapping[str, str] = DEFAULT_PROTOCOLS, *,
                 progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Device entries for every row of the sheet at `path`; ConfigError listing all problems.
    `protocols`: category -> how a row with an address but no protocol cell is polled.
    `progress(rows_read, rows)` hears how far the reading of rows has come."""
    path = Path(path)
    rows, encoding = read_rows(path)
    file = str(path)
    header_index = _find_header(rows)
    problems: list[Problem] = []
    warnings: list[str] = []
    if header_index is None:
        header_index = 0 if rows else -1
    header = rows[header_index] if rows else []
    columns, unknown = _map_columns(path, header, header_index + 1, problems, warnings)
    if problems:
        raise ConfigError(problems)
    index = CategoryIndex(categories)
    placed: list[tuple[int, dict[str, Any], str | None]] = []
    total = max(0, len(rows) - header_index - 1)
    for number, row in _data_rows(rows, header_index):
        if progress is not None:
            progress(number - header_index - 1, total)
        if _is_total_row(row, columns):
            warnings.append(f"{file}: row {number}: looks like a total row; skipped")
            continue
        ctx = _RowContext(file, number, problems, warnings, columns)
        entry = _read_row(ctx, row, index, categories, protocols)
        if entry is not None:
            placed.append((number, entry, _text(_cell(row, columns, "id"))))
    id_header = columns["id"].header if "id" in columns else "관리번호"
    _assign_ids(file, placed, problems, id_header, warnings)
    if problems:
        raise ConfigError(problems)
    if not placed:
        raise ConfigError([SheetProblem(file, 0, "", said("no_rows"))])
    devices = tuple({key: entry[key] for key in KEY_ORDER if key in entry}
                    for _, entry, _ in placed)
    return ImportResult(source=path, devices=devices, encoding=encoding,
                        unknown_columns=tuple(unknown), warnings=tuple(warnings))


def _data_rows(rows: list[list[Any]], header_index: int) -> Iterator[tuple[int, list[Any]]]:
    for offset, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        if not _is_blank(row):
            yield offset, row


def to_yaml(result: ImportResult) -> str:
    """The inventory file: a comment saying where it came from, then `devices:`."""
    how = f", read as {result.encoding}" if result.encoding else ""
    head = (f"# Imported by `lifeline import` from {result.source.name}{how}: "
            f"{len(result.devices)} records.\n"
            "# Check categories, ids and costs; include this file from your config.\n")
    body = yaml.safe_dump({"devices": [dict(d) for d in result.devices]}, allow_unicode=True,
                          sort_keys=False, default_flow_style=False, width=100)
    return head + body

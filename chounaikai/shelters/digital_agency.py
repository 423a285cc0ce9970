"""CSV in the Digital Agency layout (自治体標準オープンデータセット 指定緊急避難場所・指定避難所).

Columns are found by their header, so extra columns (a 地区 or a head count,
as in Nanao's open-shelter list) do no harm.  A site's ``source_key`` is
``da:<ID>``.  A file with 想定収容人数 lists 指定避難所; a site with any
災害種別_* flag is also a 指定緊急避難場所.  The layout has no 福祉避難所
column: names containing 福祉 are taken as one (staff can change it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask_babel import gettext as _

from . import records
from .records import HAZARD_COLUMNS, Problem, RowProblem, ShelterRecord

ID, NAME, KANA, ADDRESS = "ID", "名称", "名称_カナ", "所在地_連結表記"
LATITUDE, LONGITUDE = "緯度", "経度"
PREFECTURE, CITY, TOWN = "所在地_都道府県", "所在地_市区町村", "所在地_町字"
CODE = "所在地_全国地方公共団体コード"
CAPACITY = "想定収容人数"
FLAG_PREFIX = "災害種別_"
REQUIRED = (ID, NAME, ADDRESS, LATITUDE, LONGITUDE)
MAX_ID_LENGTH = 100
MAX_ROWS = 100_000  # a whole prefecture is a few thousand


def where(line: int) -> str:
    return _("%(n)d行目", n=line)


def _rows(content: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) per record; a quoted cell may span lines."""
    # newline="" as the csv module asks: \r\n, \n and \r end lines; U+2028 and the like
    # (which str.splitlines would also split on) stay inside their cell.
    reader = csv.reader(io.StringIO(content, newline=""))
    start = 1
    for row in reader:
        if any(cell.strip() for cell in row):
            yield start, row
        start = reader.line_num + 1


def parse(filename: str, content: str, *, district_from: str | None = None
          ) -> tuple[list[ShelterRecord], list[Problem]]:
    """Every row's record, or the problems (wrong columns, bad values, repeated IDs)."""
    rows = _rows(content)
    try:
        _line, header = next(rows, (1, []))
    except csv.Error as error:
        return [], [Problem(filename, where(1), _("CSVとして読めません（%(detail)s）。",
                                                  detail=str(error)))]
    header = [records.nfkc(cell).strip() for cell in header]
    missing = [column for column in REQUIRED if column not in header]
    if district_from and district_from not in header:
        missing.append(district_from)
    if missing:
        reason = _("列がありません: %(columns)s（デジタル庁の形式のCSVを選んでください）",
                   columns="、".join(missing))
        return [], [Problem(filename, where(1), reason)]
    columns = {name: header.index(name) for name in header if name}
    found: list[ShelterRecord] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    line = 1
    try:
        for line, cells in rows:
            if len(found) + len(problems) >= MAX_ROWS:
                problems.append(Problem(filename, where(line), _("行が多すぎます。")))
                break
            try:
                record = _record(columns, len(header), cells, district_from)
            except RowProblem as problem:
                problems.append(Problem(filename, where(line), str(problem)))
                continue
            if record.source_key in seen:
                problems.append(Problem(filename, where(line), _(
                    "IDが%(line)d行目と同じです。", line=seen[record.source_key])))
                continue
            seen[record.source_key] = line
            found.append(record)
    except csv.Error as error:
        problems.append(Problem(filename, _("%(n)d行目付近", n=line + 1),
                                _("CSVとして読めません（%(detail)s）。", detail=str(error))))
    if not found and not problems:
        problems.append(Problem(filename, where(2), _("避難所が1件もありません。")))
    return found, problems


def _record(columns: dict[str, int], width: int, cells: list[str],
            district_from: str | None) -> ShelterRecord:
    if any(c.strip() for c in cells[width:]):
        raise RowProblem(_("列の数が見出しより多すぎます。"))

    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else ""

    ident = records.nfkc(records.text(cell(ID), label=ID, max_length=MAX_ID_LENGTH,
                                      required=True))
    name = records.text(cell(NAME), label=NAME, max_length=records.MAX_NAME, required=True)
    address = records.text(cell(ADDRESS), label=ADDRESS, max_length=records.MAX_ADDRESS)
    latitude, longitude = records.location(cell(LATITUDE), cell(LONGITUDE))
    flags = {hazard: records.flag(cell(FLAG_PREFIX + column), label=FLAG_PREFIX + column)
             for column, hazard in HAZARD_COLUMNS.items() if FLAG_PREFIX + column in columns}
    hazards = frozenset(hazard for hazard, on in flags.items() if on)
    code = records.nfkc(cell(CODE)).strip()
    capacity_text = records.text(cell(CAPACITY), label=CAPACITY, max_length=1000)
    return ShelterRecord(
        source_key=records.source_key("da", ident),
        name=name, address=address,
        name_kana=records.text(cell(KANA), label=KANA, max_length=records.MAX_NAME) or None,
        district=_district(cell, address, district_from),
        municipality_code=code if len(code) == 6 and code.isdigit() else None,
        latitude=latitude, longitude=longitude,
        is_evacuation_shelter=True if CAPACITY in columns else None,
        is_emergency_site=bool(hazards) if flags else None,
        hazards=hazards if flags else None,
        capacity=records.capacity(capacity_text) if capacity_text else None,
        capacity_text=capacity_text[:records.MAX_CAPACITY_TEXT] or None,
        welfare_hint="福祉" in name,
    )


def _district(cell, address: str, district_from: str | None) -> str | None:
    """The chosen column, else the 町字 column, else the town part of the address."""
    if district_from:
        value = records.text(cell(district_from), label=district_from, max_length=200)
        return records.district_label(value)
    town = records.text(cell(TOWN), label=TOWN, max_length=200)
    if town:
        return records.town_name(town)
    prefecture = records.text(cell(PREFECTURE), label=PREFECTURE, max_length=20)
    city = records.text(cell(CITY), label=CITY, max_length=40)
    return records.town(address, prefecture + city, city)

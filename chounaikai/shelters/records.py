"""What an importer reads from one site, and the clean-up shared by both formats.

Published shelter data is messy: full-width digits and commas, flags written
``1``, ``1.0`` or left blank, capacities as prose.  Everything is NFKC-normalised
before it is read, and a value that cannot be read raises :class:`RowProblem`
so the importer can name the line (or feature) and reject the whole file.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from flask_babel import gettext as _

from ..models import Hazard

# The eight hazards, named as both the GSI and the Digital Agency layouts name them
# (the latter with a 災害種別_ prefix).
HAZARD_COLUMNS: dict[str, Hazard] = {
    "洪水": Hazard.FLOOD,
    "崖崩れ、土石流及び地滑り": Hazard.LANDSLIDE,
    "高潮": Hazard.STORM_SURGE,
    "地震": Hazard.EARTHQUAKE,
    "津波": Hazard.TSUNAMI,
    "大規模な火事": Hazard.FIRE,
    "内水氾濫": Hazard.INLAND_FLOODING,
    "火山現象": Hazard.VOLCANO,
}
HAZARD_ORDER = list(HAZARD_COLUMNS.values())

MAX_NAME = 200
MAX_ADDRESS = 300
MAX_CAPACITY_TEXT = 200
MAX_DISTRICT = 80
MAX_KEY = 128
MAX_PEOPLE = 10_000_000  # beyond any real site; keeps the integer column safe

# Japan's extent, generously (沖ノ鳥島 20.4°N … 択捉島 45.6°N, 与那国島 122.9°E … 南鳥島 154°E):
# catches swapped latitude/longitude and zeros as well as nonsense.
LATITUDE_RANGE = (20.0, 46.0)
LONGITUDE_RANGE = (122.0, 154.0)

_TRUE = {"1", "1.0", "○", "◯", "true"}
_FALSE = {"", "0", "0.0", "false"}
_DASHES = re.compile(r"[‐‑‒–—―−]")
_SPACES = re.compile(r"\s+")
_CHOON_DASH = re.compile(r"(?<=\d)ー(?=\d)")
_PREFECTURE_CITY = re.compile(r"^(.+?[都道府県])?(.+?[市区町村])")
_TOWN_END = re.compile(r"[0-9]|[一二三四五六七八九十]+丁目|番地|字")
_TRAILING_NOTE = re.compile(r"[（(][^（）()]*[）)]\s*$")


class RowProblem(Exception):
    """One value of one row (or feature) cannot be used; ``str()`` is the Japanese reason."""


@dataclass(frozen=True)
class Problem:
    """Where a file is bad and why, as shown to staff."""

    file: str
    where: str  # 「12行目」 or 「6番目の地物（features[5]）」
    reason: str

    def describe(self) -> str:
        return _("%(file)s の%(where)s: %(reason)s", file=self.file, where=self.where,
                 reason=self.reason)


@dataclass(frozen=True)
class ShelterRecord:
    """One site as a file describes it.

    ``None`` means "this file does not say" (the GSI 指定避難所 file knows
    nothing of hazards, the GSI files nothing of capacity), so a merge or an
    update leaves what another file set.
    """

    source_key: str
    name: str
    address: str
    name_kana: str | None = None
    district: str | None = None
    municipality_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    is_evacuation_shelter: bool | None = None
    is_emergency_site: bool | None = None
    hazards: frozenset[Hazard] | None = None
    capacity: int | None = None
    capacity_text: str | None = None
    welfare_hint: bool = False  # a 福祉避難所 by its name or its 受入対象者

    def merged(self, other: ShelterRecord) -> ShelterRecord:
        """This site as described by two files (or two rows): known facts add up."""

        def either(a: bool | None, b: bool | None) -> bool | None:
            return None if a is None and b is None else bool(a) or bool(b)

        hazards = (None if self.hazards is None and other.hazards is None
                   else (self.hazards or frozenset()) | (other.hazards or frozenset()))
        located = self.latitude is not None
        return replace(
            self,
            name_kana=self.name_kana or other.name_kana,
            district=self.district or other.district,
            municipality_code=self.municipality_code or other.municipality_code,
            latitude=self.latitude if located else other.latitude,
            longitude=self.longitude if located else other.longitude,
            is_evacuation_shelter=either(self.is_evacuation_shelter, other.is_evacuation_shelter),
            is_emergency_site=either(self.is_emergency_site, other.is_emergency_site),
            hazards=hazards,
            capacity=self.capacity if self.capacity_text else other.capacity,
            capacity_text=self.capacity_text or other.capacity_text,
            welfare_hint=self.welfare_hint or other.welfare_hint,
        )

    def columns(self) -> dict[str, Any]:
        """The Shelter columns this record knows; the rest are left as they are.

        A blank or missing optional value never erases a stored one: files
        differ in which columns they carry (Nanao's open-shelter list has no
        団体コード), and a re-import must not wipe what another file gave.
        """
        values: dict[str, Any] = {"name": self.name, "address": self.address}
        optional = {
            "name_kana": self.name_kana, "district": self.district,
            "municipality_code": self.municipality_code,
            "is_evacuation_shelter": self.is_evacuation_shelter,
            "is_emergency_site": self.is_emergency_site,
            "capacity": self.capacity, "capacity_text": self.capacity_text,
        }
        values.update((k, v) for k, v in optional.items() if v is not None)
        if self.latitude is not None and self.longitude is not None:
            values.update(latitude=self.latitude, longitude=self.longitude)
        if self.hazards is not None:
            values["hazards"] = [h.value for h in HAZARD_ORDER if h in self.hazards]
        return values


# -- clean-up ------------------------------------------------------------------------------

def nfkc(value: str) -> str:
    """Full-width digits, letters and commas become ASCII; odd dashes become '-'."""
    return _DASHES.sub("-", unicodedata.normalize("NFKC", value))


def text(value: Any, *, label: str, max_length: int, required: bool = False) -> str:
    """A string field, stripped; raises RowProblem for non-text, bad characters, length."""
    if value is None:
        value = ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise RowProblem(_("「%(label)s」が文字ではありません。", label=label))
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise RowProblem(_("「%(label)s」に使えない文字があります。", label=label))
    value = value.strip()
    if required and not value:
        raise RowProblem(_("「%(label)s」が空です。", label=label))
    if len(value) > max_length:
        raise RowProblem(_("「%(label)s」が長すぎます（%(n)d文字まで）。", label=label,
                           n=max_length))
    return value


def flag(value: Any, *, label: str) -> bool:
    """``1`` / ``1.0`` / ``○`` are yes, blank / ``0`` no; anything else is a RowProblem."""
    if value is None or value is False or value is True:
        return bool(value)
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, str):
        cleaned = nfkc(value).strip().lower()
        if cleaned in _TRUE:
            return True
        if cleaned in _FALSE:
            return False
    shown = str(value)[:20]
    raise RowProblem(_("「%(label)s」の値「%(value)s」を読めません（1 か空欄にしてください）。",
                       label=label, value=shown))


def coordinate(value: Any, *, label: str, bounds: tuple[float, float]) -> float | None:
    """A latitude or longitude inside Japan; blank gives None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(nfkc(value).strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not bounds[0] <= number <= bounds[1]:
        raise RowProblem(_("%(label)sが正しくありません（%(value)s）。", label=label,
                           value=str(value)[:30]))
    return number


def location(latitude: Any, longitude: Any) -> tuple[float | None, float | None]:
    """Both coordinates, or neither: half a location is a mistake in the file."""
    lat = coordinate(latitude, label=_("緯度"), bounds=LATITUDE_RANGE)
    lon = coordinate(longitude, label=_("経度"), bounds=LONGITUDE_RANGE)
    if (lat is None) != (lon is None):
        raise RowProblem(_("緯度と経度の片方しかありません。"))
    return lat, lon


def capacity(value: str) -> int | None:
    """Indoor people from text like 「屋内480人／屋外3,350人(面積の1/2)」 or 「480」."""
    cleaned = _SPACES.sub("", nfkc(value)).replace(",", "")
    match = re.search(r"屋内(\d+)人", cleaned) or re.fullmatch(r"(?:屋内)?(\d+)人?", cleaned)
    if match is None:
        return None
    people = int(match.group(1))
    return people if people <= MAX_PEOPLE else None


def key_part(value: str) -> str:
    """Name or address as part of a source key: NFKC, no spaces, and a long vowel mark
    between digits (３ー４１, a common typing slip) read as the hyphen it stands for."""
    return _CHOON_DASH.sub("-", _SPACES.sub("", nfkc(value)))


def source_key(prefix: str, *parts: str) -> str:
    """``prefix:part:part``; hashed past the column's length so a key never fails to fit."""
    key = ":".join((prefix, *parts))
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"{prefix}:{parts[0] if parts else ''}:{digest}"[:MAX_KEY]


def town(address: str, *prefixes: str) -> str | None:
    """The town part of an address (東京都町田市つくし野2-21-11 → つくし野).

    The city part is taken off (the given prefixes first, else anything up to
    the first 市区町村), then everything from the first number (block numbers,
    ○丁目, 番地, 字) on.
    """
    rest = _SPACES.sub("", nfkc(address))
    for prefix in prefixes:
        prefix = _SPACES.sub("", nfkc(prefix))
        if prefix and rest.startswith(prefix):
            rest = rest[len(prefix):]
            break
    else:
        match = _PREFECTURE_CITY.match(rest)
        if match:
            rest = rest[match.end():]
    return town_name(rest)


def town_name(value: str) -> str | None:
    """A 町字 without block numbers (矢田新町2丁目 → 矢田新町); None when empty."""
    rest = _SPACES.sub("", nfkc(value)).removeprefix("大字")
    end = _TOWN_END.search(rest)
    name = (rest[:end.start()] if end else rest)[:MAX_DISTRICT]
    return name or None


def district_label(value: str) -> str | None:
    """A district column's value without a trailing note: 御祓地区（25町会） → 御祓地区."""
    cleaned = _TRAILING_NOTE.sub("", nfkc(value).strip()).strip()
    return cleaned[:MAX_DISTRICT] or None


def municipality_check_digit(code5: str) -> str:
    """The check digit of a 全国地方公共団体コード (JIS X 0402): 13209 → 8."""
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def city_of(address: str) -> str | None:
    """石川県七尾市一本杉町… → 石川県七尾市 (for the attribution line)."""
    match = _PREFECTURE_CITY.match(_SPACES.sub("", nfkc(address)))
    return match.group(0) if match else None

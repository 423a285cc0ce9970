"""GSI (国土地理院) GeoJSON: 指定避難所 and 指定緊急避難場所, one file per kind.

The two files describe overlapping sites; a site is the same when its
施設・場所名 and 住所 match (after NFKC and without spaces) in the same
municipality, so its ``source_key`` is ``gsi:<団体コード>:<name>:<address>``.
The 指定避難所 file marks 福祉避難所 in 受入対象者 (要配慮者…).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask_babel import gettext as _

from . import records
from .records import HAZARD_COLUMNS, Problem, RowProblem, ShelterRecord

NAME = "施設・場所名"
ADDRESS = "住所"
MUNICIPALITY = "都道府県名及び市町村名"
COMMON_ID = "共通ID"
# Only the 指定避難所 file has these; only the 指定緊急避難場所 file has the hazards.
EVACUATION_MARKERS = ("指定緊急避難場所との住所同一", "受入対象者")
WELFARE_TARGET = "受入対象者"
_CODE6 = re.compile(r"^\d{6}$")
_COMMON_ID = re.compile(r"^[A-Z]?(\d{5})")


def where(index: int) -> str:
    """How a feature is named to staff: 1-based for people, the array index for tools."""
    return _("%(n)d番目の地物（features[%(i)d]）", n=index + 1, i=index)


def parse(filename: str, content: str, *, district_from: str | None = None
          ) -> tuple[list[ShelterRecord], list[Problem]]:
    """Every feature's record, or the problems (invalid JSON, bad features)."""
    try:
        data = json.loads(content)
    except json.JSONDecodeError as error:
        return [], [Problem(filename, _("%(n)d行目", n=error.lineno),
                            _("JSONとして読めません（%(detail)s）。", detail=error.msg))]
    except RecursionError:
        return [], [Problem(filename, _("ファイル全体"), _("JSONとして読めません。"))]
    if (not isinstance(data, dict) or data.get("type") != "FeatureCollection"
            or not isinstance(data.get("features"), list)):
        return [], [Problem(filename, _("ファイル全体"),
                            _("GeoJSON の FeatureCollection ではありません。"))]
    collection_code = data.get("name") if isinstance(data.get("name"), str) else None
    code = collection_code if collection_code and _CODE6.match(collection_code) else None
    found: list[ShelterRecord] = []
    problems: list[Problem] = []
    for index, feature in enumerate(data["features"]):
        try:
            found.append(_record(feature, code, district_from))
        except RowProblem as problem:
            problems.append(Problem(filename, where(index), str(problem)))
    if not found and not problems:
        problems.append(Problem(filename, _("ファイル全体"), _("避難所が1件もありません。")))
    return found, problems


def _record(feature: Any, code: str | None, district_from: str | None) -> ShelterRecord:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise RowProblem(_("Feature ではありません。"))
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise RowProblem(_("properties がありません。"))
    emergency = all(column in props for column in HAZARD_COLUMNS)
    if not emergency and not any(marker in props for marker in EVACUATION_MARKERS):
        raise RowProblem(_("指定避難所・指定緊急避難場所の項目がありません（列が違います）。"))
    missing = [c for c in (NAME, ADDRESS, MUNICIPALITY) if c not in props]
    if missing:
        raise RowProblem(_("項目がありません: %(columns)s", columns="、".join(missing)))
    name = records.text(props[NAME], label=NAME, max_length=records.MAX_NAME, required=True)
    address = records.text(props[ADDRESS], label=ADDRESS, max_length=records.MAX_ADDRESS)
    municipality = records.text(props[MUNICIPALITY], label=MUNICIPALITY, max_length=60)
    code = code or _code_from_common_id(props.get(COMMON_ID))
    latitude, longitude = _point(feature.get("geometry"))
    kind: dict[str, Any] = {}
    if emergency:
        hazards = frozenset(hazard for column, hazard in HAZARD_COLUMNS.items()
                            if records.flag(props[column], label=column))
        kind = {"is_emergency_site": True, "hazards": hazards}
    else:
        kind = {"is_evacuation_shelter": True}
    target = records.text(props.get(WELFARE_TARGET), label=WELFARE_TARGET, max_length=200)
    return ShelterRecord(
        source_key=records.source_key("gsi", code or records.key_part(municipality),
                                      records.key_part(name), records.key_part(address)),
        name=name, address=address,
        district=_district(props, address, municipality, district_from),
        municipality_code=code, latitude=latitude, longitude=longitude,
        welfare_hint="福祉" in name or (not emergency and bool(target)),
        **kind,
    )


def _district(props: dict[str, Any], address: str, municipality: str,
              district_from: str | None) -> str | None:
    if district_from:
        if district_from not in props:
            raise RowProblem(_("「%(column)s」の項目がありません。", column=district_from))
        value = records.text(props[district_from], label=district_from, max_length=200)
        return records.district_label(value)
    return records.town(address, municipality)


def _code_from_common_id(value: Any) -> str | None:
    """E1320900001111 → 132098: the 5-digit code in the 共通ID plus its check digit."""
    match = _COMMON_ID.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    return match.group(1) + records.municipality_check_digit(match.group(1))


def _point(geometry: Any) -> tuple[float | None, float | None]:
    """A Point's (latitude, longitude); GeoJSON allows a feature without a location."""
    if geometry is None:
        return None, None
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise RowProblem(_("位置が Point ではありません。"))
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        raise RowProblem(_("座標がありません。"))
    longitude, latitude = coordinates[0], coordinates[1]  # GeoJSON: [lon, lat]
    if latitude is None or longitude is None:
        raise RowProblem(_("座標がありません。"))
    return records.location(latitude, longitude)

"""OpenAPI paths, schemas and tags of the shelters API routes (merged by openapi.py)."""

from __future__ import annotations

from typing import Any

from .openapi import P, op
from .openapi_components import ID, NULLABLE_DATETIME, obj, ref, string

_CONGESTION = {"type": "string", "enum": ["empty", "somewhat", "crowded", "full"],
               "description": "空いています / やや混雑 / 混雑 / 満"}
_HAZARD = {"type": "string", "enum": ["flood", "landslide", "storm_surge", "earthquake",
                                      "tsunami", "fire", "inland_flooding", "volcano"]}
_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}
_STAFF_OR_CONTACT = "city staff, or a user staff named as the shelter's contact"

# Merged into the document's components by openapi.py, like PATHS and SCHEMAS.
PARAMETERS: dict[str, Any] = {
    "shelter_id": {"name": "shelter_id", "in": "path", "required": True, "schema": ID}}

SCHEMAS: dict[str, Any] = {
    "Shelter": obj({
        "id": ID, "name": {"type": "string"}, "name_kana": _NULLABLE_STRING,
        "address": {"type": "string"},
        "district": {**_NULLABLE_STRING, "description": (
            "The town part of the address (e.g. つくし野), or the column chosen at import")},
        "municipality_code": {**_NULLABLE_STRING, "description": "全国地方公共団体コード"},
        "latitude": _NULLABLE_NUMBER, "longitude": _NULLABLE_NUMBER,
        "is_evacuation_shelter": {"type": "boolean", "description": "指定避難所"},
        "is_emergency_site": {"type": "boolean", "description": "指定緊急避難場所"},
        "welfare": {"type": "boolean", "description": "福祉避難所 (for people needing care)"},
        "hazards": {"type": "array", "items": _HAZARD,
                    "description": "Hazards the site is designated for (指定緊急避難場所)"},
        "capacity": {**_NULLABLE_INT, "description": "People indoors"},
        "capacity_text": {**_NULLABLE_STRING, "description": "Capacity as published"},
        "is_open": {"type": "boolean"}, "congestion": _CONGESTION,
        "evacuees": {"type": "integer", "minimum": 0},
        "status_updated_at": NULLABLE_DATETIME,
        "source": {"type": "string", "enum": ["gsi", "da", "other"],
                   "description": "GSI GeoJSON, a Digital Agency layout CSV, or other"},
        "attribution": {"type": "string",
                        "description": "The credit to show with the data (出典)"},
    }),
    "ShelterList": obj({"items": {"type": "array", "items": ref("Shelter")}}),
    "ShelterStatusInput": obj({
        "is_open": {"type": "boolean"}, "congestion": _CONGESTION,
        "evacuees": {"type": "integer", "minimum": 0, "maximum": 100_000},
        "evacuees_delta": {"type": "integer", "minimum": -1000, "maximum": 1000,
                           "description": "Added to the stored count (clamped at 0)"},
    }, ()),
    "ShelterImportFile": obj({"name": string(200, description="File name (shown in errors)"),
                              "content": {"type": "string",
                                          "description": "GeoJSON or CSV text"}}),
    "ShelterImportInput": obj({
        "files": {"type": "array", "items": ref("ShelterImportFile"), "minItems": 1,
                  "maxItems": 20},
        "district_from": string(60, description=(
            "A column/property to take the district from (e.g. 地区); default: the "
            "town part of the address"))}, ("files",)),
    "ShelterImportForm": obj({
        "files": {"type": "array", "items": {
            "type": "string", "contentMediaType": "application/octet-stream"}},
        "district_from": string(60)}, ("files",)),
    "ShelterImportResult": obj({
        "created": {"type": "integer"}, "updated": {"type": "integer"},
        "unchanged": {"type": "integer"}, "total": {"type": "integer"},
        "files": {"type": "array", "items": {"type": "string"}},
        "shelter_ids": {"type": "array", "items": ID}}),
}

_LIST_DESCRIPTION = (
    "Public. Query parameters: `open` (true: open shelters only), `district` (exact), "
    "`near=lat,lon` (nearest first; otherwise sorted by district, then name). Show each "
    "item's `attribution` with the data.")

PATHS: dict[str, Any] = {
    f"{P}/shelters": {"get": op(
        "list_shelters", "shelters", "Evacuation shelters and their live status", "anyone",
        schema="ShelterList", errors=(400,), auth=False, description=_LIST_DESCRIPTION)},
    f"{P}/shelters/{{shelter_id}}": {"get": op(
        "show_shelter", "shelters", "One shelter", "anyone", schema="Shelter",
        params=("shelter_id",), errors=(404,), auth=False)},
    f"{P}/shelters/{{shelter_id}}/status": {"post": op(
        "update_shelter_status", "shelters", "Update a shelter's live status",
        _STAFF_OR_CONTACT, schema="Shelter", body="ShelterStatusInput",
        params=("shelter_id",), errors=(400, 403, 404, 415),
        description="Fields left out keep their value. Every update is kept in the "
        "shelter's history with who made it.")},
    f"{P}/shelters/import": {"post": op(
        "import_shelters", "shelters", "Import shelter files", "city staff",
        schema="ShelterImportResult", body="ShelterImportInput",
        multipart="ShelterImportForm", errors=(400, 403, 409, 413, 415),
        description=(
            "GSI GeoJSON (指定避難所 / 指定緊急避難場所, merged per site by name and "
            "address) or Digital Agency layout CSV (UTF-8 or Shift_JIS), detected from "
            "the content. Every file is checked first: one bad line or feature imports "
            "nothing and gives 400 with `error.fields` keyed `<file> <line or feature>`. "
            "Sites already imported are updated in place; their live status, contacts "
            "and 福祉避難所 flag are kept."))},
}

TAGS: list[dict[str, str]] = [
    {"name": "shelters", "description": "Evacuation shelters: list, live status, import"},
]

"""API routes: shelters (described in openapi_shelters.py).

The list and the detail are public: where the shelters are and which are open
is public information, and a LINE bot or a city site may show it without a
token.  Contacts are never shown here.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from ..errors import ValidationFailed
from ..models import Congestion, Shelter
from ..permissions import require_staff
from ..shelters import importers, records, services
from . import bp
from .auth import current_api_user, public
from .schemas import body_fields, uploaded_files
from .serialize import iso

MAX_FILE_NAME = 200
MAX_DISTRICT = 80


def _storable(value: str) -> bool:
    """No NUL or lone surrogates (PostgreSQL refuses them)."""
    return "\x00" not in value and not any("\ud800" <= ch <= "\udfff" for ch in value)


def shelter_json(shelter: Shelter) -> dict[str, Any]:
    return {
        "id": shelter.id, "name": shelter.name, "name_kana": shelter.name_kana,
        "address": shelter.address, "district": shelter.district,
        "municipality_code": shelter.municipality_code,
        "latitude": shelter.latitude, "longitude": shelter.longitude,
        "is_evacuation_shelter": shelter.is_evacuation_shelter,
        "is_emergency_site": shelter.is_emergency_site, "welfare": shelter.welfare,
        "hazards": list(shelter.hazards or []),
        "capacity": shelter.capacity, "capacity_text": shelter.capacity_text,
        "is_open": shelter.is_open, "congestion": shelter.congestion.value,
        "evacuees": shelter.evacuees, "status_updated_at": iso(shelter.status_updated_at),
        "source": services.source_of(shelter), "attribution": services.attribution(shelter),
    }


def _near(raw: str) -> tuple[float, float] | None:
    """``lat,lon`` as two numbers, else None."""
    lat, _sep, lon = raw.partition(",")
    try:
        point = (records.coordinate(lat, label="lat", bounds=(-90.0, 90.0)),
                 records.coordinate(lon, label="lon", bounds=(-180.0, 180.0)))
    except records.RowProblem:
        return None
    return (point[0], point[1]) if point[0] is not None and point[1] is not None else None


def _list_filters() -> tuple[bool, str | None, tuple[float, float] | None]:
    """``open``, ``district`` and ``near=lat,lon`` from the query string."""
    errors: dict[str, str] = {}
    raw_open = request.args.get("open", "").strip().lower()
    if raw_open not in ("", "true", "false", "1", "0"):
        errors["open"] = _("true か false で入れてください。")
    district = request.args.get("district", "").strip() or None
    if district is not None and (len(district) > MAX_DISTRICT or not _storable(district)):
        errors["district"] = _("%(n)d文字以内にしてください。", n=MAX_DISTRICT)
    near = _near(request.args["near"]) if "near" in request.args else None
    if "near" in request.args and near is None:
        errors["near"] = _("「緯度,経度」の形で入れてください（例: 35.54,139.45）。")
    if errors:
        raise ValidationFailed(fields=errors)
    return raw_open in ("true", "1"), district, near


@bp.get("/shelters")
@public
def list_shelters():
    """Every shelter, nearest first with ``near``, else by district and name (public)."""
    open_only, district, near = _list_filters()
    shelters = services.public_shelters(open_only=open_only, district=district, near=near)
    return {"items": [shelter_json(s) for s in shelters]}


@bp.get("/shelters/<int:shelter_id>")
@public
def show_shelter(shelter_id: int):
    return shelter_json(services.get_shelter(shelter_id))


@bp.post("/shelters/<int:shelter_id>/status")
def update_shelter_status(shelter_id: int):
    """Staff or a contact; fields left out keep their value."""
    user = current_api_user()
    services.require_status_editor(user, services.get_shelter(shelter_id))
    fields = body_fields(("is_open", "congestion", "evacuees", "evacuees_delta"))
    is_open = fields.boolean("is_open", default=False) if fields.present("is_open") else None
    congestion = (fields.choice("congestion", Congestion, default=Congestion.EMPTY)
                  if fields.present("congestion") else None)
    evacuees = fields.integer("evacuees", minimum=0, maximum=services.MAX_EVACUEES)
    delta = fields.integer("evacuees_delta", minimum=-services.MAX_STEP,
                           maximum=services.MAX_STEP, default=0)
    fields.done()
    change = services.StatusChange(is_open=is_open, congestion=congestion, evacuees=evacuees,
                                   evacuees_delta=delta or 0)
    return shelter_json(services.update_status(actor=user, shelter_id=shelter_id,
                                               change=change))


def _json_uploads() -> tuple[list[importers.Upload], str | None]:
    """``{"files": [{"name", "content"}], "district_from"}`` with the files as text."""
    fields = body_fields(("files", "district_from"))
    district_from = fields.string("district_from", max_length=60, required=False) or None
    raw = fields.source.get("files")
    uploads: list[importers.Upload] = []
    ok = isinstance(raw, list) and 0 < len(raw) <= importers.MAX_FILES
    for item in raw if ok else []:
        name, content = (item.get("name"), item.get("content")) if isinstance(item, dict) \
            else (None, None)
        if (not isinstance(name, str) or not isinstance(content, str) or len(item) != 2
                or len(name) > MAX_FILE_NAME or not _storable(name)):
            ok = False
            break
        uploads.append(importers.Upload(name, content.encode()))
    if not ok:
        fields.errors.setdefault("files", _(
            "name と content を持つオブジェクトのリストにしてください（%(n)d個まで）。",
            n=importers.MAX_FILES))
    fields.done()
    return uploads, district_from


@bp.post("/shelters/import")
def import_shelters():
    """Staff: import GSI GeoJSON / Digital Agency CSV files (JSON or multipart)."""
    user = current_api_user()
    require_staff(user)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields = body_fields(("district_from",), form=True)
        district_from = fields.string("district_from", max_length=60, required=False) or None
        fields.done()
        uploads = [importers.Upload(name, data) for name, data in uploaded_files()]
    else:
        uploads, district_from = _json_uploads()
    result = importers.import_by_staff(actor=user, uploads=uploads, district_from=district_from)
    return {"created": result.created, "updated": result.updated,
            "unchanged": result.unchanged, "total": result.total, "files": result.files,
            "shelter_ids": result.shelter_ids}

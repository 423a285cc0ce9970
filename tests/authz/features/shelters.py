"""Authorization cases: shelters (see tests/authz/features/__init__.py).

Shelters belong to the city, not to an association.  Each side gets a shelter
whose contact is that side's leader, so "leader" (the contact) and "staff" may
update its status and everyone else is refused (403; anonymous: login / 401).
Staff pages are staff only.  The API's list and detail are public.
"""

from __future__ import annotations

import io
import json

from chounaikai.models import Shelter
from tests.authz.web_routes import LOGGED_IN_GET, STAFF_GET, STAFF_POST, Case, everyone, expect
from tests.authz.world import World

CONTACT_GET = expect(outsider=403, resident=403, block_leader=403, leader=200, staff=200)
CONTACT_POST = expect(outsider=403, resident=403, block_leader=403, leader=302, staff=302)
# API expectations built with the web helper (tests.authz.api_routes imports this
# package at its end, so importing from it here would be circular).
API_PUBLIC = everyone(200)
API_CONTACT = expect(anon=401, outsider=403, resident=403, block_leader=403, leader=200,
                     staff=200)
API_STAFF = expect(anon=401, outsider=403, resident=403, block_leader=403, leader=403,
                   staff=200)

# One 指定避難所 in the GSI layout: the smallest file the importer accepts.
_GEOJSON = json.dumps({"type": "FeatureCollection", "name": "132098", "features": [{
    "type": "Feature", "geometry": {"type": "Point", "coordinates": [139.48186, 35.525749]},
    "properties": {"施設・場所名": "つくし野小学校", "住所": "東京都町田市つくし野2-21-11",
                   "都道府県名及び市町村名": "東京都町田市", "指定緊急避難場所との住所同一": "1",
                   "受入対象者": None}}]}, ensure_ascii=False)


def _shelter_id(w: World, s: str) -> int:
    """Side ``s``'s shelter, with that side's leader as its contact."""

    def build() -> dict[str, int]:
        ids = {}
        for side in ("A", "B"):
            leader = w.sides[side].members["leader"].user
            shelter = Shelter(source_key=f"authz:{side}", name=f"避難所{side}", address="",
                              contacts=[leader])
            w.factory._save(shelter)
            ids[side] = shelter.id
        return ids

    return w.once("shelters", build)[s]


def _staff(path: str):
    return lambda w, s: f"/staff/shelters/{_shelter_id(w, s)}{path}"


def _leader_login(w: World, s: str) -> str:
    return w.sides[s].members["leader"].user.login_id


def _leader_id(w: World, s: str) -> int:
    return w.sides[s].members["leader"].user.id


WEB_CASES: list[Case] = [
    Case("shelters.mine", "GET", lambda w, s: "/shelters/mine", LOGGED_IN_GET),
    Case("shelters.status", "GET", lambda w, s: f"/shelters/{_shelter_id(w, s)}/status",
         CONTACT_GET),
    Case("shelters.update_status", "POST",
         lambda w, s: f"/shelters/{_shelter_id(w, s)}/status", CONTACT_POST,
         data=lambda w, s: {"action": "open"}),
    Case("shelters.staff_list", "GET", lambda w, s: "/staff/shelters", STAFF_GET),
    Case("shelters.import_upload", "POST", lambda w, s: "/staff/shelters/import", STAFF_POST,
         data=lambda w, s: {"files": (io.BytesIO(_GEOJSON.encode()), "machida.geojson")}),
    Case("shelters.staff_detail", "GET", _staff(""), STAFF_GET),
    Case("shelters.add_contact", "POST", _staff("/contacts"), STAFF_POST,
         data=lambda w, s: {"login_id": _leader_login(w, s)}),
    Case("shelters.remove_contact", "POST",
         lambda w, s: f"/staff/shelters/{_shelter_id(w, s)}/contacts/{_leader_id(w, s)}/remove",
         STAFF_POST),
    Case("shelters.set_welfare", "POST", _staff("/welfare"), STAFF_POST,
         data=lambda w, s: {"welfare": "1"}),
]

API = "/api/v1"
API_CASES: list[Case] = [
    Case("api.list_shelters", "GET", lambda w, s: f"{API}/shelters", API_PUBLIC),
    Case("api.show_shelter", "GET", lambda w, s: f"{API}/shelters/{_shelter_id(w, s)}",
         API_PUBLIC),
    Case("api.update_shelter_status", "POST",
         lambda w, s: f"{API}/shelters/{_shelter_id(w, s)}/status", API_CONTACT,
         data=lambda w, s: {"is_open": True, "evacuees_delta": 1}),
    Case("api.import_shelters", "POST", lambda w, s: f"{API}/shelters/import", API_STAFF,
         data=lambda w, s: {"files": [{"name": "machida.geojson", "content": _GEOJSON}]}),
]

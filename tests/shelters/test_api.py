"""The shelters API: public list and detail, status updates, staff import."""

from __future__ import annotations

import io
from typing import Any

import pytest

from chounaikai.api.openapi import DOCUMENT
from chounaikai.models import Congestion, GlobalRole, MemberRole, Shelter
from chounaikai.models import ShelterStatusUpdate as Update
from tests.shelters.conftest import MACHIDA, NANAO, make_shelter
from tests.support import count, load


@pytest.fixture
def tokens(factory) -> dict[str, Any]:
    association = factory.association()
    users = {"staff": factory.user(role=GlobalRole.STAFF),
             "contact": factory.member(association, role=MemberRole.LEADER).user,
             "leader": factory.member(association, role=MemberRole.LEADER).user,
             "resident": factory.member(association).user}
    return {"users": users, **{name: factory.token(user) for name, user in users.items()}}


@pytest.fixture
def shelter(factory, tokens):
    return make_shelter(factory, contacts=(tokens["users"]["contact"],))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _valid(response, path: str, method: str = "get") -> None:
    """The body matches the documented schema (no extra fields)."""
    validator = pytest.importorskip("openapi_schema_validator")
    schema = DOCUMENT["paths"][path][method]["responses"][str(response.status_code)]
    if "$ref" in schema:
        schema = DOCUMENT["components"]["responses"][schema["$ref"].rsplit("/", 1)[1]]
    validator.validate(response.get_json(),
                       {**schema["content"]["application/json"]["schema"],
                        "components": DOCUMENT["components"]},
                       cls=validator.OAS31Validator)


def test_list_and_detail_are_public(client, factory, shelter):
    make_shelter(factory, name="鶴川中学校", district="鶴川", is_open=True, evacuees=12)
    response = client.get("/api/v1/shelters")
    assert response.status_code == 200
    _valid(response, "/api/v1/shelters")
    items = response.get_json()["items"]
    assert [i["name"] for i in items] == ["原町田小学校", "鶴川中学校"]  # by district
    assert "contacts" not in items[0]
    opened = client.get("/api/v1/shelters?open=true").get_json()["items"]
    assert [(i["name"], i["evacuees"], i["congestion"]) for i in opened] == [
        ("鶴川中学校", 12, "empty")]
    assert [i["name"] for i in client.get(
        "/api/v1/shelters?district=鶴川").get_json()["items"]] == ["鶴川中学校"]
    detail = client.get(f"/api/v1/shelters/{shelter.id}")
    assert detail.status_code == 200
    assert detail.get_json()["id"] == shelter.id
    _valid(detail, "/api/v1/shelters/{shelter_id}")
    assert client.get("/api/v1/shelters/999").status_code == 404


def test_near_sorts_by_distance(client, factory):
    make_shelter(factory, name="遠い", latitude=35.60, longitude=139.50)
    make_shelter(factory, name="近い", latitude=35.541, longitude=139.451)
    make_shelter(factory, name="位置なし", latitude=None, longitude=None)
    items = client.get("/api/v1/shelters?near=35.54,139.45").get_json()["items"]
    assert [i["name"] for i in items] == ["近い", "遠い", "位置なし"]


@pytest.mark.parametrize("query", ["near=abc", "near=35.5", "open=maybe", "near=95,10"])
def test_bad_list_queries(client, query):
    response = client.get(f"/api/v1/shelters?{query}")
    assert response.status_code == 400
    _valid(response, "/api/v1/shelters")


def test_imported_sites_are_listed_with_attribution(app, client, tokens):
    body = {"files": [{"name": NANAO.name, "content": NANAO.read_text(encoding="utf-8")}]}
    response = client.post("/api/v1/shelters/import", json=body,
                           headers=_auth(tokens["staff"]))
    assert response.status_code == 200, response.get_json()
    _valid(response, "/api/v1/shelters/import", "post")
    assert response.get_json()["created"] == 112
    items = client.get("/api/v1/shelters").get_json()["items"]
    centre = next(i for i in items if i["name"] == "御祓地区コミュニティセンター")
    assert centre["capacity"] == 191
    assert centre["source"] == "da"
    assert centre["attribution"] == "出典: 石川県七尾市のオープンデータ"


@pytest.mark.parametrize("who", ["staff", "contact"])
def test_status_update_by_staff_and_contact(app, client, tokens, shelter, who):
    response = client.post(f"/api/v1/shelters/{shelter.id}/status", headers=_auth(tokens[who]),
                           json={"is_open": True, "congestion": "somewhat", "evacuees": 40})
    assert response.status_code == 200, response.get_json()
    _valid(response, "/api/v1/shelters/{shelter_id}/status", "post")
    client.post(f"/api/v1/shelters/{shelter.id}/status", headers=_auth(tokens[who]),
                json={"evacuees_delta": 5})
    stored = load(app, Shelter, shelter.id)
    assert (stored.is_open, stored.congestion, stored.evacuees) == (True, Congestion.SOMEWHAT,
                                                                    45)
    assert count(app, Update, Update.updated_by_id == tokens["users"][who].id) == 2


@pytest.mark.parametrize(("who", "status"), [("resident", 403), ("leader", 403),
                                             (None, 401)])
def test_status_update_refused_for_others(app, client, tokens, shelter, who, status):
    headers = _auth(tokens[who]) if who else {}
    response = client.post(f"/api/v1/shelters/{shelter.id}/status", headers=headers,
                           json={"is_open": True})
    assert response.status_code == status
    assert load(app, Shelter, shelter.id).is_open is False
    assert count(app, Update) == 0


@pytest.mark.parametrize("body", [{}, {"is_open": "yes"}, {"congestion": "packed"},
                                  {"evacuees": -1}, {"evacuees_delta": 5000},
                                  {"colour": "red"}])
def test_bad_status_bodies(app, client, tokens, shelter, body):
    response = client.post(f"/api/v1/shelters/{shelter.id}/status",
                           headers=_auth(tokens["contact"]), json=body)
    assert response.status_code == 400
    _valid(response, "/api/v1/shelters/{shelter_id}/status", "post")
    assert count(app, Update) == 0


def test_import_by_multipart_and_refusals(app, client, tokens):
    files = [(io.BytesIO(path.read_bytes()), path.name) for path in MACHIDA]
    response = client.post("/api/v1/shelters/import", headers=_auth(tokens["staff"]),
                           data={"files": files}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total"] == 168
    assert client.post("/api/v1/shelters/import", headers=_auth(tokens["leader"]),
                       json={"files": []}).status_code == 403


def test_a_bad_import_names_the_line_in_fields(app, client, tokens):
    lines = NANAO.read_text(encoding="utf-8").split("\n")
    lines[4] = lines[4].replace("1.0", "２", 1)
    response = client.post("/api/v1/shelters/import", headers=_auth(tokens["staff"]),
                           json={"files": [{"name": "n.csv", "content": "\n".join(lines)}]})
    assert response.status_code == 400
    _valid(response, "/api/v1/shelters/import", "post")
    error = response.get_json()["error"]
    assert list(error["fields"]) == ["n.csv 5行目"]
    assert "n.csv の5行目" in error["message"]
    assert count(app, Shelter) == 0


@pytest.mark.parametrize("body", [{"files": "x"}, {"files": [{"name": "a"}]},
                                  {"files": [{"name": "a", "content": 1}]}, {"files": []}])
def test_malformed_import_bodies(client, tokens, body):
    response = client.post("/api/v1/shelters/import", headers=_auth(tokens["staff"]),
                           json=body)
    assert response.status_code == 400
    assert "files" in response.get_json()["error"]["fields"]

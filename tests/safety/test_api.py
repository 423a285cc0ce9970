"""The safety API: answering (own and proxy), leaders' status, rounds, settings, staff counts.

Responses are validated against the OpenAPI document (no extra fields).
"""

from __future__ import annotations

import copy
import json

import pytest

from chounaikai.api.openapi import DOCUMENT
from tests.safety.helpers import answers, audits, rounds

NOTE = "酸素ボンベが必要"


@pytest.fixture
def tokens(factory, town) -> dict[str, dict[str, str]]:
    users = {name: town.user(name) for name in ("leader", "block_leader", "resident",
                                                 "resident2", "other_leader")}
    users["staff"] = town.staff
    return {name: {"Authorization": f"Bearer {factory.token(user)}"}
            for name, user in users.items()}


def _validate(response, path: str, method: str) -> None:
    validator = pytest.importorskip("openapi_schema_validator")
    schema = DOCUMENT["paths"][path][method]["responses"][str(response.status_code)]
    schema = {**schema["content"]["application/json"]["schema"],
              "components": copy.deepcopy(DOCUMENT["components"])}
    validator.validate(response.get_json(), schema, cls=validator.OAS31Validator)


def _text(response) -> str:
    """The body with its Japanese readable (the API escapes non-ASCII as \\uXXXX)."""
    return json.dumps(response.get_json(), ensure_ascii=False)


BASE = "/api/v1/associations/{association_id}/safety"


def test_a_round_from_start_to_close(app, client, town, tokens):
    a = town.association.id
    url = BASE.format(association_id=a)

    started = client.post(f"{url}/rounds", headers=tokens["leader"])
    assert started.status_code == 201
    _validate(started, BASE + "/rounds", "post")
    again = client.post(f"{url}/rounds", headers=tokens["staff"])
    assert again.status_code == 200
    assert again.json["id"] == started.json["id"]

    mine = client.get(url, headers=tokens["resident"])
    assert mine.json == {"round": started.json, "answer": None}
    _validate(mine, BASE, "get")

    answer = client.post(f"{url}/answer", headers=tokens["resident"],
                         json={"status": "needs_help", "note": NOTE})
    assert answer.status_code == 200
    _validate(answer, BASE + "/answer", "post")
    assert answer.json["has_note"] is True
    assert "note" not in answer.json
    retry = client.post(f"{url}/answer", headers=tokens["resident"],
                        json={"status": "needs_help", "note": NOTE})
    assert retry.status_code == 200
    assert len(answers(app)) == 1

    closed = client.post(f"{url}/close", headers=tokens["leader"])
    assert closed.status_code == 200
    assert closed.json["open"] is False
    _validate(closed, BASE + "/close", "post")
    assert client.post(f"{url}/close", headers=tokens["leader"]).status_code == 409
    assert client.post(f"{url}/close", headers=tokens["leader"],
                       json={"round_id": closed.json["id"]}).status_code == 200
    late = client.post(f"{url}/answer", headers=tokens["resident2"], json={"status": "safe"})
    assert late.status_code == 409


def test_proxy_answer_and_its_limits(app, client, town, tokens):
    a = town.association.id
    url = BASE.format(association_id=a)
    client.post(f"{url}/rounds", headers=tokens["leader"])

    proxy = client.post(f"{url}/answer", headers=tokens["block_leader"],
                        json={"status": "safe", "household_id": town.paper.id})
    assert proxy.status_code == 200
    assert proxy.json["proxy"] is True
    other_block = client.post(f"{url}/answer", headers=tokens["block_leader"],
                              json={"status": "safe",
                                    "household_id": town.household("resident2").id})
    assert other_block.status_code == 403
    resident = client.post(f"{url}/answer", headers=tokens["resident"],
                           json={"status": "safe", "household_id": town.paper.id})
    assert resident.status_code == 403
    assert len(answers(app)) == 1


def test_bad_answers_are_refused_with_field_messages(client, town, tokens):
    url = BASE.format(association_id=town.association.id)
    client.post(f"{url}/rounds", headers=tokens["leader"])
    response = client.post(f"{url}/answer", headers=tokens["resident"],
                           json={"status": "fine", "note": "x" * 501, "extra": 1})
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"status", "note", "extra"}
    missing = client.post(f"{url}/answer", headers=tokens["resident"], json={})
    assert set(missing.json["error"]["fields"]) == {"status"}


def test_status_shows_notes_to_leaders_only(app, client, town, tokens):
    url = BASE.format(association_id=town.association.id)
    client.post(f"{url}/rounds", headers=tokens["leader"])
    client.post(f"{url}/answer", headers=tokens["resident"],
                json={"status": "needs_help", "note": NOTE})

    leader = client.get(f"{url}/status", headers=tokens["leader"])
    assert leader.status_code == 200
    _validate(leader, BASE + "/status", "get")
    assert leader.json["notes_included"] is True
    assert NOTE in _text(leader)
    assert leader.json["totals"]["unanswered"] == 4
    assert len(audits(app, "safety.view_notes")) == 1

    block_leader = client.get(f"{url}/status", headers=tokens["block_leader"])
    assert block_leader.status_code == 200
    _validate(block_leader, BASE + "/status", "get")
    assert block_leader.json["notes_included"] is False
    assert NOTE not in _text(block_leader)
    assert [b["name"] for b in block_leader.json["blocks"]] == ["1班"]

    assert client.get(f"{url}/status", headers=tokens["resident"]).status_code == 403
    assert client.get(f"{url}/status", headers=tokens["staff"]).status_code == 404


def test_staff_counts_have_no_names_or_notes(app, client, town, tokens):
    url = BASE.format(association_id=town.association.id)
    client.post(f"{url}/rounds", headers=tokens["staff"])
    client.post(f"{url}/answer", headers=tokens["resident"],
                json={"status": "needs_help", "note": NOTE})

    response = client.get("/api/v1/staff/safety", headers=tokens["staff"])

    assert response.status_code == 200
    _validate(response, "/api/v1/staff/safety", "get")
    row = next(r for r in response.json["items"]
               if r["association"]["id"] == town.association.id)
    assert (row["households"], row["answered"], row["needs_help"], row["unanswered"]) == (
        5, 1, 1, 4)
    body = _text(response)
    for secret in (NOTE, "山田家", town.user("resident").display_name):
        assert secret not in body
    assert client.get("/api/v1/staff/safety", headers=tokens["leader"]).status_code == 403


def test_settings(app, client, town, tokens):
    url = BASE.format(association_id=town.association.id)
    response = client.put(f"{url}/settings", headers=tokens["leader"],
                          json={"auto_safety_check": False})
    assert response.status_code == 200
    _validate(response, BASE + "/settings", "put")
    assert response.json == {"association_id": town.association.id, "auto_safety_check": False}
    assert client.put(f"{url}/settings", headers=tokens["leader"],
                      json={}).status_code == 400
    assert client.put(f"{url}/settings", headers=tokens["block_leader"],
                      json={"auto_safety_check": True}).status_code == 403
    assert rounds(app, town.association.id) == []

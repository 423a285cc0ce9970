"""Bad input of every kind gets a 4xx JSON error, never a 500, and writes nothing."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from chounaikai.extensions import db
from chounaikai.models import Block, Circular, Household, Invite, Receipt
from tests.api.conftest import Cast

BIG = 2**40


def _cases(c: Cast) -> list[tuple[str, str, dict[str, Any], int]]:
    """(method, path, request kwargs, expected status) for the leader's token."""
    a = c.association.id
    blocks = f"/api/v1/associations/{a}/blocks"
    households = f"/api/v1/associations/{a}/households"
    invites = f"/api/v1/associations/{a}/invites"
    circulars = f"/api/v1/associations/{a}/circulars"
    household = c.members["resident"].household_id
    member = c.members["resident"].id
    foreign_block = c.other.blocks[0].id

    def circ(**fields: Any) -> dict[str, Any]:
        return {"json": {"title": "t", "body": "b", **fields}}

    cases = [
        ("POST", blocks, {"data": "name=x", "content_type": "text/plain"}, 415),
        ("POST", blocks, {"data": "name=x",
                          "content_type": "application/x-www-form-urlencoded"}, 415),
        ("POST", blocks, {}, 415),
        ("POST", blocks, {"data": "{bad", "content_type": "application/json"}, 400),
        ("POST", blocks, {"data": b"\xff\xfe{", "content_type": "application/json"}, 400),
        ("POST", blocks, {"data": "[" * 100_000, "content_type": "application/json"}, 400),
        ("POST", blocks, {"data": "1" * 5000, "content_type": "application/json"}, 400),
        ("POST", blocks, {"data": "null", "content_type": "application/json"}, 400),
        ("POST", blocks, {"json": [1, 2]}, 400),
        ("POST", blocks, {"json": {}}, 400),
        ("POST", blocks, {"json": {"name": 5}}, 400),
        ("POST", blocks, {"json": {"name": ["a"]}}, 400),
        ("POST", blocks, {"json": {"name": {"x": 1}}}, 400),
        ("POST", blocks, {"json": {"name": "a\x00b"}}, 400),
        ("POST", blocks, {"data": '{"name": "\\ud800"}', "content_type": "application/json"}, 400),
        ("POST", blocks, {"json": {"name": "x" * 61}}, 400),
        ("POST", blocks, {"json": {"name": "ok", "nmae": "typo"}}, 400),
        ("POST", households, {"json": {"name": "x", "block_id": "1"}}, 400),
        ("POST", households, {"json": {"name": "x", "block_id": True}}, 400),
        ("POST", households, {"json": {"name": "x", "block_id": 1.5}}, 400),
        ("POST", households, {"json": {"name": "x", "block_id": -1}}, 400),
        ("POST", households, {"json": {"name": "x", "block_id": BIG}}, 400),
        ("POST", households, {"json": {"name": "x", "block_id": 10**5000 // 10**4990}}, 400),
        ("POST", households, {"json": {"name": "x", "block_id": 999_999}}, 400),
        ("POST", households, {"json": {"name": "x", "block_id": foreign_block}}, 400),
        ("POST", households, {"json": {"name": "x", "has_smartphone": "yes"}}, 400),
        ("PUT", f"/api/v1/households/{household}/block", {"json": {}}, 400),
        ("PUT", f"/api/v1/households/{household}/block", {"json": {"block_id": "none"}}, 400),
        ("PUT", f"/api/v1/members/{member}/role", {"json": {"role": "king"}}, 400),
        ("PUT", f"/api/v1/members/{member}/role", {"json": {"role": None}}, 400),
        ("PUT", f"/api/v1/members/{member}/role", {"json": {"role": ["leader"]}}, 400),
        ("PUT", f"/api/v1/members/{member}/role", {"json": {}}, 400),
        ("POST", invites, {"json": {"max_uses": 0}}, 400),
        ("POST", invites, {"json": {"max_uses": 5000}}, 400),
        ("POST", invites, {"json": {"valid_days": "30"}}, 400),
        ("POST", invites, {"json": {"valid_days": 0}}, 400),
        ("POST", invites, {"json": {"role": "admin"}}, 400),
        ("POST", invites, {"json": {"block_id": foreign_block}}, 400),
        ("POST", invites, {"data": "oops", "content_type": "application/json"}, 400),
        ("POST", circulars, circ(publish_at="2030-01-01T09:00:00"), 400),
        ("POST", circulars, circ(publish_at="2030-01-01"), 400),
        ("POST", circulars, circ(publish_at="not a date"), 400),
        ("POST", circulars, circ(publish_at=1700000000), 400),
        ("POST", circulars, circ(deadline_at="9999-12-31T23:59:59-14:00"), 400),
        ("POST", circulars, circ(publish_at="0001-01-01T00:00:00+14:00"), 400),
        ("POST", circulars, circ(publish_at="2030-01-02T00:00:00Z",
                                 deadline_at="2030-01-01T00:00:00Z"), 400),
        ("POST", circulars, circ(audience_all=False, block_ids=[]), 400),
        ("POST", circulars, circ(audience_all=False, block_ids=[foreign_block]), 400),
        ("POST", circulars, circ(audience_all=False, block_ids=[BIG]), 400),
        ("POST", circulars, circ(audience_all=False, block_ids=[True]), 400),
        ("POST", circulars, circ(audience_all=False, block_ids="1"), 400),
        ("POST", circulars, circ(audience_all="false"), 400),
        ("POST", circulars, circ(ack_required=1), 400),
        ("POST", circulars, circ(title="x" * 201), 400),
        ("POST", circulars, circ(body=""), 400),
        ("POST", circulars, circ(body=None), 400),
        ("POST", circulars, {"json": {"title": "t"}}, 400),
        ("POST", circulars, {"data": {"title": "t", "body": "b", "block_ids": "abc",
                                      "audience_all": "false"},
                             "content_type": "multipart/form-data"}, 400),
        ("POST", circulars, {"data": {"title": "t", "body": "b", "ack_required": "maybe"},
                             "content_type": "multipart/form-data"}, 400),
        ("POST", circulars, {"data": {"title": "t", "body": "b",
                                      "other": (io.BytesIO(b"%PDF-1"), "a.pdf")},
                             "content_type": "multipart/form-data"}, 400),
        ("POST", circulars, {"data": {"title": "t", "body": "b",
                                      "files": (io.BytesIO(b""), "empty.pdf")},
                             "content_type": "multipart/form-data"}, 400),
        ("POST", circulars, {"data": b"--x\r\nbroken", "headers": {
            "Content-Type": "multipart/form-data; boundary=x"}}, 400),
        ("POST", circulars, {"data": "<xml/>", "content_type": "application/xml"}, 415),
        ("PUT", f"/api/v1/circulars/{BIG}", circ(), 404),
        ("GET", "/api/v1/circulars/99999999999999999999999", {}, 404),
        ("GET", f"/api/v1/associations/{2**31}/blocks", {}, 404),
        ("POST", f"/api/v1/circulars/{BIG}/read", {}, 404),
        ("GET", "/api/v1/attachments/123456", {}, 404),
        ("DELETE", "/api/v1/members/0", {}, 404),
        ("GET", "/api/v1/circulars/abc", {}, 404),
        ("GET", "/api/v1/nope", {}, 404),
        ("GET", "/api/v1/tokens", {}, 405),
        ("PATCH", "/api/v1/me", {}, 405),
    ]
    return cases


def _counts(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Block, Household, Invite, Circular, Receipt))


def test_bad_input_gives_4xx_json_and_writes_nothing(app, client, cast):
    headers = cast.headers("leader")
    before = _counts(app)
    failures = []
    for method, path, kwargs, expected in _cases(cast):
        kwargs = dict(kwargs)
        extra = kwargs.pop("headers", {})
        response = client.open(path, method=method, headers={**headers, **extra}, **kwargs)
        body = response.get_json(silent=True) or {}
        if response.status_code != expected or "message" not in body.get("error", {}):
            failures.append((method, path, str(kwargs)[:80], response.status_code,
                             response.get_data(as_text=True)[:200]))
    assert not failures, "\n".join(map(str, failures))
    assert _counts(app) == before


def test_field_errors_name_every_bad_field(client, cast):
    response = client.post(f"/api/v1/associations/{cast.association.id}/circulars",
                           headers=cast.headers("leader"),
                           json={"title": 1, "body": "b", "publish_at": "2030-01-01T00:00:00",
                                 "ack_required": "no", "colour": "red"})
    assert response.status_code == 400
    fields = response.json["error"]["fields"]
    assert set(fields) == {"title", "publish_at", "ack_required", "colour"}
    assert all(isinstance(v, str) and v for v in fields.values())


@pytest.mark.parametrize("body", [
    {"login": 1, "password": "x"}, {"login": "a"}, {"login": ["a"], "password": ["b"]},
    {"login": "a", "password": "p" * 2000}, {"login": "a\x00", "password": "b"},
])
def test_bad_token_requests_are_400(client, body):
    response = client.post("/api/v1/tokens", json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"


@pytest.mark.parametrize("body", [
    {"code": 123}, {"code": "X", "email": "e" * 300 + "@x.test"}, {"code": None},
    {"code": "X", "password": {"a": 1}}, {"code": "X", "login_id": "x" * 65},
    {"code": "X", "household_code": "\ud800"},
])
def test_bad_register_requests_are_400(client, factory, body):
    invite = factory.invite(factory.association())
    body = {**body, "code": invite.code} if body.get("code") == "X" else body
    response = client.post("/api/v1/register", data=json.dumps(body),
                           content_type="application/json")
    assert response.status_code == 400, response.json


def test_paper_receipt_body_must_be_an_object(client, factory, cast):
    circular = factory.circular(cast.association)
    household = cast.members["resident"].household_id
    url = f"/api/v1/circulars/{circular.id}/paper/{household}"
    for kwargs in ({"json": []}, {"json": {"acknowledge": "yes"}},
                   {"data": "x", "content_type": "text/plain"}):
        response = client.post(url, headers=cast.headers("leader"), **kwargs)
        assert 400 <= response.status_code < 500, kwargs


def test_many_unknown_fields_get_a_short_answer(client, cast):
    body = {f"k{i}": i for i in range(5000)}
    response = client.post(f"/api/v1/associations/{cast.association.id}/blocks",
                           headers=cast.headers("leader"), json=body)
    assert response.status_code == 400
    assert len(response.json["error"]["fields"]) <= 21

"""Registration with an invite code and redeeming one while authenticated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from chounaikai.extensions import db
from chounaikai.models import Household, Invite, MemberRole, Membership, User, utcnow
from tests.api.conftest import bearer


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (User, Membership, Household))


def _form(code: str, **extra) -> dict:
    return {"code": code, "display_name": "鈴木花子", "login_id": "suzuki",
            "email": "Suzuki@Example.test", "password": "long enough password",
            "household_name": "鈴木家", **extra}


def test_register_creates_user_membership_and_token(app, client, factory):
    association = factory.association()
    invite = factory.invite(association, block=association.blocks[1])

    response = client.post("/api/v1/register",
                           json=_form(invite.code.lower()[:4] + "-" + invite.code[4:]))

    assert response.status_code == 201, response.json
    body = response.json
    membership = body["membership"]
    assert membership["association"]["id"] == association.id
    assert membership["role"] == "resident"
    assert membership["household"]["name"] == "鈴木家"
    assert membership["household"]["block_id"] == association.blocks[1].id
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.json["email"] == "suzuki@example.test"
    assert me.json["memberships"][0]["household"]["join_code"]
    with app.app_context():
        assert db.session.get(Invite, invite.id).uses == 1


def test_register_into_existing_household_with_its_code(app, client, factory):
    association = factory.association()
    household = factory.household(association)
    invite = factory.invite(association, max_uses=None)

    response = client.post("/api/v1/register", json=_form(
        invite.code, household_name="", household_code=household.join_code))

    assert response.status_code == 201
    assert response.json["membership"]["household"]["id"] == household.id


@pytest.mark.parametrize("case", ["unknown", "expired", "used", "revoked"])
def test_bad_invite_code_is_400_with_message_and_writes_nothing(app, client, factory, case):
    association = factory.association()
    invite = factory.invite(association, expires_in=timedelta(days=-1 if case == "expired"
                                                                    else 7))
    with app.app_context():
        row = db.session.get(Invite, invite.id)
        if case == "used":
            row.uses = 1
        if case == "revoked":
            row.revoked_at = utcnow()
        db.session.commit()
    before = _counts(app)
    code = "ZZZZZZZZZZ" if case == "unknown" else invite.code

    response = client.post("/api/v1/register", json=_form(code))

    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "invalid"
    assert "招待コード" in error["message"]
    assert "code" in error["fields"]
    assert _counts(app) == before
    with app.app_context():
        assert db.session.get(Invite, invite.id).uses == (1 if case == "used" else 0)


def test_register_field_errors_are_reported_and_nothing_written(app, client, factory):
    association = factory.association()
    invite = factory.invite(association)
    factory.user(login_id="taken")
    before = _counts(app)

    response = client.post("/api/v1/register", json=_form(
        invite.code, login_id="taken", password="short", display_name=" "))

    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"login_id", "password", "display_name"}
    assert _counts(app) == before


def test_register_with_bad_household_code_rolls_back_the_user(app, client, factory):
    association = factory.association()
    invite = factory.invite(association)
    before = _counts(app)

    response = client.post("/api/v1/register", json=_form(invite.code, household_code="NOPE1234"))

    assert response.status_code == 400
    assert "household_code" in response.json["error"]["fields"]
    assert _counts(app) == before
    with app.app_context():
        assert db.session.get(Invite, invite.id).uses == 0


def test_redeem_invite_while_authenticated(app, client, factory, cast):
    invite = factory.invite(cast.other, role=MemberRole.BLOCK_LEADER)

    response = client.post("/api/v1/invites/redeem", headers=cast.headers("resident"),
                           json={"code": invite.code, "household_name": "山田家"})

    assert response.status_code == 201
    assert response.json["association"]["id"] == cast.other.id
    assert response.json["role"] == "block_leader"
    me = client.get("/api/v1/me", headers=cast.headers("resident"))
    assert {m["association"]["id"] for m in me.json["memberships"]} == {
        cast.association.id, cast.other.id}


def test_redeem_invite_twice_is_refused(client, factory, cast):
    invite = factory.invite(cast.association, max_uses=None)
    response = client.post("/api/v1/invites/redeem", headers=cast.headers("resident"),
                           json={"code": invite.code, "household_name": "x"})
    assert response.status_code == 400


def test_redeem_needs_a_token(client, factory, cast):
    invite = factory.invite(cast.association)
    response = client.post("/api/v1/invites/redeem", json={"code": invite.code})
    assert response.status_code == 401

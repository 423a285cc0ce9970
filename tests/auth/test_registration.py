"""Joining an association with an invite code, as a new or a logged-in user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from chounaikai.auth import services
from chounaikai.auth.passwords import hash_password
from chounaikai.errors import ValidationFailed
from chounaikai.extensions import db
from chounaikai.models import Household, Invite, MemberRole, Membership, User, utcnow
from tests.dbutil import write_elsewhere
from tests.helpers import form_post
from tests.support import client_for, count, counts, html, load

UNKNOWN = "この招待コードは使えません。チラシのコードを確かめてください。"
EXPIRED = "この招待コードは期限が切れています。役員に新しいコードをお願いしてください。"
USED = "この招待コードはすでに使われています。役員に新しいコードをお願いしてください。"
NO_HOUSEHOLD = "この世帯コードの世帯はありません。"
ALREADY_MEMBER = "すでにこの町内会の会員です。"


def _form(code: str, **overrides: str) -> dict[str, str]:
    data = {"code": code, "display_name": "山田 花子", "login_id": "hanako",
            "email": "hanako@example.test", "password": "a long lowercase passphrase",
            "household_name": "山田家", "household_code": ""}
    data.update(overrides)
    return data


def _nothing_written(app) -> dict[str, int]:
    return counts(app, User, Household, Membership)


def _membership_of(app, login_id: str) -> Membership | None:
    with app.app_context():
        membership = db.session.scalar(
            select(Membership).join(User).where(User.login_id == login_id))
        if membership is None:
            return None
        membership.household  # noqa: B018 - load before the session ends
        membership.user  # noqa: B018
        db.session.expunge_all()
        return membership


def test_valid_invite_creates_user_household_and_membership_with_invite_role_and_block(
        app, client, factory):
    association = factory.association()
    block = association.blocks[1]
    invite = factory.invite(association, role=MemberRole.BLOCK_LEADER, block=block)

    response = form_post(client, "/join", _form(invite.code))

    assert response.status_code == 302
    assert response.headers["Location"] == f"/a/{association.id}/circulars"
    membership = _membership_of(app, "hanako")
    assert membership is not None
    assert membership.association_id == association.id
    assert membership.role == MemberRole.BLOCK_LEADER
    assert membership.household.name == "山田家"
    assert membership.household.block_id == block.id
    assert membership.user.email == "hanako@example.test"
    assert membership.user.password_hash.startswith("$argon2id$")
    assert load(app, Invite, invite.id).uses == 1
    # The new member is logged in straight away.
    assert client.get(f"/a/{association.id}/circulars").status_code == 200


@pytest.mark.parametrize("spell", [
    str.lower,
    lambda code: f"{code[:5]}-{code[5:]}",
    lambda code: f" {code[:3]} {code[3:6]} {code[6:]} ",
    lambda code: f"{code[:5].lower()}-{code[5:]}",
])
def test_invite_code_is_normalized(app, client, factory, spell):
    association = factory.association()
    invite = factory.invite(association)

    response = form_post(client, "/join", _form(spell(invite.code)))

    assert response.status_code == 302
    assert _membership_of(app, "hanako").association_id == association.id


def test_invite_code_typed_in_full_width_is_accepted(app, client, factory):
    association = factory.association()
    invite = factory.invite(association)
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in invite.code)

    response = form_post(client, "/join", _form(f"{full_width[:5]}ー{full_width[5:]}"))

    assert response.status_code == 302


def _revoke(app, invite: Invite) -> None:
    with app.app_context():
        db.session.execute(update(Invite).where(Invite.id == invite.id)
                           .values(revoked_at=utcnow()))
        db.session.commit()


def _use_up(app, invite: Invite) -> None:
    with app.app_context():
        db.session.execute(update(Invite).where(Invite.id == invite.id)
                           .values(uses=Invite.max_uses))
        db.session.commit()


@pytest.mark.parametrize(("case", "message"), [
    ("unknown", UNKNOWN),
    ("expired", EXPIRED),
    ("revoked", UNKNOWN),
    ("used", USED),
])
def test_unusable_invite_gives_clear_message_and_writes_nothing(
        app, client, factory, case, message):
    association = factory.association()
    invite = factory.invite(association, expires_in=timedelta(days=-1 if case == "expired" else 7))
    if case == "revoked":
        _revoke(app, invite)
    if case == "used":
        _use_up(app, invite)
    before = _nothing_written(app)
    code = "ZZZZZZZZZZ" if case == "unknown" else invite.code

    response = form_post(client, "/join", _form(code))

    assert response.status_code == 400
    assert message in html(response)
    assert _nothing_written(app) == before
    assert client.get("/settings").status_code == 302  # not logged in


def test_single_use_invite_works_once_only(app, client, factory):
    association = factory.association()
    invite = factory.invite(association, max_uses=1)
    assert form_post(client, "/join", _form(invite.code)).status_code == 302
    before = _nothing_written(app)

    second = form_post(app.test_client(), "/join",
                       _form(invite.code, login_id="taro", email="taro@example.test"))

    assert second.status_code == 400
    assert USED in html(second)
    assert _nothing_written(app) == before
    assert load(app, Invite, invite.id).uses == 1


@pytest.mark.parametrize(("max_uses", "accepted"), [(None, 3), (2, 2)])
def test_multi_use_invite_counts_uses_up_to_its_limit(app, factory, max_uses, accepted):
    association = factory.association()
    invite = factory.invite(association, max_uses=max_uses)

    statuses = [form_post(app.test_client(), "/join",
                          _form(invite.code, login_id=f"person{n}",
                                email=f"person{n}@example.test",
                                household_name=f"家{n}")).status_code
                for n in range(3)]

    assert statuses == [302] * accepted + [400] * (3 - accepted)
    assert count(app, Membership) == accepted
    assert count(app, Household) == accepted
    assert load(app, Invite, invite.id).uses == accepted


def test_joining_existing_household_with_its_join_code(app, client, factory):
    association = factory.association()
    family = factory.member(association, block=association.blocks[1])
    invite = factory.invite(association)
    code = family.household.join_code
    households_before = count(app, Household)

    response = form_post(client, "/join", _form(
        invite.code, household_name="", household_code=f"{code[:4].lower()}-{code[4:]}"))

    assert response.status_code == 302
    assert count(app, Household) == households_before
    assert _membership_of(app, "hanako").household_id == family.household.id


@pytest.mark.parametrize("household_code", ["ZZZZZZZZ", "other-association"])
def test_unknown_household_code_is_refused_and_writes_nothing(
        app, client, factory, household_code):
    association = factory.association()
    invite = factory.invite(association)
    if household_code == "other-association":
        elsewhere = factory.member(factory.association())
        household_code = elsewhere.household.join_code
    before = _nothing_written(app)

    response = form_post(client, "/join", _form(invite.code, household_code=household_code))

    assert response.status_code == 400
    assert NO_HOUSEHOLD in html(response)
    assert _nothing_written(app) == before
    assert load(app, Invite, invite.id).uses == 0


def test_household_name_or_code_is_required(app, client, factory):
    invite = factory.invite(factory.association())
    before = _nothing_written(app)

    response = form_post(client, "/join", _form(invite.code, household_name="  "))

    assert response.status_code == 400
    assert "世帯の名前か、家族から聞いた世帯コードを入れてください。" in html(response)
    assert _nothing_written(app) == before


@pytest.mark.parametrize(("field", "value", "message"), [
    ("login_id", "taken", "このログインIDはすでに使われています。"),
    ("login_id", "taken@example.test", "このログインIDはすでに使われています。"),
    ("email", "TAKEN@example.test", "このメールアドレスはすでに登録されています。"),
])
def test_duplicate_login_id_or_email_is_refused(app, client, factory, field, value, message):
    factory.user(login_id="taken")
    with app.app_context():
        db.session.execute(update(User).where(User.login_id == "taken")
                           .values(email="taken@example.test"))
        db.session.commit()
    invite = factory.invite(factory.association())
    before = _nothing_written(app)

    response = form_post(client, "/join", _form(invite.code, **{field: value}))

    assert response.status_code == 400
    assert message in html(response)
    assert _nothing_written(app) == before
    assert load(app, Invite, invite.id).uses == 0


@pytest.mark.parametrize(("password", "ok"), [
    ("", False),
    ("1234567", False),
    ("abcdefg", False),
    ("12345678", True),
    ("abcdefgh", True),  # no composition rules: lowercase only is fine
    ("a long lowercase passphrase with spaces", True),
    ("ながいあいことばです", True),
])
def test_password_length_is_the_only_rule(app, factory, password, ok):
    invite = factory.invite(factory.association())
    with app.test_request_context():
        if ok:
            membership = services.register(
                code=invite.code, display_name="花子", login_id="hanako", email="",
                password=password, household_name="山田家")
            assert membership.user.password_hash.startswith("$argon2id$")
            assert services.authenticate(login="hanako", password=password) is not None
        else:
            with pytest.raises(ValidationFailed) as caught:
                services.register(code=invite.code, display_name="花子", login_id="hanako",
                                  email="", password=password, household_name="山田家")
            assert caught.value.fields["password"] == "8文字以上にしてください。"
            assert db.session.scalar(select(User.id).where(User.login_id == "hanako")) is None


def test_short_password_on_the_form_writes_nothing(app, client, factory):
    invite = factory.invite(factory.association())
    before = _nothing_written(app)

    response = form_post(client, "/join", _form(invite.code, password="short"))

    assert response.status_code == 400
    assert "8文字以上にしてください。" in html(response)
    assert 'value="short"' not in html(response)  # the password is not echoed back
    assert _nothing_written(app) == before


def test_new_user_can_log_in_with_email_after_registering(app, client, factory):
    invite = factory.invite(factory.association())
    form_post(client, "/join", _form(invite.code, email="Hanako@Example.test"))
    other = app.test_client()

    response = form_post(other, "/login", {"login": "hanako@example.test",
                                           "password": "a long lowercase passphrase"})

    assert response.status_code == 302


def test_logged_in_member_cannot_join_the_same_association_twice(app, factory):
    association = factory.association()
    member = factory.member(association)
    invite = factory.invite(association)
    client = client_for(app, member.user)
    before = _nothing_written(app)

    response = form_post(client, "/join", {"code": invite.code, "household_name": "別の家"})

    assert response.status_code == 400
    assert ALREADY_MEMBER in html(response)
    assert _nothing_written(app) == before
    assert load(app, Invite, invite.id).uses == 0


def test_logged_in_user_joins_a_second_association_with_roles_per_association(app, factory):
    home = factory.association(name="原町田一丁目町内会")
    other = factory.association(name="鶴川団地自治会")
    resident = factory.member(home, role=MemberRole.RESIDENT)
    invite = factory.invite(other, role=MemberRole.LEADER)
    client = client_for(app, resident.user)

    response = form_post(client, "/join", {"code": invite.code, "household_name": "鶴川の家"})

    assert response.status_code == 302
    with app.app_context():
        roles = dict(db.session.execute(select(Membership.association_id, Membership.role)
                                        .where(Membership.user_id == resident.user.id)).all())
    assert roles == {home.id: MemberRole.RESIDENT, other.id: MemberRole.LEADER}
    # Leader pages: allowed in the association they lead, forbidden where they are a resident.
    assert client.get(f"/a/{other.id}/manage").status_code == 200
    assert client.get(f"/a/{home.id}/manage").status_code == 403
    circular = {"title": "お知らせ", "body": "本文", "audience": "all"}
    assert form_post(client, f"/a/{other.id}/circulars", circular).status_code == 302
    assert form_post(client, f"/a/{home.id}/circulars", circular).status_code == 403


def test_redeem_invite_service_refuses_existing_member(app, factory):
    association = factory.association()
    member = factory.member(association)
    invite = factory.invite(association, max_uses=None)
    with app.test_request_context():
        user = db.session.get(User, member.user.id)
        with pytest.raises(ValidationFailed) as caught:
            services.redeem_invite(user=user, code=invite.code, household_name="家")
        assert caught.value.describe() == ALREADY_MEMBER


def test_join_page_fills_in_the_code_from_the_qr_link(client):
    page = html(client.get("/join?code=ABCDEFGHJK"))

    assert 'value="ABCDEFGHJK"' in page


def test_registration_is_rate_limited_like_login(app, client, factory):
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    for _ in range(limit):
        assert form_post(client, "/join", _form("ZZZZZZZZZZ")).status_code == 400
    invite = factory.invite(factory.association())

    response = form_post(client, "/join", _form(invite.code))

    assert response.status_code == 429
    assert count(app, User) == 0


def test_hashing_the_new_password_does_not_hold_the_write_lock(
        app, client, factory, monkeypatch, database_url):
    invite = factory.invite(factory.association())
    hashed = []

    def slow_hash(password):
        write_elsewhere(database_url)  # raises "database is locked" if we held it
        hashed.append(True)
        return hash_password(password)

    monkeypatch.setattr(services, "hash_password", slow_hash)
    response = form_post(client, "/join", _form(invite.code))
    assert response.status_code == 302
    assert hashed == [True]
    assert _membership_of(app, "hanako") is not None

"""Invite codes: leaders create, print (QR) and revoke them; staff only invite leaders."""

from __future__ import annotations

from datetime import timedelta

import pytest
import segno
from sqlalchemy import select

from chounaikai.codes import ALPHABET
from chounaikai.extensions import db
from chounaikai.models import GlobalRole, Invite, MemberRole, utcnow
from tests.helpers import form_post
from tests.support import client_for, count, html, load


def _only_invite(app) -> Invite:
    with app.app_context():
        invites = list(db.session.scalars(select(Invite)))
        assert len(invites) == 1
        db.session.expunge_all()
        return invites[0]


@pytest.mark.parametrize(("uses", "max_uses"), [("one", 1), ("many", None)])
def test_leader_creates_single_or_multi_use_invite_and_lands_on_print_page(
        app, factory, uses, max_uses):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    block = association.blocks[1]
    client = client_for(app, leader.user)

    response = form_post(client, f"/a/{association.id}/invites", {
        "role": "block_leader", "block_id": str(block.id), "uses": uses, "valid_days": "14"})

    invite = _only_invite(app)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/invites/{invite.id}/print"
    assert invite.max_uses == max_uses
    assert invite.uses == 0
    assert invite.role == MemberRole.BLOCK_LEADER
    assert invite.block_id == block.id
    assert invite.created_by_id == leader.user.id
    assert len(invite.code) == 10
    assert set(invite.code) <= set(ALPHABET)
    remaining = invite.expires_at - utcnow()
    assert timedelta(days=13, hours=23) < remaining <= timedelta(days=14)


@pytest.mark.parametrize("valid_days", ["366", "1000"])
def test_invite_validity_out_of_range_is_refused_without_writing(app, factory, valid_days):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    client = client_for(app, leader.user)

    response = form_post(client, f"/a/{association.id}/invites",
                         {"role": "resident", "uses": "one", "valid_days": valid_days})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/a/{association.id}/invites"
    assert count(app, Invite) == 0


def test_invite_for_block_of_another_association_is_refused(app, factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    foreign_block = factory.association().blocks[0]
    client = client_for(app, leader.user)

    form_post(client, f"/a/{association.id}/invites",
              {"role": "resident", "block_id": str(foreign_block.id), "uses": "one"})

    assert count(app, Invite) == 0


@pytest.mark.parametrize("role", [MemberRole.RESIDENT, MemberRole.BLOCK_LEADER])
def test_members_below_leader_cannot_create_or_list_invites(app, factory, role):
    association = factory.association()
    member = factory.member(association, role=role)
    client = client_for(app, member.user)

    created = form_post(client, f"/a/{association.id}/invites",
                        {"role": "leader", "uses": "many", "valid_days": "30"})

    assert created.status_code == 403
    assert count(app, Invite) == 0
    assert client.get(f"/a/{association.id}/invites").status_code == 403


def test_print_page_shows_code_qr_image_and_public_join_address(app, factory):
    association = factory.association(name="原町田一丁目町内会")
    leader = factory.member(association, role=MemberRole.LEADER)
    invite = factory.invite(association, block=association.blocks[0])
    client = client_for(app, leader.user)
    saved = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = "https://chounaikai.example.jp/"
    try:
        response = client.get(f"/invites/{invite.id}/print")
    finally:
        app.config["PUBLIC_BASE_URL"] = saved

    assert response.status_code == 200
    page = html(response)
    assert invite.code in page
    assert "原町田一丁目町内会" in page
    assert f'href="/a/{association.id}/invites"' in page
    assert f'<img class="qr" src="/invites/{invite.id}/qr.svg"' in page
    assert "https://chounaikai.example.jp/join" in page
    assert "1班" in page


def test_qr_svg_encodes_the_join_link_on_the_public_address(app, factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    invite = factory.invite(association)
    client = client_for(app, leader.user)
    saved = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = "https://chounaikai.example.jp"
    try:
        response = client.get(f"/invites/{invite.id}/qr.svg")
    finally:
        app.config["PUBLIC_BASE_URL"] = saved

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "no-store" in response.headers["Cache-Control"]
    body = html(response)
    assert body.startswith("<svg")
    assert body.rstrip().endswith("</svg>")
    expected = segno.make(f"https://chounaikai.example.jp/join?code={invite.code}", error="m")
    assert body == expected.svg_inline(scale=8, dark="#000", light="#fff", border=2)


def test_invites_page_lists_codes_with_their_state(app, factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    valid = factory.invite(association)
    expired = factory.invite(association, expires_in=timedelta(days=-1))
    client = client_for(app, leader.user)

    page = html(client.get(f"/a/{association.id}/invites"))

    assert valid.code in page
    assert expired.code in page
    assert "期限切れ" in page


def test_leader_revokes_invite_and_it_can_no_longer_be_used(app, factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    invite = factory.invite(association, max_uses=None)
    client = client_for(app, leader.user)

    response = form_post(client, f"/invites/{invite.id}/revoke")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/a/{association.id}/invites"
    revoked_at = load(app, Invite, invite.id).revoked_at
    assert revoked_at is not None
    # Revoking again keeps the first time.
    form_post(client, f"/invites/{invite.id}/revoke")
    assert load(app, Invite, invite.id).revoked_at == revoked_at
    joined = form_post(app.test_client(), "/join", {
        "code": invite.code, "display_name": "x", "login_id": "newbie",
        "password": "long enough password", "household_name": "家"})
    assert joined.status_code == 400


def test_resident_cannot_revoke_invite(app, factory):
    association = factory.association()
    resident = factory.member(association)
    invite = factory.invite(association)
    client = client_for(app, resident.user)

    assert form_post(client, f"/invites/{invite.id}/revoke").status_code == 403
    assert load(app, Invite, invite.id).revoked_at is None


# --- staff ------------------------------------------------------------------------------

def test_staff_issue_a_leader_invite_for_any_association(app, factory):
    association = factory.association()
    staff = factory.user(role=GlobalRole.STAFF)
    client = client_for(app, staff)

    response = form_post(client, f"/staff/associations/{association.id}/leader-invite")

    invite = _only_invite(app)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/invites/{invite.id}/print"
    assert (invite.association_id, invite.role, invite.max_uses) == (
        association.id, MemberRole.LEADER, 1)
    flyer = client.get(f"/invites/{invite.id}/print")
    assert flyer.status_code == 200
    # Its back link goes to the staff dashboard, not the leaders' invites page (404 for staff).
    assert 'href="/staff/"' in html(flyer)
    assert f'href="/a/{association.id}/invites"' not in html(flyer)
    assert client.get(f"/invites/{invite.id}/qr.svg").status_code == 200


def test_staff_leader_invite_makes_the_first_leader(app, factory):
    association = factory.association()
    client = client_for(app, factory.user(role=GlobalRole.STAFF))
    form_post(client, f"/staff/associations/{association.id}/leader-invite")
    invite = _only_invite(app)
    newcomer = app.test_client()

    form_post(newcomer, "/join", {"code": invite.code, "display_name": "会長",
                                  "login_id": "kaicho", "password": "long enough password",
                                  "household_name": "会長の家"})

    assert newcomer.get(f"/a/{association.id}/manage").status_code == 200


@pytest.mark.parametrize("role", ["resident", "block_leader"])
def test_staff_cannot_create_non_leader_invites(app, factory, role):
    association = factory.association()
    client = client_for(app, factory.user(role=GlobalRole.STAFF))

    response = form_post(client, f"/a/{association.id}/invites", {"role": role, "uses": "many"})

    assert response.status_code == 404
    assert count(app, Invite) == 0


def test_staff_can_create_leader_invite_through_the_invite_form(app, factory):
    association = factory.association()
    client = client_for(app, factory.user(role=GlobalRole.STAFF))

    response = form_post(client, f"/a/{association.id}/invites", {"role": "leader", "uses": "one"})

    assert response.status_code == 302
    assert _only_invite(app).role == MemberRole.LEADER


def test_staff_cannot_see_or_revoke_resident_invites(app, factory):
    association = factory.association()
    invite = factory.invite(association, role=MemberRole.RESIDENT)
    client = client_for(app, factory.user(role=GlobalRole.STAFF))

    assert client.get(f"/invites/{invite.id}/print").status_code == 404
    assert form_post(client, f"/invites/{invite.id}/revoke").status_code == 404
    assert load(app, Invite, invite.id).revoked_at is None


def test_staff_revoke_leader_invite_returns_to_dashboard(app, factory):
    association = factory.association()
    invite = factory.invite(association, role=MemberRole.LEADER)
    client = client_for(app, factory.user(role=GlobalRole.STAFF))

    response = form_post(client, f"/invites/{invite.id}/revoke", {"from": "staff"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    assert load(app, Invite, invite.id).revoked_at is not None

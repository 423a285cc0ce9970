"""Members: roles, the last leader, removal that ends sessions at once, the audited roster."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chounaikai.associations import services
from chounaikai.errors import Conflict
from chounaikai.extensions import db
from chounaikai.models import AuditLog, MemberRole, Membership, User
from tests.helpers import form_post
from tests.support import client_for, count, html, load

LAST_LEADER = "会長（役員）が1人以上必要です。"


@pytest.mark.parametrize("role", list(MemberRole))
def test_leader_changes_a_members_role(app, factory, role):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    member = factory.member(association)
    client = client_for(app, leader.user)

    response = form_post(client, f"/members/{member.id}/role", {"role": role.value})

    assert response.status_code == 302
    assert load(app, Membership, member.id).role == role
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "member.role"))
        assert entry.actor_id == leader.user.id
        assert entry.target_id == member.id
        assert entry.detail == {"role": role.value}


def test_role_change_by_a_resident_is_forbidden(app, factory):
    association = factory.association()
    resident = factory.member(association)
    other = factory.member(association)
    client = client_for(app, resident.user)

    response = form_post(client, f"/members/{other.id}/role", {"role": "leader"})

    assert response.status_code == 403
    assert load(app, Membership, other.id).role == MemberRole.RESIDENT


@pytest.mark.parametrize("role", [MemberRole.RESIDENT, MemberRole.BLOCK_LEADER])
def test_last_leader_cannot_be_demoted(app, factory, role):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    client = client_for(app, leader.user)

    response = form_post(client, f"/members/{leader.id}/role", {"role": role.value})

    assert response.status_code == 409
    assert LAST_LEADER in html(response)
    assert load(app, Membership, leader.id).role == MemberRole.LEADER


def test_last_leader_cannot_be_removed(app, factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    client = client_for(app, leader.user)

    response = form_post(client, f"/members/{leader.id}/remove")

    assert response.status_code == 409
    assert load(app, Membership, leader.id) is not None
    assert load(app, User, leader.user.id).session_version == leader.user.session_version


def test_one_of_two_leaders_may_step_down(app, factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    factory.member(association, role=MemberRole.LEADER)
    client = client_for(app, leader.user)

    response = form_post(client, f"/members/{leader.id}/role", {"role": "resident"})

    assert response.status_code == 302
    assert load(app, Membership, leader.id).role == MemberRole.RESIDENT


def test_service_refuses_to_demote_last_leader_of_that_association_only(app, factory):
    """The count is per association: a leader elsewhere does not count."""
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    factory.member(factory.association(), role=MemberRole.LEADER)
    with app.test_request_context():
        actor = db.session.get(User, leader.user.id)
        with pytest.raises(Conflict):
            services.change_role(actor=actor, membership_id=leader.id, role=MemberRole.RESIDENT)


def test_removal_ends_the_removed_users_sessions_at_once(app, factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    member = factory.member(association)
    circular = factory.circular(association)
    member_client = client_for(app, member.user)
    assert member_client.get(f"/a/{association.id}/circulars").status_code == 200
    leader_client = client_for(app, leader.user)

    response = form_post(leader_client, f"/members/{member.id}/remove")

    assert response.status_code == 302
    assert load(app, Membership, member.id) is None
    assert load(app, User, member.user.id).session_version == member.user.session_version + 1
    # The old cookies (session and remember-me) no longer log anyone in.
    after = member_client.get(f"/a/{association.id}/circulars")
    assert after.status_code == 302
    assert after.headers["Location"].startswith("/login")
    assert member_client.get("/settings").status_code == 302
    # Logging in again works, but the association's pages are gone for them.
    again = client_for(app, member.user)
    assert again.get(f"/a/{association.id}/circulars").status_code == 404
    assert again.get(f"/circulars/{circular.id}").status_code == 404
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "member.remove"))
        assert (entry.actor_id, entry.target_id) == (leader.user.id, member.user.id)


def test_removed_users_remember_cookie_alone_does_not_log_in(app, factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    member = factory.member(association)
    member_client = client_for(app, member.user)
    member_client.delete_cookie("session", domain="localhost")
    assert member_client.get_cookie("session", domain="localhost") is None
    assert member_client.get_cookie("remember_token", domain="localhost") is not None
    assert member_client.get("/settings").status_code == 200  # remember-me cookie works

    form_post(client_for(app, leader.user), f"/members/{member.id}/remove")

    member_client.delete_cookie("session", domain="localhost")
    assert member_client.get("/settings").status_code == 302


def test_roster_lists_members_and_is_audit_logged(app, factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    factory.member(association, household=factory.household(association, name="鈴木家"),
                   user=factory.user(name="鈴木 一郎"))
    client = client_for(app, leader.user)

    response = client.get(f"/a/{association.id}/manage")

    assert response.status_code == 200
    page = html(response)
    assert "鈴木家" in page
    assert "鈴木 一郎" in page
    assert count(app, AuditLog, AuditLog.action == "roster.view",
                 AuditLog.association_id == association.id,
                 AuditLog.actor_id == leader.user.id) == 1


@pytest.mark.parametrize("role", [MemberRole.RESIDENT, MemberRole.BLOCK_LEADER])
def test_roster_is_for_leaders_only_and_a_refusal_is_not_logged(app, factory, role):
    association = factory.association()
    member = factory.member(association, role=role)
    client = client_for(app, member.user)

    assert client.get(f"/a/{association.id}/manage").status_code == 403
    assert count(app, AuditLog, AuditLog.action == "roster.view") == 0


def test_leader_of_one_association_gets_404_on_anothers_pages(app, factory):
    mine = factory.association()
    theirs = factory.association()
    leader = factory.member(mine, role=MemberRole.LEADER)
    their_member = factory.member(theirs)
    their_circular = factory.circular(theirs)
    their_invite = factory.invite(theirs)
    client = client_for(app, leader.user)

    for url in (f"/a/{theirs.id}/manage", f"/a/{theirs.id}/invites",
                f"/a/{theirs.id}/circulars", f"/a/{theirs.id}/circulars/manage",
                f"/circulars/{their_circular.id}", f"/circulars/{their_circular.id}/status",
                f"/invites/{their_invite.id}/print", f"/invites/{their_invite.id}/qr.svg"):
        assert client.get(url).status_code == 404, url
    for url in (f"/members/{their_member.id}/remove", f"/members/{their_member.id}/role",
                f"/blocks/{theirs.blocks[0].id}/delete", f"/invites/{their_invite.id}/revoke"):
        assert form_post(client, url, {"role": "resident"}).status_code == 404, url
    assert load(app, Membership, their_member.id) is not None

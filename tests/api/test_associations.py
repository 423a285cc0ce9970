"""Associations, blocks, households, members and invites through the API."""

from __future__ import annotations

from sqlalchemy import func, select

from chounaikai.extensions import db
from chounaikai.models import AuditLog, Block, Household, Invite, Membership


def _audits(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditLog)
                                 .where(AuditLog.action == action))


def test_me_shows_own_profile_and_memberships(client, cast):
    response = client.get("/api/v1/me", headers=cast.headers("block_leader"))
    assert response.status_code == 200
    body = response.json
    member = cast.members["block_leader"]
    assert body["id"] == member.user_id
    assert body["is_staff"] is False
    [membership] = body["memberships"]
    assert membership["association"] == {"id": cast.association.id,
                                         "name": cast.association.name,
                                         "district": cast.association.district}
    assert membership["role"] == "block_leader"
    assert membership["household"]["id"] == member.household_id
    assert membership["household"]["join_code"] == member.household.join_code
    assert membership["joined_at"].endswith("+00:00")


def test_list_own_associations(client, cast):
    response = client.get("/api/v1/associations", headers=cast.headers("leader"))
    assert response.json["items"] == [{"id": cast.association.id, "name": cast.association.name,
                                       "district": cast.association.district, "role": "leader"}]
    staff = client.get("/api/v1/associations", headers=cast.headers("staff"))
    assert staff.json["items"] == []


def test_staff_create_association_and_counts(app, client, cast):
    created = client.post("/api/v1/associations", headers=cast.headers("staff"),
                          json={"name": "金森町内会", "district": "金森"})
    assert created.status_code == 201
    assert created.json["name"] == "金森町内会"

    counts = client.get("/api/v1/staff/associations", headers=cast.headers("staff"))

    assert counts.status_code == 200
    rows = {row["association"]["id"]: row for row in counts.json["items"]}
    assert rows[cast.association.id]["members"] == 4
    assert rows[cast.association.id]["households"] == 4
    assert rows[created.json["id"]]["members"] == 0
    assert set(rows[cast.association.id]) == {"association", "households", "members",
                                              "circulars", "household_reads"}
    assert _audits(app, "staff.counts") == 1


def test_only_staff_create_associations_and_see_counts(client, cast):
    for who in ("leader", "resident"):
        headers = cast.headers(who)
        assert client.post("/api/v1/associations", headers=headers,
                           json={"name": "x", "district": "y"}).status_code == 403
        assert client.get("/api/v1/staff/associations", headers=headers).status_code == 403


def test_blocks_list_create_delete(app, client, cast):
    base = f"/api/v1/associations/{cast.association.id}/blocks"
    listed = client.get(base, headers=cast.headers("resident"))
    assert [b["name"] for b in listed.json["items"]] == ["1班", "2班"]

    created = client.post(base, headers=cast.headers("leader"), json={"name": "3班"})
    assert created.status_code == 201
    duplicate = client.post(base, headers=cast.headers("leader"), json={"name": "3班"})
    assert duplicate.status_code == 400
    assert "name" in duplicate.json["error"]["fields"]

    deleted = client.delete(f"/api/v1/blocks/{created.json['id']}", headers=cast.headers("leader"))
    assert deleted.status_code == 204
    busy = client.delete(f"/api/v1/blocks/{cast.block1.id}", headers=cast.headers("leader"))
    assert busy.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Block)) == 4  # A:2, B:2


def test_block_permissions(client, cast):
    base = f"/api/v1/associations/{cast.association.id}/blocks"
    body = {"name": "x"}
    assert client.post(base, headers=cast.headers("resident"), json=body).status_code == 403
    assert client.post(base, headers=cast.headers("outsider"), json=body).status_code == 404
    assert client.get(base, headers=cast.headers("outsider")).status_code == 404
    assert client.get(base, headers=cast.headers("staff")).status_code == 404
    assert client.delete(f"/api/v1/blocks/{cast.block2.id}",
                         headers=cast.headers("block_leader")).status_code == 403
    assert client.delete(f"/api/v1/blocks/{cast.block2.id}",
                         headers=cast.headers("outsider")).status_code == 404


def test_households_list_create_move(app, client, cast):
    base = f"/api/v1/associations/{cast.association.id}/households"
    leader = cast.headers("leader")
    created = client.post(base, headers=leader, json={"name": "佐藤家", "block_id": cast.block2.id})
    assert created.status_code == 201
    assert created.json["has_smartphone"] is False
    assert created.json["block_id"] == cast.block2.id
    household_id = created.json["id"]

    listed = client.get(base, headers=leader)
    assert household_id in {h["id"] for h in listed.json["items"]}
    assert all("join_code" not in h for h in listed.json["items"])

    moved = client.put(f"/api/v1/households/{household_id}/block", headers=leader,
                       json={"block_id": None})
    assert moved.status_code == 200
    assert moved.json["block_id"] is None
    foreign_block = client.put(f"/api/v1/households/{household_id}/block", headers=leader,
                               json={"block_id": cast.other.blocks[0].id})
    assert foreign_block.status_code == 400
    with app.app_context():
        assert db.session.get(Household, household_id).block_id is None


def test_household_permissions(client, cast):
    base = f"/api/v1/associations/{cast.association.id}/households"
    assert client.get(base, headers=cast.headers("block_leader")).status_code == 403
    assert client.get(base, headers=cast.headers("outsider")).status_code == 404
    household = cast.members["resident"].household_id
    assert client.put(f"/api/v1/households/{household}/block", headers=cast.headers("outsider"),
                      json={"block_id": None}).status_code == 404
    assert client.post(base, headers=cast.headers("resident"),
                       json={"name": "x"}).status_code == 403


def test_roster_shows_no_contact_data_and_is_audited(app, client, cast):
    response = client.get(f"/api/v1/associations/{cast.association.id}/members",
                          headers=cast.headers("leader"))

    assert response.status_code == 200
    members = response.json["members"]
    assert len(members) == 4
    for member in members:
        assert set(member) == {"id", "display_name", "role", "household"}
        assert set(member["household"]) == {"id", "name", "block_id"}
    text = response.get_data(as_text=True)
    for user in cast.users.values():
        assert user.email not in text
        assert f'"{user.login_id}"' not in text
    assert _audits(app, "roster.view") == 1


def test_roster_is_for_leaders_only(app, client, cast):
    url = f"/api/v1/associations/{cast.association.id}/members"
    assert client.get(url, headers=cast.headers("block_leader")).status_code == 403
    assert client.get(url, headers=cast.headers("outsider")).status_code == 404
    assert client.get(url, headers=cast.headers("staff")).status_code == 404
    assert client.get(url).status_code == 401
    assert _audits(app, "roster.view") == 0


def test_change_role_and_last_leader_rule(app, client, cast):
    resident = cast.members["resident"]
    response = client.put(f"/api/v1/members/{resident.id}/role", headers=cast.headers("leader"),
                          json={"role": "block_leader"})
    assert response.status_code == 200
    assert response.json["role"] == "block_leader"
    assert "email" not in response.json

    last = client.put(f"/api/v1/members/{cast.members['leader'].id}/role",
                      headers=cast.headers("leader"), json={"role": "resident"})
    assert last.status_code == 409
    assert client.put(f"/api/v1/members/{resident.id}/role", headers=cast.headers("outsider"),
                      json={"role": "leader"}).status_code == 404
    assert client.put(f"/api/v1/members/{resident.id}/role",
                      headers=cast.headers("block_leader"),
                      json={"role": "leader"}).status_code == 403


def test_remove_member(app, client, cast):
    target = cast.members["resident2"]
    assert client.delete(f"/api/v1/members/{target.id}",
                         headers=cast.headers("resident")).status_code == 403
    assert client.delete(f"/api/v1/members/{target.id}",
                         headers=cast.headers("leader")).status_code == 204
    assert client.delete(f"/api/v1/members/{target.id}",
                         headers=cast.headers("leader")).status_code == 404
    with app.app_context():
        assert db.session.get(Membership, target.id) is None


def test_invites_create_list_qr_revoke(app, client, cast):
    base = f"/api/v1/associations/{cast.association.id}/invites"
    leader = cast.headers("leader")
    created = client.post(base, headers=leader,
                          json={"role": "resident", "block_id": cast.block1.id,
                                "max_uses": None, "valid_days": 14})
    assert created.status_code == 201
    invite = created.json
    assert invite["max_uses"] is None
    assert invite["join_url"].endswith(f"/join?code={invite['code']}")
    assert client.post(base, headers=leader).status_code == 201  # all defaults
    listed = client.get(base, headers=leader)
    assert len(listed.json["items"]) == 2

    qr = client.get(f"/api/v1/invites/{invite['id']}/qr.svg", headers=leader)
    assert qr.status_code == 200
    assert qr.mimetype == "image/svg+xml"
    assert b"<svg" in qr.data

    revoked = client.post(f"/api/v1/invites/{invite['id']}/revoke", headers=leader)
    assert revoked.status_code == 200
    assert revoked.json["revoked_at"] is not None
    with app.app_context():
        assert db.session.get(Invite, invite["id"]).revoked_at is not None


def test_invite_permissions_and_staff_leader_invite(client, cast):
    base = f"/api/v1/associations/{cast.association.id}/invites"
    assert client.get(base, headers=cast.headers("resident")).status_code == 403
    assert client.get(base, headers=cast.headers("outsider")).status_code == 404
    assert client.post(base, headers=cast.headers("staff"),
                       json={"role": "resident"}).status_code == 404
    staff_invite = client.post(base, headers=cast.headers("staff"), json={"role": "leader"})
    assert staff_invite.status_code == 201
    assert client.post(f"/api/v1/invites/{staff_invite.json['id']}/revoke",
                       headers=cast.headers("staff")).status_code == 200
    assert client.get(f"/api/v1/invites/{staff_invite.json['id']}/qr.svg",
                      headers=cast.headers("outsider")).status_code == 404

"""Starting and closing rounds by hand, and the leaders' setting."""

from __future__ import annotations

from chounaikai.extensions import db
from chounaikai.models import AlertKind, Association
from tests.helpers import form_post
from tests.safety.helpers import audits, issue, rounds
from tests.support import client_for, html


def test_leader_starts_and_closes_a_round(app, town):
    a = town.association.id
    leader = client_for(app, town.user("leader"))

    response = form_post(leader, f"/a/{a}/safety/rounds")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/a/{a}/safety/manage")
    again = form_post(leader, f"/a/{a}/safety/rounds")  # a double tap opens nothing more
    assert again.status_code == 302
    assert len(rounds(app, a)) == 1
    assert rounds(app, a)[0]["started_by_id"] == town.user("leader").id

    round_id = rounds(app, a)[0]["id"]
    assert form_post(leader, f"/a/{a}/safety/close", {"round_id": round_id}).status_code == 302
    assert rounds(app, a)[0]["closed_at"] is not None
    # Closing the same round again (a retry) is harmless.
    assert form_post(leader, f"/a/{a}/safety/close", {"round_id": round_id}).status_code == 302
    assert [r.target_id for r in audits(app, "safety.round_close")] == [round_id]


def test_block_leader_and_resident_cannot_start_or_close(app, town):
    a = town.association.id
    for name in ("block_leader", "resident"):
        client = client_for(app, town.user(name))
        assert form_post(client, f"/a/{a}/safety/rounds").status_code == 403
    assert rounds(app, a) == []


def test_staff_start_and_close_for_any_association_from_their_page(app, town):
    staff = client_for(app, town.staff)
    response = form_post(staff, f"/a/{town.other.id}/safety/rounds")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/safety")
    assert len(rounds(app, town.other.id)) == 1

    page = html(staff.get("/staff/safety"))
    assert "実施中" in page
    assert form_post(staff, f"/a/{town.other.id}/safety/close").status_code == 302
    assert rounds(app, town.other.id)[0]["closed_at"] is not None


def test_leader_turns_the_automatic_start_off(app, town):
    a = town.association.id
    leader = client_for(app, town.user("leader"))
    page = html(leader.get(f"/a/{a}/safety/manage"))
    assert 'name="auto_safety_check" value="1" checked' in page

    assert form_post(leader, f"/a/{a}/safety/settings", {}).status_code == 302

    with app.app_context():
        assert db.session.get(Association, a).auto_safety_check is False
    assert audits(app, "safety.auto_check")[0].detail == {"enabled": False}
    issue(app, town.staff.id, AlertKind.LEVEL5, (a,))
    assert rounds(app, a) == []

    form_post(leader, f"/a/{a}/safety/settings", {"auto_safety_check": "1"})
    assert 'name="auto_safety_check" value="1" checked' in html(
        leader.get(f"/a/{a}/safety/manage"))
    issue(app, town.staff.id, AlertKind.LEVEL5, (a,))
    assert len(rounds(app, a)) == 1


def test_block_leader_cannot_change_the_setting(app, town):
    client = client_for(app, town.user("block_leader"))
    assert form_post(client, f"/a/{town.association.id}/safety/settings",
                     {}).status_code == 403
    assert "auto_safety_check" not in html(client.get(
        f"/a/{town.association.id}/safety/manage"))

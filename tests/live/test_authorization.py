"""Who may connect, join a room and catch up: refused unless entitled, checked on the server."""

from __future__ import annotations

import pytest

from tests.helpers import fetch_post
from tests.live.helpers import join, live_events
from tests.support import client_for


def test_a_visitor_connects_for_alert_banners_only(app, client, town, sockets):
    """Without a login a connection may join the public alerts room and nothing else."""
    for socket in (sockets(), sockets(client)):  # no cookie; a browser without a login
        assert socket.is_connected()
        assert join(socket, "alerts")["ok"] is True
        assert join(socket, f"user:{town.resident.user.id}") == {
            "ok": False, "error": "unauthorized"}
        assert join(socket, town.leaders_room) == {"ok": False, "error": "unauthorized"}
        assert socket.is_connected()  # refused joins do not end a visitor's connection


def test_bad_bearer_token_is_refused_and_a_valid_one_connects(app, factory, town, sockets):
    assert not sockets(auth={"token": "cnk_not-a-token"}).is_connected()
    assert not sockets(auth={"token": 12345}).is_connected()
    socket = sockets(auth={"token": factory.token(town.resident.user)})
    assert socket.is_connected()
    assert join(socket, f"user:{town.resident.user.id}")["ok"] is True
    assert join(socket, town.leaders_room) == {"ok": False, "error": "forbidden"}


def test_a_failing_authentication_refuses_the_connection(app, factory, town, sockets,
                                                        monkeypatch):
    from chounaikai.live import events

    def broken(_token):
        raise RuntimeError("database away")

    monkeypatch.setattr(events, "user_for_token", broken)
    assert not sockets(auth={"token": factory.token(town.resident.user)}).is_connected()


def test_session_cookie_connects_and_own_room_is_joined(app, town, sockets):
    socket = sockets(client_for(app, town.resident.user))
    assert socket.is_connected()
    answer = join(socket, f"user:{town.resident.user.id}")
    assert answer == {"ok": True, "room": f"user:{town.resident.user.id}", "last": 0}


@pytest.mark.parametrize(("who", "room", "error"), [
    ("resident", "leaders:A", "forbidden"),  # a resident joining the leaders' room
    ("resident", "user:neighbor", "not_found"),  # another user's room
    ("leader", "user:resident", "not_found"),  # leaders neither
    ("other_leader", "leaders:A", "not_found"),  # leader of another association
    ("staff", "leaders:A", "not_found"),  # city staff are not members
    ("resident", "leaders:0", "not_found"),
    ("resident", "leaders:99999999999", "not_found"),
    ("resident", "user:abc", "not_found"),
    ("resident", "lobby", "not_found"),
    ("resident", None, "not_found"),
    ("resident", {"nested": "user:1"}, "not_found"),
])
def test_joining_a_room_one_is_not_entitled_to_is_refused(app, town, sockets, who, room, error):
    users = {"resident": town.resident.user, "leader": town.leader.user,
             "other_leader": town.other_leader.user, "staff": town.staff}
    rooms = {"leaders:A": town.leaders_room, "user:neighbor": f"user:{town.neighbor.user.id}",
             "user:resident": f"user:{town.resident.user.id}"}
    socket = sockets(client_for(app, users[who]))
    assert socket.is_connected()
    room = rooms.get(room, room) if isinstance(room, str) else room
    assert join(socket, room) == {"ok": False, "error": error}


def test_a_refused_join_receives_nothing_from_that_room(app, town, sockets):
    """Deny is real: the resident who asked for the leaders' room gets none of its events,
    nor another user's, while the entitled block leader gets them."""
    resident = client_for(app, town.resident.user)
    snoop = sockets(resident)
    assert join(snoop, town.leaders_room)["ok"] is False
    assert join(snoop, f"user:{town.neighbor.user.id}")["ok"] is False
    block_leader = sockets(client_for(app, town.block_leader.user))
    assert join(block_leader, town.leaders_room)["ok"] is True

    neighbor = client_for(app, town.neighbor.user)
    assert fetch_post(neighbor, f"/circulars/{town.circular.id}/read").status_code == 200

    assert live_events(snoop) == []
    assert [e["kind"] for e in live_events(block_leader)] == ["receipts"]


def test_leader_and_block_leader_may_join_the_leaders_room(app, town, sockets):
    for membership in (town.leader, town.block_leader):
        socket = sockets(client_for(app, membership.user))
        assert join(socket, town.leaders_room)["ok"] is True


def test_a_revoked_session_cannot_join(app, factory, town, sockets):
    """The user is re-read at every join: bumping session_version (removal, password
    change) stops an open connection from joining further rooms."""
    from sqlalchemy import update

    from chounaikai.extensions import db
    from chounaikai.models import User

    socket = sockets(client_for(app, town.leader.user))
    with app.app_context():
        db.session.execute(update(User).where(User.id == town.leader.user.id)
                           .values(session_version=User.session_version + 1))
        db.session.commit()
    assert join(socket, town.leaders_room) == {"ok": False, "error": "unauthorized"}


def test_too_many_rooms_on_one_connection_are_refused(app, town, sockets, monkeypatch):
    from chounaikai.live import events

    monkeypatch.setattr(events, "MAX_ROOMS_PER_CONNECTION", 1)
    socket = sockets(client_for(app, town.leader.user))
    assert join(socket, f"user:{town.leader.user.id}")["ok"] is True
    assert join(socket, f"user:{town.leader.user.id}")["ok"] is True  # again: no new room
    assert join(socket, town.leaders_room) == {"ok": False, "error": "too_many_rooms"}


# -- the HTTP catch-up is authorized exactly like a join --------------------------------


def _catch_up(client, room, after="0"):
    return client.get(f"/live/events?room={room}&after={after}",
                      headers={"Accept": "application/json"})


def test_catch_up_refuses_anonymous_with_401(app, client, town):
    response = _catch_up(client, town.leaders_room)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert _catch_up(client, "alerts").status_code == 200  # the public banner room


@pytest.mark.parametrize(("who", "room", "status"), [
    ("resident", "leaders:A", 403),
    ("resident", "user:neighbor", 404),
    ("other_leader", "leaders:A", 404),
    ("staff", "leaders:A", 404),
    ("resident", "nonsense", 404),
    ("resident", "user:own", 200),
    ("block_leader", "leaders:A", 200),
    ("leader", "leaders:A", 200),
])
def test_catch_up_is_authorized_like_a_join(app, town, who, room, status):
    users = {"resident": town.resident.user, "other_leader": town.other_leader.user,
             "staff": town.staff, "block_leader": town.block_leader.user,
             "leader": town.leader.user}
    rooms = {"leaders:A": town.leaders_room, "user:neighbor": f"user:{town.neighbor.user.id}",
             "user:own": f"user:{town.resident.user.id}"}
    response = _catch_up(client_for(app, users[who]), rooms.get(room, room))
    assert response.status_code == status
    if status == 200:
        assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("after", ["-1", "abc", "1.5", "99999999999999999999", "１"])
def test_catch_up_refuses_a_bad_after(app, town, after):
    response = _catch_up(client_for(app, town.resident.user),
                         f"user:{town.resident.user.id}", after)
    assert response.status_code == 400
    assert "after" in response.json["error"]["fields"]

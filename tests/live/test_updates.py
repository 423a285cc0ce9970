"""Live counts arrive: HTTP changes → recorded LiveEvents → announced to the right rooms."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import LiveEvent, utcnow
from tests.helpers import fetch_post, form_post
from tests.live.helpers import join, live_events
from tests.support import client_for, html

COUNTERS = {"households", "households_read", "households_acknowledged", "members",
            "members_read"}


def _status_numbers(page: str) -> dict[str, int]:
    """The totals of a status page, by the counter names live.js updates them with."""
    return {name: int(count) for name, count in
            re.findall(r'data-live-counts="(\w+)/\w+">.*?<strong>(\d+)</strong>', page)}


def _rows(app) -> list[LiveEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(LiveEvent).order_by(LiveEvent.seq)))
        db.session.expunge_all()
        return rows


def test_resident_reading_updates_the_leaders_counters(app, town, sockets):
    """A resident marks read through the HTTP route → the leader's socket gets the new
    counters, which are the numbers the status page shows after a reload."""
    leader = client_for(app, town.leader.user)
    leader_socket = sockets(leader)
    assert join(leader_socket, town.leaders_room)["ok"]
    resident = client_for(app, town.resident.user)

    assert fetch_post(resident, f"/circulars/{town.circular.id}/read").status_code == 200

    [event] = live_events(leader_socket)
    assert event["room"] == town.leaders_room
    assert event["kind"] == "receipts"
    assert event["prev"] == 0
    assert event["seq"] >= 1
    data = event["data"]
    assert data["circular_id"] == town.circular.id
    # leader, block leader, resident in 1班 (3 households); neighbor in 2班.
    assert {k: data[k] for k in COUNTERS} == {
        "households": 4, "households_read": 1, "households_acknowledged": 0,
        "members": 4, "members_read": 1}
    by_block = {b["block_id"]: b for b in data["blocks"]}
    assert by_block[town.block1.id]["households_read"] == 1
    assert by_block[town.block2.id]["households_read"] == 0
    page = html(leader.get(f"/circulars/{town.circular.id}/status"))
    shown = _status_numbers(page)
    assert shown["households_read"] == data["households_read"]
    assert shown["members_read"] == data["members_read"]
    assert shown["households_acknowledged"] == data["households_acknowledged"]

    # Acknowledging moves the acknowledged counter; the second event follows the first.
    assert form_post(resident, f"/circulars/{town.circular.id}/ack").status_code == 302
    [ack] = live_events(leader_socket)
    assert ack["prev"] == event["seq"]
    assert ack["data"]["households_acknowledged"] == 1
    assert ack["data"]["households_read"] == 1


def test_the_reader_gets_their_own_unread_count(app, town, sockets, factory):
    factory.circular(town.association, title="ごみ出しの変更")  # two unread now
    resident = client_for(app, town.resident.user)
    socket = sockets(resident)
    assert join(socket, f"user:{town.resident.user.id}")["ok"]

    assert fetch_post(resident, f"/circulars/{town.circular.id}/read").status_code == 200

    [event] = live_events(socket)
    assert event["kind"] == "receipt"
    assert event["data"] == {"association_id": town.association.id,
                             "circular_id": town.circular.id, "acknowledged": False,
                             "unread": 1}
    inbox = html(resident.get(f"/a/{town.association.id}/circulars"))
    assert 'data-count="1"' in inbox


def test_block_leaders_receive_counts_only(app, town, sockets):
    """The leaders' room carries ids and counts: no names, no household rows."""
    socket = sockets(client_for(app, town.block_leader.user))
    assert join(socket, town.leaders_room)["ok"]
    for member in (town.resident, town.neighbor):
        assert fetch_post(client_for(app, member.user),
                          f"/circulars/{town.circular.id}/read").status_code == 200
    events = live_events(socket)
    assert len(events) == 2
    for event in events:
        assert set(event) == {"seq", "prev", "room", "kind", "data", "at"}
        assert set(event["data"]) == COUNTERS | {"circular_id", "blocks"}
        for block in event["data"]["blocks"]:
            assert set(block) == COUNTERS | {"block_id"}
            assert all(isinstance(v, int) for v in block.values())
        text = json.dumps(event, ensure_ascii=False)
        for secret in ("山田", "佐藤", "高橋", "伊藤", "世帯", town.resident.user.login_id):
            assert secret not in text


def test_paper_receipt_updates_leaders_only(app, town, sockets, factory):
    paper = factory.household(town.association, block=town.block2, name="鈴木家",
                              has_smartphone=False)
    leader = client_for(app, town.leader.user)
    socket = sockets(leader)
    assert join(socket, town.leaders_room)["ok"]
    assert join(socket, f"user:{town.leader.user.id}")["ok"]

    response = form_post(leader, f"/circulars/{town.circular.id}/paper/{paper.id}",
                         {"acknowledge": "1"})
    assert response.status_code == 302

    [event] = live_events(socket)
    assert event["kind"] == "receipts"
    assert event["data"]["households"] == 5
    assert event["data"]["households_read"] == 1
    assert event["data"]["households_acknowledged"] == 1
    assert event["data"]["members_read"] == 0


def test_a_new_circular_reaches_its_audience(app, town, sockets):
    """A leader publishes through the form → each member's own room gets the unread count
    and the circular's id and title; the author's is marked ``own`` (no toast)."""
    resident_socket = sockets(client_for(app, town.resident.user))
    assert join(resident_socket, f"user:{town.resident.user.id}")["ok"]
    neighbor_socket = sockets(client_for(app, town.neighbor.user))
    assert join(neighbor_socket, f"user:{town.neighbor.user.id}")["ok"]
    leader = client_for(app, town.leader.user)
    leader_socket = sockets(leader)
    assert join(leader_socket, f"user:{town.leader.user.id}")["ok"]

    response = form_post(leader, f"/a/{town.association.id}/circulars",
                         {"title": "夏祭りのお知らせ", "body": "7月に行います。",
                          "audience": "blocks", "block_ids": [str(town.block1.id)]})
    assert response.status_code == 302
    circular_id = int(response.headers["Location"].rstrip("/").split("/")[-2])

    [event] = live_events(resident_socket)
    assert event["kind"] == "circular"
    assert event["room"] == f"user:{town.resident.user.id}"
    assert event["data"] == {
        "association_id": town.association.id, "circular_id": circular_id,
        "title": "夏祭りのお知らせ", "url": f"/circulars/{circular_id}", "ack_required": False,
        "unread": 2, "own": False}
    assert live_events(neighbor_socket) == []  # 2班 is not in the audience
    [own] = live_events(leader_socket)
    assert own["data"]["own"] is True
    assert own["data"]["unread"] == 2
    # The unread count is the one the inbox then shows.
    inbox = html(client_for(app, town.resident.user).get(f"/a/{town.association.id}/circulars"))
    assert 'data-count="2"' in inbox


def test_a_scheduled_circular_is_not_announced_early(app, town, sockets):
    socket = sockets(client_for(app, town.resident.user))
    assert join(socket, f"user:{town.resident.user.id}")["ok"]
    leader = client_for(app, town.leader.user)
    later = (utcnow() + timedelta(days=2)).astimezone().strftime("%Y-%m-%dT%H:%M")
    response = form_post(leader, f"/a/{town.association.id}/circulars",
                         {"title": "来月の予定", "body": "予定です。", "audience": "all",
                          "publish_at": later})
    assert response.status_code == 302
    assert live_events(socket) == []
    assert _rows(app) == []


def test_a_refused_change_records_and_announces_nothing(app, town, sockets):
    socket = sockets(client_for(app, town.resident.user))
    assert join(socket, f"user:{town.resident.user.id}")["ok"]
    leader = client_for(app, town.leader.user)
    response = form_post(leader, f"/a/{town.association.id}/circulars",
                         {"title": "", "body": "", "audience": "all"})
    assert response.status_code == 400
    assert live_events(socket) == []
    assert _rows(app) == []


def test_events_are_announced_only_after_commit(app, town, sockets):
    """record() inside a transaction: a rollback leaves no row and no doorbell; a commit
    writes the row and rings (this is also how non-request code announces)."""
    from chounaikai.live.service import Event, record

    socket = sockets(client_for(app, town.resident.user))
    room = f"user:{town.resident.user.id}"
    assert join(socket, room)["ok"]
    with app.app_context():
        record([Event(room, "test", {"n": 1})])
        assert live_events(socket) == []  # not before commit
        db.session.rollback()
    assert live_events(socket) == []
    assert _rows(app) == []
    with app.app_context():
        [envelope] = record([Event(room, "test", {"n": 2})])
        assert live_events(socket) == []
        db.session.commit()
    assert live_events(socket) == [envelope]
    assert [(r.seq, r.room, r.kind, r.payload) for r in _rows(app)] == [
        (envelope["seq"], room, "test", {"n": 2})]


def test_several_events_for_one_room_in_one_transaction_chain_their_prev(app, town):
    from chounaikai.live.service import Event, record

    room = f"user:{town.resident.user.id}"
    with app.app_context():
        first = record([Event(room, "test", {"n": 1}), Event("user:999", "test", {}),
                        Event(room, "test", {"n": 2})])
        db.session.commit()
        [third] = record([Event(room, "test", {"n": 3})])
        db.session.commit()
    assert first[0]["prev"] == 0
    assert first[2]["prev"] == first[0]["seq"]
    assert first[1]["prev"] == 0
    assert third["prev"] == first[2]["seq"]


def test_pages_carry_each_rooms_last_seq(app, town):
    """Pages name their rooms and where catch-up starts; visitors' pages only "alerts"."""
    resident = client_for(app, town.resident.user)
    assert fetch_post(resident, f"/circulars/{town.circular.id}/read").status_code == 200
    seqs = {r.room: r.seq for r in _rows(app)}
    own = f"user:{town.resident.user.id}"

    inbox = html(resident.get(f"/a/{town.association.id}/circulars"))
    rooms = json.loads(re.search(r"data-live-rooms='([^']*)'", inbox).group(1))
    assert rooms == {own: seqs[own], "alerts": 0}
    assert "js/live.js" in inbox
    assert 'id="live-toasts"' in inbox
    assert 'aria-live="polite"' in inbox

    status = html(client_for(app, town.block_leader.user)
                  .get(f"/circulars/{town.circular.id}/status"))
    rooms = json.loads(re.search(r"data-live-rooms='([^']*)'", status).group(1))
    assert rooms == {f"user:{town.block_leader.user.id}": 0,
                     town.leaders_room: seqs[town.leaders_room], "alerts": 0}
    assert f'data-live-block="{town.block1.id}"' in status

    welcome = html(app.test_client().get("/"))
    rooms = json.loads(re.search(r"data-live-rooms='([^']*)'", welcome).group(1))
    assert rooms == {"alerts": 0}
    assert "live.js" in welcome

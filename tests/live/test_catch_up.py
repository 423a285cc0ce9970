"""Socket.IO is the doorbell, not the record: what a client missed is fetched by seq."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from chounaikai.extensions import db
from chounaikai.live.service import prune
from chounaikai.models import LiveEvent, utcnow
from tests.helpers import fetch_post
from tests.live.helpers import join, live_events
from tests.support import client_for

MISSED = 50


def _all_after(client, room: str, after: int, limit: int | None = None) -> tuple[list, int]:
    """Follow the pages like the page script does; returns (events, requests made)."""
    events, calls = [], 0
    while True:
        url = f"/live/events?room={room}&after={after}" + (f"&limit={limit}" if limit else "")
        body = client.get(url, headers={"Accept": "application/json"}).json
        calls += 1
        assert body["room"] == room
        assert body["stale"] is False
        events += body["events"]
        after = body["last"]
        if not body["has_more"]:
            return events, calls


def test_a_client_offline_during_50_events_gets_all_of_them_in_order(app, town, factory,
                                                                     sockets):
    circulars = [factory.circular(town.association, title=f"回覧{i}") for i in range(MISSED)]
    leader = client_for(app, town.leader.user)
    resident = client_for(app, town.resident.user)
    socket = sockets(leader)
    assert join(socket, town.leaders_room)["ok"]
    assert fetch_post(resident, f"/circulars/{town.circular.id}/read").status_code == 200
    [seen] = live_events(socket)
    last_seq = seen["seq"]
    socket.disconnect()  # the phone goes into a tunnel

    for circular in circulars:
        assert fetch_post(resident, f"/circulars/{circular.id}/read").status_code == 200

    back = sockets(leader)  # reconnect: join again, then ask for everything after last_seq
    assert join(back, town.leaders_room)["ok"]
    events, calls = _all_after(leader, town.leaders_room, last_seq)
    assert calls == 1  # 50 fit in one page of 100
    assert len(events) == MISSED
    assert [e["data"]["circular_id"] for e in events] == [c.id for c in circulars]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == MISSED
    assert seqs[0] > last_seq
    assert all(e["kind"] == "receipts" and e["data"]["members_read"] == 1 for e in events)

    # Small pages give the same 50 in the same order.
    paged, calls = _all_after(leader, town.leaders_room, last_seq, limit=20)
    assert calls == 3
    assert paged == events
    # And after the last one there is nothing more.
    assert _all_after(leader, town.leaders_room, seqs[-1])[0] == []


def test_the_resident_catches_up_on_missed_circulars(app, town, sockets):
    """New circulars published while the resident was away come back with their unread
    counts, the newest count last (what the page shows after applying them in order)."""
    from tests.helpers import form_post

    resident = client_for(app, town.resident.user)
    own = f"user:{town.resident.user.id}"
    leader = client_for(app, town.leader.user)
    for i in range(5):
        response = form_post(leader, f"/a/{town.association.id}/circulars",
                             {"title": f"お知らせ{i}", "body": "本文", "audience": "all"})
        assert response.status_code == 302
    events, _calls = _all_after(resident, own, 0)
    assert [e["data"]["title"] for e in events] == [f"お知らせ{i}" for i in range(5)]
    assert [e["data"]["unread"] for e in events] == [2, 3, 4, 5, 6]


def test_page_size_is_bounded(app, town):
    resident = client_for(app, town.resident.user)
    response = resident.get(f"/live/events?room=user:{town.resident.user.id}&limit=501",
                            headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json["error"]["fields"]["limit"]
    ok = resident.get(f"/live/events?room=user:{town.resident.user.id}&limit=500")
    assert ok.status_code == 200


def test_prune_deletes_old_events_but_keeps_the_newest(app, town):
    from chounaikai.live.service import Event, record

    room = f"user:{town.resident.user.id}"
    with app.app_context():
        record([Event(room, "old", {}) for _ in range(3)])
        db.session.commit()
        # Everything is "old" seen from 8 days ahead; the newest row survives.
        deleted = prune(older_than=timedelta(days=7), now=utcnow() + timedelta(days=8))
        db.session.commit()
        assert deleted == 2
        kept = db.session.scalars(select(LiveEvent.kind)).all()
        assert kept == ["old"]
        newest = db.session.scalar(select(func.max(LiveEvent.seq)))
        [fresh] = record([Event(room, "new", {})])
        db.session.commit()
        assert fresh["seq"] > newest  # never a seq a client has already seen
        assert prune() == 0


def test_a_client_older_than_the_retention_is_told_to_reload(app, town):
    from chounaikai.live.service import Event, record

    room = f"user:{town.resident.user.id}"
    with app.app_context():
        first = record([Event(room, "old", {})])[0]["seq"]
        record([Event(room, "old", {}), Event(room, "old", {})])
        db.session.commit()
        prune(now=utcnow() + timedelta(days=8))
        db.session.commit()
    resident = client_for(app, town.resident.user)
    body = resident.get(f"/live/events?room={room}&after={first}").json
    assert body["stale"] is True
    body = resident.get(f"/live/events?room={room}&after=0").json
    assert body["stale"] is False


def test_prune_command(app, town):
    from chounaikai.live.service import Event, record

    with app.app_context():
        record([Event(f"user:{town.resident.user.id}", "x", {})])
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["live", "prune", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "deleted 0 live events" in result.output

"""The leaders' counters counted once per tick, not per read (chounaikai/live/counters.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.live import counters
from chounaikai.models import LiveCountsDue, LiveEvent
from tests.helpers import fetch_post
from tests.support import client_for, count


@pytest.fixture(autouse=True)
def _per_tick(app, monkeypatch):
    monkeypatch.setitem(app.config, "LIVE_COUNTS_SECONDS", 1.0)


def _leader_events(app, town) -> list[dict]:
    with app.app_context():
        return [e.payload for e in db.session.scalars(
            select(LiveEvent).where(LiveEvent.room == town.leaders_room)
            .order_by(LiveEvent.seq))]


def _announce(app) -> int:
    with app.test_request_context("/"):
        announced = counters.announce_due()
        db.session.commit()
    return announced


def test_many_reads_are_counted_once_each_tick(app, town, factory):
    readers = [town.resident, town.neighbor, town.block_leader]
    for member in readers:
        response = fetch_post(client_for(app, member.user), f"/circulars/{town.circular.id}/read")
        assert response.status_code == 200
    # Each reader got their own unread count at once; the leaders nothing yet.
    assert _leader_events(app, town) == []
    assert count(app, LiveEvent, LiveEvent.room.like("user:%")) == 3
    assert count(app, LiveCountsDue) == 3  # one mark per read

    assert _announce(app) == 1
    [event] = _leader_events(app, town)
    assert (event["circular_id"], event["members_read"], event["households_read"]) == (
        town.circular.id, 3, 3)
    assert count(app, LiveCountsDue) == 0
    assert _announce(app) == 0  # nothing due: nothing announced again
    assert len(_leader_events(app, town)) == 1


def test_a_rolled_back_read_leaves_nothing_due(app, town):
    from chounaikai.circulars import services
    from chounaikai.models import User

    with app.test_request_context("/", method="POST"):
        services.mark_read(user=db.session.get(User, town.resident.user.id),
                           circular_id=town.circular.id)
        db.session.rollback()
    assert count(app, LiveCountsDue) == 0


def test_the_counter_thread_is_not_started_under_testing(app):
    assert counters.start_thread(app) is None


def test_a_read_still_uncommitted_during_a_recount_is_counted_at_the_next_tick(app, town):
    """On PostgreSQL a process's recount can run while another's read is uncommitted.

    The recount cannot see that read, so the read's mark that its circular is due must
    outlive the recount, or the leaders' counter stays one short for good.
    """
    from chounaikai.circulars import services
    from chounaikai.models import User

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer: a read cannot be in flight during a recount")
    first = fetch_post(client_for(app, town.resident.user), f"/circulars/{town.circular.id}/read")
    assert first.status_code == 200  # committed, its circular marked due, not yet counted

    with app.test_request_context("/", method="POST"):
        services.mark_read(user=db.session.get(User, town.neighbor.user.id),
                           circular_id=town.circular.id)
        db.session.flush()
        with app.app_context():  # another session: a counter thread's tick meanwhile
            assert counters.announce_due() == 1
            db.session.commit()
        db.session.commit()
    assert [e["members_read"] for e in _leader_events(app, town)] == [1]

    assert _announce(app) == 1
    assert [e["members_read"] for e in _leader_events(app, town)] == [1, 2]
    assert count(app, LiveCountsDue) == 0


def test_a_recount_of_a_circular_for_some_blocks_counts_those_blocks_only(app, town, factory):
    """The recount loads the audience in one statement (counts.Audience.load): the same
    as the circular's own (Audience.of), for everyone and for chosen blocks."""
    from chounaikai.live.counts import Audience
    from chounaikai.models import Circular

    both = factory.circular(town.association, title="1班と2班へ", blocks=[town.block2, town.block1])
    one = factory.circular(town.association, title="2班だけへ", blocks=[town.block2])
    with app.app_context():
        for circular_id in (town.circular.id, both.id, one.id):
            assert Audience.load(circular_id) == Audience.of(db.session.get(Circular, circular_id))
        assert Audience.load(one.id).block_ids == (town.block2.id,)
        assert Audience.load(town.circular.id).block_ids is None
        assert Audience.load(10**9) is None

    # 1班's resident is not in its audience; 2班's neighbour is.
    for member, status in ((town.resident, 404), (town.neighbor, 200)):
        response = fetch_post(client_for(app, member.user), f"/circulars/{one.id}/read")
        assert response.status_code == status
    assert _announce(app) == 1
    [event] = _leader_events(app, town)
    assert event["circular_id"] == one.id
    assert [b["block_id"] for b in event["blocks"]] == [town.block2.id]
    assert (event["members"], event["members_read"]) == (1, 1)  # the 2班 neighbour only


def test_stop_thread_ends_a_running_counter_thread(app, monkeypatch):
    """Scripts stop it before they drop their database (bench/profile_read_path.py)."""
    monkeypatch.setitem(app.config, "LIVE_COUNTS_SECONDS", 0.05)
    thread = counters.CounterThread(app)
    monkeypatch.setitem(app.extensions, counters._THREAD_KEY, {"lock": None, "thread": thread})
    thread.start()
    assert thread.is_alive()
    counters.stop_thread(app)
    assert not thread.is_alive()
    counters.stop_thread(app)  # again: nothing to stop, no error

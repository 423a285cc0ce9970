"""Fan-out: who gets a delivery, when, and that doing it twice adds nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from chounaikai.extensions import db
from chounaikai.models import (
    Circular,
    DeliveryStatus,
    MemberRole,
    Notification,
    Priority,
    PushDelivery,
)
from chounaikai.push import claims, fanout
from tests.push.conftest import add_devices
from tests.push.helpers import at_tokyo, deliveries, publish, set_user

# A day after "now": circulars published by the tests (at real time) are due by then.
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def town(app, factory, fake_push):
    """An association with two blocks, a leader, residents and an outsider, all with devices."""
    association = factory.association()
    block1, block2 = association.blocks
    people = {
        "leader": factory.member(association, role=MemberRole.LEADER, block=block1),
        "b1": factory.member(association, block=block1),
        "b1_two_devices": factory.member(association, block=block1),
        "b2": factory.member(association, block=block2),
        "digest": factory.member(association, block=block1),
        "outsider": factory.member(factory.association()),
    }
    set_user(app, people["digest"].user_id, daily_digest=True)
    devices = {name: add_devices(app, fake_push, [m.user_id]) for name, m in people.items()}
    devices["b1_two_devices"] += add_devices(app, fake_push, [people["b1_two_devices"].user_id])
    ids = {name: [d.id for d in devs] for name, devs in devices.items()}
    return association, people, ids


def _subscriptions(app, notification_id):
    return sorted(row.subscription_id for row in deliveries(
        app, PushDelivery.notification_id == notification_id))


def _notification_for(app, circular_id):
    with app.app_context():
        return db.session.scalar(select(Notification.id).where(
            Notification.audience["circular_id"].as_integer() == circular_id))


def test_circular_reaches_each_device_of_its_audience_only(app, town):
    association, people, ids = town
    circular_id = publish(app, people["leader"].user_id, association.id,
                          audience_all=False, block_ids=(association.blocks[0].id,))
    note = _notification_for(app, circular_id)

    with app.app_context():
        result = fanout.fan_out_due(db.engine, DAY + timedelta(days=400))

    # Block 1 only; both devices of the two-device member; not the author (the leader),
    # not the member who chose the daily digest, not block 2, not another association.
    assert _subscriptions(app, note) == sorted(ids["b1"] + ids["b1_two_devices"])
    assert result.notifications == 1
    assert result.deliveries == 3


def test_fan_out_twice_or_concurrently_inserts_nothing_twice(app, town):
    association, people, ids = town
    note = _notification_for(app, publish(app, people["leader"].user_id, association.id))
    now = DAY + timedelta(days=400)
    with app.app_context():
        fanout.fan_out(db.engine, note, now, chunk=2)
        first = _subscriptions(app, note)
        # As if a second worker had started before the first marked it done:
        db.session.execute(update(Notification).values(fanned_out_at=None))
        db.session.commit()
        assert fanout.fan_out(db.engine, note, now, chunk=1) == len(first)
    assert _subscriptions(app, note) == first
    assert sorted(first) == sorted(ids["b1"] + ids["b1_two_devices"] + ids["b2"])


def test_a_fan_out_in_progress_elsewhere_is_left_alone(app, town):
    association, people, _ids = town
    note = _notification_for(app, publish(app, people["leader"].user_id, association.id))
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has a single writer: no second fan-out can run meanwhile")
        with db.engine.connect() as other:  # another worker holds this notification's lock
            other.execute(text("SELECT pg_advisory_lock(:k, :n)"),
                          {"k": fanout._LOCK_KEY, "n": note})
            assert fanout.fan_out(db.engine, note, DAY) is None
            other.execute(text("SELECT pg_advisory_unlock(:k, :n)"),
                          {"k": fanout._LOCK_KEY, "n": note})
            other.commit()
        assert fanout.fan_out(db.engine, note, DAY) == 4


def test_scheduled_circular_is_not_fanned_out_before_publish_at(app, town):
    association, people, ids = town
    publish_at = datetime.now(UTC) + timedelta(hours=5)
    note = _notification_for(app, publish(app, people["leader"].user_id, association.id,
                                          publish_at=publish_at))
    with app.app_context():
        early = fanout.fan_out_due(db.engine, publish_at - timedelta(seconds=1))
        assert early.waiting == 1
        assert early.deliveries == 0
        with db.engine.connect() as conn:
            assert fanout.next_publish_at(conn) == publish_at
        assert fanout.fan_out_due(db.engine, publish_at).notifications == 1
    assert len(_subscriptions(app, note)) == 4


def test_scheduled_circular_is_announced_live_when_it_goes_out(app, town):
    from chounaikai.live.rooms import user_room
    from chounaikai.models import LiveEvent

    association, people, _ids = town
    publish_at = datetime.now(UTC) + timedelta(seconds=1)
    circular_id = publish(app, people["leader"].user_id, association.id, publish_at=publish_at)
    with app.app_context():
        # Not announced at publish time: it was scheduled.
        assert not db.session.scalar(select(func.count()).select_from(LiveEvent))
    time.sleep(max((publish_at - datetime.now(UTC)).total_seconds(), 0) + 0.05)
    with app.app_context():
        fanout.fan_out_due(db.engine, datetime.now(UTC))
    with app.app_context():
        rooms = set(db.session.scalars(select(LiveEvent.room).where(LiveEvent.kind == "circular")))
    assert user_room(people["b2"].user_id) in rooms
    assert circular_id


def test_quiet_hours_delay_circulars_until_they_end(app, town):
    association, people, ids = town
    set_user(app, people["b1"].user_id, quiet_start_minute=22 * 60, quiet_end_minute=7 * 60)
    set_user(app, people["b2"].user_id, quiet_start_minute=13 * 60, quiet_end_minute=14 * 60)
    note = _notification_for(app, publish(app, people["leader"].user_id, association.id))
    now = at_tokyo(DAY, 23, 30)

    with app.app_context():
        fanout.fan_out_due(db.engine, now)
    rows = {row.subscription_id: row for row in deliveries(
        app, PushDelivery.notification_id == note)}

    quiet = rows[ids["b1"][0]]
    assert quiet.not_before == at_tokyo(DAY + timedelta(days=1), 7, 0)
    assert quiet.expires_at == quiet.not_before + timedelta(days=3)
    assert rows[ids["b2"][0]].not_before == now  # quiet hours not now
    assert rows[ids["b1_two_devices"][0]].not_before == now  # no quiet hours


@pytest.mark.parametrize(("start", "end", "minute", "inside"), [
    (22 * 60, 7 * 60, 23 * 60, True), (22 * 60, 7 * 60, 6 * 60 + 59, True),
    (22 * 60, 7 * 60, 7 * 60, False), (13 * 60, 14 * 60, 13 * 60, True),
    (13 * 60, 14 * 60, 14 * 60, False), (None, 60, 30, False), (60, 60, 60, False),
])
def test_quiet_hours_rule(start, end, minute, inside):
    assert fanout.in_quiet_hours(start, end, minute) is inside


def test_emergency_bypasses_quiet_hours_and_digest(app, town):
    association, people, ids = town
    set_user(app, people["b1"].user_id, quiet_start_minute=22 * 60, quiet_end_minute=7 * 60)
    now = at_tokyo(DAY, 23, 30)
    with app.app_context():
        db.session.add(Notification(kind="alert", priority=Priority.EMERGENCY,
                                    association_id=association.id, payload={"title": "避難指示"},
                                    topic="alert-1", ttl_seconds=3600))
        db.session.commit()
        fanout.fan_out_due(db.engine, now)
    rows = deliveries(app)
    members = {"leader", "b1", "b1_two_devices", "b2", "digest"}
    assert sorted(r.subscription_id for r in rows) == sorted(
        sid for name in members for sid in ids[name])
    assert {r.not_before for r in rows} == {now}
    assert {r.priority for r in rows} == {Priority.EMERGENCY}
    assert {r.expires_at for r in rows} == {now + timedelta(hours=1)}


def test_audiences_by_user_block_and_everyone(app, town):
    association, people, ids = town
    with app.app_context():
        notes = [Notification(kind="alert", audience={"user_ids": [people["b2"].user_id]},
                              topic="a"),
                 Notification(kind="alert", association_id=association.id,
                              audience={"block_ids": [association.blocks[1].id]}, topic="b"),
                 Notification(kind="alert", audience={"all": True}, topic="c"),
                 Notification(kind="alert", audience={}, topic="d")]  # nobody
        db.session.add_all(notes)
        db.session.flush()
        note_ids = [n.id for n in notes]
        db.session.commit()  # (read ids first: a read after commit would begin anew)
        fanout.fan_out_due(db.engine, DAY)
        assert db.session.scalar(select(func.count()).where(
            Notification.fanned_out_at.is_(None))) == 0
    assert _subscriptions(app, note_ids[0]) == ids["b2"]
    assert _subscriptions(app, note_ids[1]) == ids["b2"]
    assert len(_subscriptions(app, note_ids[2])) == sum(len(v) for v in ids.values())
    assert _subscriptions(app, note_ids[3]) == []


def test_expired_subscriptions_are_not_targeted(app, factory, fake_push):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    member = factory.member(association)
    add_devices(app, fake_push, [member.user_id], expiration_time=DAY - timedelta(days=1))
    live = add_devices(app, fake_push, [member.user_id])
    note = _notification_for(app, publish(app, leader.user_id, association.id))
    with app.app_context():
        fanout.fan_out_due(db.engine, DAY)
    assert _subscriptions(app, note) == [live[0].id]


def test_corrected_audience_before_publish_is_what_fans_out(app, town):
    association, people, ids = town
    publish_at = datetime.now(UTC) + timedelta(hours=1)
    circular_id = publish(app, people["leader"].user_id, association.id, publish_at=publish_at)
    note = _notification_for(app, circular_id)
    with app.app_context():  # the leader narrows it to block 2 before it goes out
        circular = db.session.get(Circular, circular_id)
        circular.audience_all = False
        circular.blocks = [association.blocks[1]]
        db.session.commit()
        fanout.fan_out_due(db.engine, publish_at + timedelta(seconds=1))
    assert _subscriptions(app, note) == ids["b2"]


def test_emergencies_are_claimed_before_older_normal_deliveries(app, town):
    association, people, _ids = town
    publish(app, people["leader"].user_id, association.id)
    with app.app_context():
        fanout.fan_out_due(db.engine, DAY)
        db.session.add(Notification(kind="alert", priority=Priority.EMERGENCY,
                                    audience={"user_ids": [people["b2"].user_id]}, topic="e"))
        db.session.commit()
        fanout.fan_out_due(db.engine, DAY + timedelta(minutes=5))
        with db.engine.begin() as conn:
            first = claims.claim(conn, DAY + timedelta(minutes=10), 1, 60)
        assert [job.priority for job in first] == [Priority.EMERGENCY]
        with db.engine.begin() as conn:  # leased rows are not claimed again
            rest = claims.claim(conn, DAY + timedelta(minutes=10), 100, 60)
        assert len(rest) == 4
        assert first[0].id not in {job.id for job in rest}
        with db.engine.begin() as conn:  # ... until the lease runs out (a crashed sender)
            again = claims.claim(conn, DAY + timedelta(minutes=12), 100, 60)
        assert len(again) == 5
    assert {r.status for r in deliveries(app)} == {DeliveryStatus.PENDING}

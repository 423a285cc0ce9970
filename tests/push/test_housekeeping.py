"""The daily digest and the pruning of stale subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import (
    Circular,
    DeliveryStatus,
    MemberRole,
    Notification,
    PushDelivery,
    PushSubscription,
)
from chounaikai.push import workers
from chounaikai.push.digest import run_digest, topic_for
from chounaikai.push.prune import prune_stale
from tests.push.conftest import add_devices
from tests.push.helpers import at_tokyo, deliveries, publish, set_user

TODAY = datetime.now(UTC) + timedelta(days=3)  # comfortably after the real publish times


@pytest.fixture
def digest_town(app, factory, fake_push):
    association = factory.association()
    block1, block2 = association.blocks
    leader = factory.member(association, role=MemberRole.LEADER)
    digest = factory.member(association, block=block1)
    digest_b2 = factory.member(association, block=block2)
    regular = factory.member(association, block=block1)
    for member in (digest, digest_b2):
        set_user(app, member.user_id, daily_digest=True)
    devices = {name: add_devices(app, fake_push, [m.user_id])[0] for name, m in
               (("digest", digest), ("digest_b2", digest_b2), ("regular", regular))}
    return association, leader, devices


def _backdate(app, circular_id, when):
    with app.app_context():
        db.session.get(Circular, circular_id).publish_at = when
        db.session.commit()


def test_digest_members_get_one_morning_summary_instead(app, digest_town, fake_push):
    association, leader, devices = digest_town
    morning = at_tokyo(TODAY, 7, 0)
    ids = [publish(app, leader.user_id, association.id, title=f"回覧{i}") for i in range(3)]
    block1_only = publish(app, leader.user_id, association.id, title="1班だけ",
                          audience_all=False, block_ids=(association.blocks[0].id,))
    _backdate(app, ids[0], morning - timedelta(hours=20))
    _backdate(app, ids[1], morning - timedelta(hours=2))
    _backdate(app, ids[2], morning - timedelta(hours=30))  # before yesterday's digest
    _backdate(app, block1_only, morning - timedelta(hours=5))

    with app.app_context():
        workers.run_cycle(app, now=morning - timedelta(hours=1))  # circulars go out
        assert not fake_push.received_by(devices["digest"].token)  # no per-circular push
        assert len(fake_push.received_by(devices["regular"].token)) == 4
        workers.run_cycle(app, now=morning + timedelta(seconds=30))
        workers.run_cycle(app, now=morning + timedelta(minutes=5))  # nothing twice

    [got] = fake_push.received_by(devices["digest"].token)
    assert got.payload["kind"] == "digest"
    assert got.payload["count"] == 3
    assert got.payload["title"] == "回覧のまとめ"
    assert got.payload["body"] == "新しい回覧が3件あります"
    assert got.payload["tag"] == got.headers["Topic"]
    assert got.payload["tag"] == topic_for(morning)
    [other] = fake_push.received_by(devices["digest_b2"].token)
    assert other.payload["count"] == 2  # block 1's circular did not reach block 2
    assert len(fake_push.received_by(devices["regular"].token)) == 4  # no digest for them


def test_digest_waits_for_its_hour_and_runs_once(app, digest_town):
    association, leader, devices = digest_town
    morning = at_tokyo(TODAY, 7, 0)
    _backdate(app, publish(app, leader.user_id, association.id), morning - timedelta(hours=1))
    assert run_digest(app, morning - timedelta(minutes=1)) == 0
    assert run_digest(app, morning) == 2
    assert run_digest(app, morning + timedelta(hours=3)) == 0
    with app.app_context():
        topics = set(db.session.scalars(select(Notification.topic).where(
            Notification.kind == "digest")))
    assert len(topics) == 1


def test_quiet_day_still_marks_the_digest_done(app, digest_town):
    morning = at_tokyo(TODAY, 7, 0)
    assert run_digest(app, morning) == 0
    with app.app_context():
        [marker] = db.session.scalars(select(Notification).where(Notification.kind == "digest"))
        assert marker.fanned_out_at is not None
        assert marker.audience == {"user_ids": []}
    assert run_digest(app, morning + timedelta(minutes=1)) == 0


def test_stale_and_expired_subscriptions_are_pruned(app, factory, fake_push):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    member = factory.member(association)
    now = datetime.now(UTC)
    old = now - timedelta(days=100)
    [fresh] = add_devices(app, fake_push, [member.user_id], last_success_at=now - timedelta(days=3))
    [new] = add_devices(app, fake_push, [member.user_id])  # created now, no push yet
    [stale] = add_devices(app, fake_push, [member.user_id], last_success_at=old, created_at=old)
    [unused] = add_devices(app, fake_push, [member.user_id], created_at=old)
    [expired] = add_devices(app, fake_push, [member.user_id],
                            expiration_time=now - timedelta(minutes=1))
    set_user(app, member.user_id, quiet_start_minute=0, quiet_end_minute=1439)
    publish(app, leader.user_id, association.id)
    with app.app_context():
        from chounaikai.push import fanout

        fanout.fan_out_due(db.engine, now + timedelta(minutes=1))  # pending: quiet hours

    assert prune_stale(app, now) == 3
    with app.app_context():
        left = set(db.session.scalars(select(PushSubscription.id)))
    assert left == {fresh.id, new.id}
    statuses = {r.status for r in deliveries(app, PushDelivery.subscription_id.is_(None))}
    assert statuses == {DeliveryStatus.GONE}

    assert prune_stale(app, now, stale_days=1) == 1  # the command's --days override
    result = app.test_cli_runner().invoke(args=["push", "prune", "--days", "1"])
    assert result.exit_code == 0
    assert "pruned: 0" in result.output

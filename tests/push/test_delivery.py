"""End to end: a leader publishes, devices receive it through the fake push service."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import (
    Circular,
    DeliveryStatus,
    Household,
    MemberRole,
    Notification,
    Priority,
    PushDelivery,
    PushSubscription,
    User,
)
from chounaikai.push import payload as payload_module
from chounaikai.push import workers
from tests.push.conftest import add_devices
from tests.push.helpers import at_tokyo, deliveries, publish, set_user

# Tomorrow (Tokyo): every hour of that day is after "now", whatever time the suite runs;
# at_tokyo(SOON, 12) on today's date would lie in the past after noon in Tokyo.
SOON = datetime.now(UTC) + timedelta(days=1)


@pytest.fixture
def town(app, factory, fake_push):
    association = factory.association()
    block1, block2 = association.blocks
    leader = factory.member(association, role=MemberRole.LEADER, block=block1)
    members = {
        "b1": factory.member(association, block=block1),
        "b1_quiet": factory.member(association, block=block1),
        "b2": factory.member(association, block=block2),
        "outsider": factory.member(factory.association()),
    }
    set_user(app, members["b1_quiet"].user_id, quiet_start_minute=22 * 60,
             quiet_end_minute=7 * 60)
    devices = {name: add_devices(app, fake_push, [m.user_id]) for name, m in members.items()}
    # A second device on the other push service (origin) for the block 1 member.
    devices["b1"] += add_devices(app, fake_push, [members["b1"].user_id], origin=1)
    return association, leader, members, devices


def test_published_circular_reaches_its_audience_with_correct_headers(app, town, fake_push):
    association, leader, members, devices = town
    circular_id = publish(app, leader.user_id, association.id, title="ごみ集積所の清掃",
                          audience_all=False, block_ids=(association.blocks[0].id,))

    with app.app_context():
        stats = workers.run_cycle(app, now=at_tokyo(SOON, 12))

    assert stats["sent"] == 3
    for device in devices["b1"] + devices["b1_quiet"]:
        [got] = fake_push.received_by(device.token)
        assert got.payload == {
            "v": 1, "kind": "circular", "notification_id": got.payload["notification_id"],
            "circular_id": circular_id, "title": "新しい回覧があります",
            "body": "ごみ集積所の清掃", "url": f"/circulars/{circular_id}",
            "tag": f"circular-{circular_id}", "urgent": False, "lang": "ja"}
        assert got.headers["Topic"] == got.payload["tag"]
        assert got.headers["Urgency"] == "normal"
        assert 0 < int(got.headers["TTL"]) <= 3 * 86400
        assert got.headers["Content-Encoding"] == "aes128gcm"
    for name in ("b2", "outsider"):  # outside the audience: nothing at all
        assert not fake_push.received_by(devices[name][0].token)
    # One signed JWT per push-service origin, reused for every message to it.
    assert len({r.headers["Authorization"] for r in fake_push.received}) == 2
    sent = deliveries(app)
    assert {row.status for row in sent} == {DeliveryStatus.SENT}
    assert {row.last_status for row in sent} == {201}


def test_payload_carries_no_names_or_addresses(app, town, fake_push):
    association, leader, members, devices = town
    publish(app, leader.user_id, association.id)
    with app.app_context():
        workers.run_cycle(app, now=at_tokyo(SOON, 12))
        names = list(db.session.scalars(select(Household.name)))
        names += list(db.session.scalars(select(User.display_name)))
        names += list(db.session.scalars(select(User.login_id)))
    raw = json.dumps([r.payload for r in fake_push.received], ensure_ascii=False)
    assert fake_push.received
    assert len(raw) / len(fake_push.received) < 3072
    for forbidden in [*names, association.district, association.name]:
        assert forbidden not in raw


def test_member_in_quiet_hours_receives_it_when_they_end(app, town, fake_push):
    association, leader, members, devices = town
    publish(app, leader.user_id, association.id)
    night = at_tokyo(SOON, 23, 30)
    quiet = devices["b1_quiet"][0].token

    with app.app_context():
        workers.run_cycle(app, now=night)
        assert fake_push.received_by(devices["b2"][0].token)  # others at once
        assert not fake_push.received_by(quiet)
        workers.run_cycle(app, now=night + timedelta(hours=7))  # 06:30: still quiet
        assert not fake_push.received_by(quiet)
        morning = at_tokyo(night + timedelta(days=1), 7, 0)
        workers.run_cycle(app, now=morning)
    [got] = fake_push.received_by(quiet)
    assert got.payload["kind"] == "circular"
    assert len(fake_push.received) == 4  # b1 x2, b1_quiet, b2, and no one twice


def test_emergency_is_urgent_and_ignores_quiet_hours(app, town, fake_push):
    association, leader, members, devices = town
    with app.app_context():
        db.session.add(Notification(kind="alert", priority=Priority.EMERGENCY,
                                    association_id=association.id,
                                    payload={"title": "避難指示が出ました", "url": "/disaster"},
                                    topic="alert-7", ttl_seconds=3600))
        db.session.commit()
        workers.run_cycle(app, now=at_tokyo(SOON, 23, 30))
    [got] = fake_push.received_by(devices["b1_quiet"][0].token)
    assert got.headers["Urgency"] == "high"
    assert got.headers["Topic"] == got.payload["tag"] == "alert-7"
    assert got.payload["title"] == "緊急のお知らせ"
    assert got.payload["body"] == "避難指示が出ました"
    assert got.payload["urgent"] is True
    assert int(got.headers["TTL"]) <= 3600


def test_title_is_localized_per_recipient(app, town, fake_push, monkeypatch):
    association, leader, members, devices = town
    set_user(app, members["b2"].user_id, locale="en")
    used = []
    real = payload_module.force_language

    def recording(locale):
        used.append(locale)
        return real(locale)

    monkeypatch.setattr(payload_module, "force_language", recording)
    publish(app, leader.user_id, association.id)
    with app.app_context():
        workers.run_cycle(app, now=at_tokyo(SOON, 12))
    assert sorted(set(used)) == ["en", "ja"]  # built once per (notification, locale)
    assert len(used) == 2


def test_corrected_title_is_what_is_pushed(app, town, fake_push):
    association, leader, members, devices = town
    publish_at = datetime.now(UTC) + timedelta(hours=2)
    circular_id = publish(app, leader.user_id, association.id, title="旧い題",
                          publish_at=publish_at)
    with app.app_context():
        circular = db.session.get(Circular, circular_id)
        circular.title = "新しい題"
        db.session.commit()
        workers.run_cycle(app, now=publish_at - timedelta(minutes=1))
        assert not fake_push.received
        workers.run_cycle(app, now=at_tokyo(publish_at + timedelta(days=1), 12))
    assert {r.payload["body"] for r in fake_push.received} == {"新しい題"}


def test_worker_once_command_sends_what_is_due(app, town, fake_push):
    association, leader, members, devices = town
    publish(app, leader.user_id, association.id)
    result = app.test_cli_runner().invoke(args=["push", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent=" in result.output
    # Quiet hours depend on the real clock here; everyone else has it.
    assert fake_push.received_by(devices["b2"][0].token)
    status = app.test_cli_runner().invoke(args=["push", "status"])
    assert status.exit_code == 0, status.output
    assert "deliveries: pending=" in status.output


def test_deleted_subscription_settles_its_pending_delivery(app, town, fake_push):
    association, leader, members, devices = town
    publish(app, leader.user_id, association.id)
    with app.app_context():
        workers.run_cycle(app, now=at_tokyo(SOON, 23, 30))  # b1_quiet waits
        db.session.delete(db.session.get(PushSubscription, devices["b1_quiet"][0].id))
        db.session.commit()  # the member unsubscribed meanwhile
        workers.run_cycle(app, now=at_tokyo(SOON + timedelta(days=1), 8))
        left = db.session.scalars(select(PushDelivery.status).where(
            PushDelivery.subscription_id.is_(None))).all()
    assert left == [DeliveryStatus.GONE]


def test_emergency_published_during_a_broadcast_overtakes_it(app, factory, fake_push,
                                                            monkeypatch):
    from chounaikai.push import sender as sender_module
    from tests.push.helpers import bulk_members

    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    residents = bulk_members(factory._engine, association, 60)
    add_devices(app, fake_push, residents)
    [urgent] = add_devices(app, fake_push, [leader.user_id])
    monkeypatch.setitem(app.config, "PUSH_BATCH_SIZE", 5)
    monkeypatch.setitem(app.config, "PUSH_CONCURRENCY", 5)
    monkeypatch.setattr(sender_module, "FANOUT_EVERY", 0)
    publish(app, leader.user_id, association.id)  # 60 normal deliveries, 12 batches
    real = sender_module.Sender._send_batch
    calls = []

    async def send_batch(self, jobs):
        calls.append(len(jobs))
        if len(calls) == 2:  # the broadcast is under way: an alert comes in
            with app.app_context():
                db.session.add(Notification(kind="alert", priority=Priority.EMERGENCY,
                                            audience={"user_ids": [leader.user_id]},
                                            payload={"title": "地震"}, topic="quake"))
                db.session.commit()
        return await real(self, jobs)

    monkeypatch.setattr(sender_module.Sender, "_send_batch", send_batch)
    with app.app_context():
        workers.run_cycle(app, now=at_tokyo(SOON, 12))

    order = [r.token for r in fake_push.received]
    assert len(order) == 61
    assert order.index(urgent.token) < 20  # within a batch or two, not after all 60

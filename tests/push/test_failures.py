"""Push-service answers: 404/410, 429, 5xx and network errors, 401/403, 400/413."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from chounaikai.extensions import db
from chounaikai.models import (
    DeliveryStatus,
    MemberRole,
    Notification,
    Priority,
    PushDelivery,
    PushOriginPause,
    PushSubscription,
)
from chounaikai.push import workers
from chounaikai.push.responses import PushAuthError, retry_after_seconds
from tests.push.conftest import add_devices
from tests.push.helpers import at_tokyo, bulk_members, deliveries, publish

T0 = at_tokyo(datetime.now(UTC) + timedelta(days=1), 12)


@pytest.fixture
def street(app, factory, fake_push):
    """A leader and six residents: four devices on origin 0, two on origin 1."""
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    users = bulk_members(factory._engine, association, 6)
    devices = add_devices(app, fake_push, users[:4]) + add_devices(app, fake_push, users[4:],
                                                                   origin=1)
    return association, leader, devices


def _cycle(app, now):
    with app.app_context():
        return workers.run_cycle(app, now=now)


def _subscriptions(app) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(select(PushSubscription.id)))


def _row(app, subscription_id):
    [row] = deliveries(app, PushDelivery.subscription_id == subscription_id)
    return row


@pytest.mark.parametrize("status", [410, 404])
def test_gone_subscription_is_deleted(app, street, fake_push, status):
    association, leader, devices = street
    gone = devices[0]
    fake_push.fail(gone.token, status, repeat=True)
    publish(app, leader.user_id, association.id)

    stats = _cycle(app, T0)

    assert stats["gone"] == 1
    assert stats["sent"] == 5
    assert gone.id not in _subscriptions(app)
    assert len(_subscriptions(app)) == 5
    rows = deliveries(app, PushDelivery.status == DeliveryStatus.GONE)
    assert [(r.subscription_id, r.last_status) for r in rows] == [(None, status)]


def test_429_pauses_that_origin_then_delivers(app, street, fake_push):
    association, leader, devices = street
    busy = devices[0]
    fake_push.fail(busy.token, 429, retry_after="120")
    publish(app, leader.user_id, association.id)

    _cycle(app, T0)

    with app.app_context():
        pause = db.session.get(PushOriginPause, busy.fake.origin)
        assert T0 + timedelta(seconds=120) <= pause.paused_until <= T0 + timedelta(seconds=133)
    assert all(fake_push.received_by(d.token) for d in devices[4:])  # the other origin: at once
    assert not fake_push.received_by(busy.token)
    row = _row(app, busy.id)
    assert row.status == DeliveryStatus.PENDING
    assert row.last_status == 429
    assert row.not_before == pause.paused_until

    attempts_before = sum(n for (_t, _s), n in fake_push.answers.items())
    _cycle(app, T0 + timedelta(seconds=60))  # still paused: nothing goes to that origin
    assert sum(n for (_t, _s), n in fake_push.answers.items()) == attempts_before

    _cycle(app, T0 + timedelta(seconds=140))
    for device in devices:  # everyone exactly once, the paused one included
        assert len(fake_push.received_by(device.token)) == 1
    with app.app_context():  # the ended pause is swept away
        assert db.session.get(PushOriginPause, busy.fake.origin) is None


def test_5xx_is_retried_with_backoff_then_delivered(app, street, fake_push):
    association, leader, devices = street
    flaky = devices[1]
    fake_push.fail(flaky.token, 500, 503)
    publish(app, leader.user_id, association.id)

    _cycle(app, T0)
    first = _row(app, flaky.id)
    assert (first.status, first.attempts, first.last_status) == (DeliveryStatus.PENDING, 1, 500)
    assert first.not_before > T0

    _cycle(app, first.not_before - timedelta(seconds=1))  # not due yet
    assert _row(app, flaky.id).attempts == 1
    _cycle(app, first.not_before)
    second = _row(app, flaky.id)
    assert (second.attempts, second.last_status) == (2, 503)
    assert second.not_before - first.not_before > first.not_before - T0  # growing back-off

    _cycle(app, second.not_before)
    assert len(fake_push.received_by(flaky.token)) == 1
    done = _row(app, flaky.id)
    assert (done.status, done.attempts, done.last_status) == (DeliveryStatus.SENT, 3, 201)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_service_is_retried_until_the_ttl_expires(app, factory, fake_push):
    association = factory.association()
    member = factory.member(association)
    dead = f"http://127.0.0.1:{_free_port()}"
    [device] = add_devices(app, fake_push, [member.user_id])
    with app.app_context():
        subscription = db.session.get(PushSubscription, device.id)
        subscription.endpoint = f"{dead}/push/x"
        subscription.origin = dead
        db.session.add(Notification(kind="alert", priority=Priority.EMERGENCY,
                                    audience={"user_ids": [member.user_id]},
                                    payload={"title": "訓練"}, topic="t", ttl_seconds=600))
        db.session.commit()

    _cycle(app, T0)
    row = _row(app, device.id)
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.PENDING, 1, None)
    now = T0
    for _ in range(10):  # back-off keeps retrying until the 10 minutes are over
        now = max(now, _row(app, device.id).not_before)
        _cycle(app, now)
        if _row(app, device.id).status != DeliveryStatus.PENDING:
            break
    final = _row(app, device.id)
    assert final.status == DeliveryStatus.EXPIRED
    assert final.attempts >= 2
    assert now <= T0 + timedelta(seconds=600)


def test_401_deletes_nothing_and_raises_for_the_operator(app, street, fake_push, caplog):
    association, leader, devices = street
    for device in devices[:4]:  # origin 0 rejects our credentials
        fake_push.fail(device.token, 401, repeat=True)
    publish(app, leader.user_id, association.id)
    before = _subscriptions(app)

    with caplog.at_level(logging.ERROR), pytest.raises(PushAuthError) as raised:
        _cycle(app, T0)

    assert devices[0].fake.origin in str(raised.value)
    assert _subscriptions(app) == before  # nothing deleted
    assert any(r.levelno == logging.ERROR and "401" in r.getMessage() for r in caplog.records)
    rows = deliveries(app)
    failed = [r for r in rows if r.status == DeliveryStatus.FAILED]
    assert failed
    assert {r.last_status for r in failed} == {401}
    # Once refused, the rest of that origin waits (not failed, not deleted) ...
    waiting = {r.subscription_id for r in rows if r.status == DeliveryStatus.PENDING}
    assert waiting | {r.subscription_id for r in failed} == {d.id for d in devices[:4]}
    # ... while the other push service got its messages.
    assert all(fake_push.received_by(d.token) for d in devices[4:])

    status = app.test_cli_runner().invoke(args=["push", "status"])
    assert status.exit_code == 1
    assert "ERROR" in status.output
    assert "401" in status.output


@pytest.mark.parametrize("status", [400, 413])
def test_400_and_413_are_our_bug(app, street, fake_push, caplog, status):
    association, leader, devices = street
    fake_push.fail(devices[2].token, status, repeat=True)
    publish(app, leader.user_id, association.id)
    with caplog.at_level(logging.ERROR):
        stats = _cycle(app, T0)
    assert stats["bug"] == 1
    row = _row(app, devices[2].id)
    assert (row.status, row.last_status) == (DeliveryStatus.FAILED, status)
    assert any("bug" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert len(_subscriptions(app)) == 6


def test_retry_after_as_http_date_or_seconds():
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Thu, 26 Nov 2026 12:05:00 GMT", now) == 300
    assert retry_after_seconds("Thu, 26 Nov 2026 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) == 60
    assert retry_after_seconds(None, now) == 60
    assert retry_after_seconds("99999999", now) == 24 * 3600


def test_failed_and_expired_rows_are_counted_in_status(app, street, fake_push):
    association, leader, devices = street
    fake_push.fail(devices[0].token, 500, repeat=True)
    publish(app, leader.user_id, association.id)
    _cycle(app, T0)
    _cycle(app, T0 + timedelta(days=4))  # past the circular's 3-day TTL
    with app.app_context():
        expired = db.session.scalar(select(func.count()).where(
            PushDelivery.status == DeliveryStatus.EXPIRED))
    assert expired == 1
    output = app.test_cli_runner().invoke(args=["push", "status"]).output
    assert "expired=1" in output
    assert "sent=5" in output

"""A safety check started by hand rings every member's phone, urgently, in their language."""

from __future__ import annotations

from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import AlertKind, GlobalRole, MemberRole, Notification
from chounaikai.push import workers
from tests.i18n.conftest import translate
from tests.push.conftest import add_devices
from tests.push.helpers import at_tokyo, set_user
from tests.push.test_delivery import SOON
from tests.safety.helpers import issue


def _start(client, factory, leader, association_id: int):
    headers = {"Authorization": f"Bearer {factory.token(leader)}"}
    return client.post(f"/api/v1/associations/{association_id}/safety/rounds", headers=headers)


def test_a_round_started_by_hand_reaches_members_at_night_in_their_language(
        app, client, factory, fake_push):
    association, other = factory.association(), factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    sleeper = factory.member(association)
    english = factory.member(association, user=factory.user(locale="en"))
    outsider = factory.member(other)
    set_user(app, sleeper.user_id, quiet_start_minute=22 * 60, quiet_end_minute=7 * 60,
             daily_digest=True)
    devices = {name: add_devices(app, fake_push, [m.user_id])[0] for name, m in (
        ("sleeper", sleeper), ("english", english), ("outsider", outsider))}

    started = _start(client, factory, leader.user, association.id)
    assert started.status_code == 201
    again = _start(client, factory, leader.user, association.id)  # a second tap: same round
    assert again.status_code == 200
    with app.app_context():
        workers.run_cycle(app, now=at_tokyo(SOON, 3))  # 3 a.m.: inside the quiet hours

    assert fake_push.received_by(devices["outsider"].token) == []
    for name, language in (("sleeper", "ja"), ("english", "en")):
        [got] = fake_push.received_by(devices[name].token)  # one push, not one per tap
        assert got.headers["Urgency"] == "high"
        assert got.headers["Topic"] == f"safety-{started.json['id']}"
        assert got.payload["url"] == f"/a/{association.id}/safety"
        assert got.payload["title"] == translate(language, "安否確認")
        assert got.payload["body"] == translate(
            language, "安否確認をしています。無事かどうか教えてください。")


def test_a_round_started_by_an_alert_rides_on_the_alert_push(app, factory, fake_push):
    association = factory.association()
    member = factory.member(association)
    [device] = add_devices(app, fake_push, [member.user_id])
    staff = factory.user(role=GlobalRole.STAFF)
    issue(app, staff.id, AlertKind.LEVEL4, (association.id,))
    with app.app_context():
        kinds = list(db.session.scalars(select(Notification.kind)))
    with app.app_context():
        workers.run_cycle(app, now=at_tokyo(SOON, 12))
    assert kinds == ["alert"]
    assert [got.payload["kind"] for got in fake_push.received_by(device.token)] == ["alert"]

"""Alerts through the fake push service: emergency urgency, targeting, every reader's language."""

from __future__ import annotations

from chounaikai.models import AlertTarget, GlobalRole
from chounaikai.push import workers
from tests.alerts.helpers import draft, issue
from tests.i18n.conftest import translate
from tests.push.conftest import add_devices
from tests.push.helpers import at_tokyo, set_user
from tests.push.test_delivery import SOON


def test_level4_reaches_only_the_targeted_district_at_once_even_in_quiet_hours(
        app, factory, fake_push):
    staff = factory.user(role=GlobalRole.STAFF)
    north, south = factory.association(district="鶴川"), factory.association(district="原町田")
    inside, sleeper, outside = (factory.member(north), factory.member(north),
                                factory.member(south))
    set_user(app, sleeper.user_id, quiet_start_minute=22 * 60, quiet_end_minute=7 * 60,
             daily_digest=True)
    devices = {name: add_devices(app, fake_push, [m.user_id])[0]
               for name, m in (("inside", inside), ("sleeper", sleeper), ("outside", outside))}
    alert_id = issue(app, staff.id, draft(target=AlertTarget.DISTRICTS, districts=("鶴川",)))
    with app.app_context():
        workers.run_cycle(app, now=at_tokyo(SOON, 3))  # 3 a.m., inside quiet hours

    assert fake_push.received_by(devices["outside"].token) == []
    for name in ("inside", "sleeper"):
        [got] = fake_push.received_by(devices[name].token)
        assert got.headers["Urgency"] == "high"
        assert got.headers["Topic"] == f"alert-{alert_id}"
        assert got.payload["alert_id"] == alert_id
        assert got.payload["urgent"] is True
        assert got.payload["title"] == "【警戒レベル4】避難指示"


def test_a_templated_alert_reaches_each_reader_in_their_own_language(app, factory, fake_push):
    staff = factory.user(role=GlobalRole.STAFF)
    association = factory.association()
    readers = {code: factory.member(association, user=factory.user(locale=code))
               for code in ("en", "vi", "zh-Hant")}
    devices = {code: add_devices(app, fake_push, [m.user_id])[0] for code, m in readers.items()}
    issue(app, staff.id)
    with app.app_context():
        workers.run_cycle(app, now=at_tokyo(SOON, 12))
    titles = {code: fake_push.received_by(d.token)[0].payload["title"]
              for code, d in devices.items()}
    assert titles == {code: translate(code, "【警戒レベル4】避難指示") for code in readers}
    assert len(set(titles.values())) == 3
    assert "【警戒レベル4】避難指示" not in titles.values()

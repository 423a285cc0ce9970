"""Each recipient's push is in their own language: the title, and the circular's translation."""

from __future__ import annotations

from chounaikai.circulars.translations import save_translation
from chounaikai.extensions import db
from chounaikai.models import MemberRole, User
from chounaikai.push import workers
from tests.i18n.conftest import translate
from tests.push.conftest import add_devices
from tests.push.helpers import at_tokyo, publish
from tests.push.test_delivery import SOON


def test_members_of_three_languages_each_get_their_own_push(app, factory, fake_push):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    readers = {code: factory.member(association, user=factory.user(locale=code))
               for code in ("en", "ko", "ja-easy")}
    devices = {code: add_devices(app, fake_push, [m.user_id])[0] for code, m in readers.items()}
    circular_id = publish(app, leader.user_id, association.id, title="ごみの日が変わります")
    with app.test_request_context():
        save_translation(actor=db.session.get(User, leader.user_id), circular_id=circular_id,
                         language="en", title="Garbage day changes", body_md="From May.")
        db.session.commit()
        workers.run_cycle(app, now=at_tokyo(SOON, 12))

    got = {code: fake_push.received_by(device.token)[0].payload
           for code, device in devices.items()}
    for code, payload in got.items():
        assert payload["title"] == translate(code, "新しい回覧があります")
        assert payload["title"] != "新しい回覧があります"
    assert {code: payload["lang"] for code, payload in got.items()} == {
        "en": "en", "ko": "ko", "ja-easy": "ja"}
    assert got["en"]["body"] == "Garbage day changes"
    assert got["ko"]["body"] == got["ja-easy"]["body"] == "ごみの日が変わります"

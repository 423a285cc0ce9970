"""CAP 1.2 import rules: what a document may be, what it replaces, what it is about."""

from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import Alert, AlertKind, GlobalRole, Hazard
from tests.alerts.test_cap_export import run_service
from tests.alerts.test_cap_import import (
    CAP_NS,
    SHARED_CAP,
    api_post,
    minimal,
    nothing_stored,
    stored,
)
from tests.support import count


@pytest.fixture
def staff(factory):
    return factory.user(role=GlobalRole.STAFF)


@pytest.fixture
def post(client, factory, staff):
    token = factory.token(staff)
    return lambda body: api_post(client, token, body)


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "ファイルが空です"),
    (b"<alert", "XML として読めません"),
    (b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "最初の要素が CAP 1.2 の <alert>"),
    (minimal(msg_type="Ack"), "msgType"),
    (minimal(scope="Restricted"), "Public"),
    (minimal(identifier="x" * 201), "200文字以内"),
    (minimal().replace(b"2030-04-01T09:00:00+09:00", b"2030-04-01T00:00:00Z"),
     "<sent> の値「2030-04-01T00:00:00Z」は使えません"),
])
def test_other_bad_documents_are_explained(app, post, data, expected):
    response = post(data)

    assert response.status_code == 400
    assert expected in response.json["error"]["message"]
    nothing_stored(app)


def test_same_identifier_from_another_sender_is_refused(app, post):
    assert post(minimal(sender="a@example.jp")).status_code == 201

    response = post(minimal(sender="b@example.jp"))

    assert response.status_code == 400
    assert count(app, Alert) == 1


def test_update_and_cancel_replace_the_referenced_alert(app, post):
    first = post(minimal("JP-1")).json
    assert first["active"]
    reference = "sender@example.jp,JP-1,2030-04-01T09:00:00+09:00"

    update = post(minimal("JP-2", msg_type="Update", references=reference)).json

    assert update["references_id"] == first["id"]
    assert update["active"]
    assert not stored(app, first["id"]).active
    cancel = post(minimal("JP-3", msg_type="Cancel",
                          references=f"{reference} sender@example.jp,JP-2,"
                                     "2030-04-01T09:00:00+09:00")).json
    assert cancel["message_type"] == "cancel"
    assert not cancel["active"]
    assert not stored(app, update["id"]).active
    with app.app_context():
        active = db.session.scalars(select(Alert).where(Alert.active.is_(True))).all()
    assert active == []


def test_reference_from_another_sender_is_not_followed(app, post):
    first = post(minimal("JP-1")).json

    post(minimal("JP-2", msg_type="Cancel",
                 references="someone@else.example,JP-1,2030-04-01T09:00:00+09:00"))

    assert stored(app, first["id"]).active


def test_tests_exercises_and_expired_alerts_are_not_in_force(post):
    assert not post(minimal("T-1", status="Test")).json["active"]
    assert not post(minimal("T-2", status="Exercise")).json["active"]
    assert not post(minimal("T-3", expires="2020-01-01T00:00:00+09:00")).json["active"]
    assert post(minimal("T-4", expires="2999-01-01T00:00:00+09:00")).json["active"]


@pytest.mark.parametrize(("event", "category", "hazard"), [
    ("大雨による洪水", "Met", Hazard.FLOOD),
    ("Flash Flood Warning", "Met", Hazard.FLOOD),
    ("高潮警報", "Met", Hazard.STORM_SURGE),
    ("Coastal Flood Advisory", "Met", Hazard.STORM_SURGE),
    ("土砂災害警戒情報", "Geo", Hazard.LANDSLIDE),
    ("Tsunami Warning", "Geo", Hazard.TSUNAMI),
    ("緊急地震速報", "Geo", Hazard.EARTHQUAKE),
    ("噴火警報", "Geo", Hazard.VOLCANO),
    ("内水氾濫", "Met", Hazard.INLAND_FLOODING),
    ("Red Flag Warning", "Fire", Hazard.FIRE),
    ("Thunderstorm", "Met", None),
])
def test_hazard_is_guessed_from_event_and_category(post, event, category, hazard):
    body = post(minimal(event=event, category=category)).json

    assert body["hazard"] == (hazard.value if hazard else None)


def test_our_own_export_round_trips_to_ten_languages(app, client, post, staff):
    alert_id = run_service(app, staff.id)
    exported = client.get(f"/alerts/{alert_id}/cap.xml").data
    original = stored(app, alert_id).identifier
    copy = exported.replace(original.encode(), b"urn:uuid:00000000-0000-4000-8000-000000000000")

    assert post(exported).status_code == 200  # our own message: already stored
    body = post(copy).json

    assert set(stored(app, body["id"]).texts) == {
        "ja", "ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi", "fil", "ne", "pt-BR"}
    assert stored(app, body["id"]).texts["ja"]["headline"] == "【警戒レベル4】避難指示"
    assert body["hazard"] == "flood"


def test_our_update_of_an_imported_alert_references_it_as_written(app, client, post, staff):
    body = post((SHARED_CAP / "oasis-amber-alert-bilingual.xml").read_bytes()).json

    update_id = run_service(app, staff.id, kind=AlertKind.LEVEL3, update_of=body["id"])

    root = etree.fromstring(client.get(f"/alerts/{update_id}/cap.xml").data)
    assert root.findtext(f"{{{CAP_NS}}}references") == (
        "KARO@CLETS.DOJ.CA.GOV,KAR0-0306112239-SW,2003-06-11T22:39:00-07:00")
    assert not stored(app, body["id"]).active


def test_imported_alert_appears_in_the_feed_with_an_iri_id(app, client, post):
    body = post((SHARED_CAP / "oasis-amber-alert-bilingual.xml").read_bytes()).json

    root = etree.fromstring(client.get("/alerts.atom").data)

    entries = root.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1
    entry_id = entries[0].findtext("{http://www.w3.org/2005/Atom}id")
    # KAR0-0306112239-SW is no IRI; Atom needs one.
    assert entry_id.startswith("tag:")
    assert entry_id.endswith("/KAR0-0306112239-SW")
    link = entries[0].find("{http://www.w3.org/2005/Atom}link").get("href")
    assert link.endswith(f"/alerts/{body['id']}/cap.xml")

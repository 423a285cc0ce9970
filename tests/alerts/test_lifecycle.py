"""Alerts: compose → preview → confirm → send; update and cancel by new messages; audit."""

from __future__ import annotations

from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import (
    Alert,
    AlertKind,
    AlertMessageType,
    AlertTarget,
    AuditLog,
    GlobalRole,
    Notification,
    Priority,
)
from tests.alerts.helpers import draft, issue
from tests.helpers import form_post
from tests.support import client_for, counts, html

LEVEL4_FORM = {"kind": "level4", "hazard": "flood", "target": "city"}


def test_preview_shows_every_language_and_sends_nothing(app, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    client = client_for(app, staff)
    page = html(form_post(client, "/staff/alerts/preview", LEVEL4_FORM))
    assert page.count('class="alert-card') == 10  # one per interface language
    assert "【警戒レベル4】避難指示" in page
    assert "[Alert Level 4] Evacuation Order" in page
    assert 'class="alert-band alert-level-4"' in page
    assert counts(app, Alert, Notification) == {"Alert": 0, "Notification": 0}


def test_sending_needs_the_confirmation_box(app, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    client = client_for(app, staff)
    response = form_post(client, "/staff/alerts/", LEVEL4_FORM)
    assert response.status_code == 400
    assert counts(app, Alert) == {"Alert": 0}
    response = form_post(client, "/staff/alerts/", {**LEVEL4_FORM, "confirmed": "1"})
    assert response.status_code == 302
    with app.app_context():
        alert = db.session.scalars(select(Alert)).one()
        note = db.session.get(Notification, alert.notification_id)
        assert (alert.kind, alert.message_type, alert.active) == (
            AlertKind.LEVEL4, AlertMessageType.ALERT, True)
        assert note.priority == Priority.EMERGENCY
        assert note.audience == {"all": True}
        assert note.topic == f"alert-{alert.id}"
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "alert.issue")).one()
        assert entry.actor_id == staff.id
        assert entry.target_id == alert.id


def test_update_and_cancel_are_new_messages_that_reference_the_old(app, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    first = issue(app, staff.id, draft(AlertKind.LEVEL3))
    second = issue(app, staff.id, draft(AlertKind.LEVEL5), update_of=first)
    third = issue(app, staff.id, cancel_of=second)
    with app.app_context():
        rows = {a.id: a for a in db.session.scalars(select(Alert))}
        assert rows[first].kind == AlertKind.LEVEL3  # never edited
        assert not rows[first].active
        assert not rows[second].active
        assert not rows[third].active
        assert rows[second].references_id == first
        assert rows[third].references_id == second
        assert rows[third].message_type == AlertMessageType.CANCEL
        topics = {n.topic for n in db.session.scalars(select(Notification))}
        assert topics == {f"alert-{first}"}  # newer messages replace undelivered older ones
        actions = sorted(e.action for e in db.session.scalars(select(AuditLog)))
        assert actions == ["alert.cancel", "alert.issue", "alert.update"]


def test_an_old_message_cannot_be_updated_or_cancelled_again(app, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    first = issue(app, staff.id)
    issue(app, staff.id, cancel_of=first)
    client = client_for(app, staff)
    response = form_post(client, f"/staff/alerts/{first}/cancel", {"confirmed": "1"})
    assert response.status_code == 409
    assert counts(app, Alert) == {"Alert": 2}


def test_district_targeting_resolves_associations(app, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    north = factory.association(district="鶴川")
    factory.association(district="原町田")
    alert_id = issue(app, staff.id, draft(target=AlertTarget.DISTRICTS, districts=("鶴川",)))
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        note = db.session.get(Notification, alert.notification_id)
        assert alert.association_ids == [north.id]
        assert note.audience == {"association_ids": [north.id]}


def test_bad_input_is_explained_and_nothing_is_stored(app, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    client = client_for(app, staff)
    for form in ({"kind": "level4", "target": "city"},  # no hazard
                 {"kind": "free", "target": "city", "headline": ""},
                 {"kind": "level4", "hazard": "flood", "target": "districts"},
                 {"kind": "nonsense", "target": "city"}):
        response = form_post(client, "/staff/alerts/", {**form, "confirmed": "1"})
        assert response.status_code == 400, form
    assert counts(app, Alert) == {"Alert": 0}


def test_free_text_is_escaped(app, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    client = client_for(app, staff)
    page = html(form_post(client, "/staff/alerts/preview", {
        "kind": "free", "target": "city", "headline": "<script>alert(1)</script>",
        "description": "説明", "instruction": "行動"}))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page

"""Status updates from a phone: staff and contact leaders only, every change kept."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import AuditLog, Congestion, GlobalRole, MemberRole, Shelter
from chounaikai.models import ShelterStatusUpdate as Update
from tests.helpers import form_post
from tests.shelters.conftest import make_shelter
from tests.support import client_for, count, html, load


@pytest.fixture
def people(factory):
    association = factory.association()
    return {
        "staff": factory.user(role=GlobalRole.STAFF),
        "contact": factory.member(association, role=MemberRole.LEADER).user,
        "leader": factory.member(association, role=MemberRole.LEADER).user,
        "resident": factory.member(association).user,
    }


@pytest.fixture
def shelter(factory, people):
    return make_shelter(factory, contacts=(people["contact"],), capacity=300)


def _tap(client, shelter, **form):
    return form_post(client, f"/shelters/{shelter.id}/status", form)


def test_contact_opens_a_shelter_in_two_taps(app, people, shelter):
    client = client_for(app, people["contact"])
    page = client.get(f"/shelters/{shelter.id}/status")  # tap 1: the page
    assert page.status_code == 200
    buttons = re.findall(r'<button type="submit" name="action" value="([^"]+)"[^>]*>(.*?)</button>',
                         html(page), re.S)
    labels = {value: re.sub(r"<[^>]+>|（いまの状態）", "", text).split()[-1]
              for value, text in buttons}
    assert labels == {"open": "開設", "close": "閉鎖", "congestion:empty": "空いています",
                      "congestion:somewhat": "やや混雑", "congestion:crowded": "混雑",
                      "congestion:full": "満", "evacuees:-10": "−10", "evacuees:-1": "−1",
                      "evacuees:+1": "+1", "evacuees:+10": "+10", "evacuees:set": "人数を保存"}

    response = _tap(client, shelter, action="open")  # tap 2: a big button

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/shelters/{shelter.id}/status")
    stored = load(app, Shelter, shelter.id)
    assert stored.is_open is True
    assert stored.status_updated_at is not None
    with app.app_context():
        row = db.session.scalars(select(Update)).one()
        assert (row.shelter_id, row.is_open, row.updated_by_id) == (shelter.id, True,
                                                                    people["contact"].id)


def test_staff_set_congestion_and_counts(app, people, shelter):
    client = client_for(app, people["staff"])
    _tap(client, shelter, action="open")
    _tap(client, shelter, action="congestion:crowded")
    _tap(client, shelter, action="evacuees:set", evacuees="120")
    _tap(client, shelter, action="evacuees:+10")
    _tap(client, shelter, action="evacuees:-1")
    stored = load(app, Shelter, shelter.id)
    assert (stored.is_open, stored.congestion, stored.evacuees) == (True, Congestion.CROWDED,
                                                                    129)
    assert count(app, Update, Update.shelter_id == shelter.id) == 5
    with app.app_context():
        actions = db.session.scalars(select(AuditLog.action)).all()
    assert actions.count("shelters.status") == 5


def test_count_never_goes_below_zero(app, people, shelter):
    client = client_for(app, people["contact"])
    _tap(client, shelter, action="evacuees:-10")
    assert load(app, Shelter, shelter.id).evacuees == 0


@pytest.mark.parametrize("form", [{"action": "evacuees:set", "evacuees": "-3"},
                                  {"action": "evacuees:set", "evacuees": "abc"},
                                  {"action": "evacuees:set", "evacuees": "100001"},
                                  {"action": "congestion:packed"}, {"action": "explode"}])
def test_bad_input_saves_nothing_and_says_why(app, people, shelter, form):
    client = client_for(app, people["contact"])
    response = _tap(client, shelter, **form)
    assert response.status_code == 302
    assert "flash-error" in html(client.get(f"/shelters/{shelter.id}/status"))
    assert count(app, Update) == 0


@pytest.mark.parametrize("who", ["resident", "leader"])
def test_others_are_refused(app, people, shelter, who):
    # "leader" leads an association but is not this shelter's contact.
    client = client_for(app, people[who])
    assert client.get(f"/shelters/{shelter.id}/status").status_code == 403
    assert _tap(client, shelter, action="open").status_code == 403
    assert load(app, Shelter, shelter.id).is_open is False
    assert count(app, Update) == 0


def test_anonymous_is_sent_to_login(client, shelter):
    response = client.get(f"/shelters/{shelter.id}/status")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_removed_contact_loses_access_at_once(app, people, shelter):
    client = client_for(app, people["contact"])
    assert client.get(f"/shelters/{shelter.id}/status").status_code == 200
    staff = client_for(app, people["staff"])
    form_post(staff, f"/staff/shelters/{shelter.id}/contacts/{people['contact'].id}/remove")
    assert client.get(f"/shelters/{shelter.id}/status").status_code == 403


def test_history_shows_the_last_twenty_with_who(app, people, shelter):
    client = client_for(app, people["contact"])
    for _ in range(22):
        _tap(client, shelter, action="evacuees:+1")
    _tap(client_for(app, people["staff"]), shelter, action="congestion:full")
    assert count(app, Update) == 23  # every change is kept

    body = html(client.get(f"/shelters/{shelter.id}/status"))
    history = body[body.index("history-title"):]
    rows = re.findall(r"<tr>\s*<td>", history)
    assert len(rows) == 20
    assert people["staff"].display_name in history
    assert people["contact"].display_name in history
    first_row = history[history.index("<tbody>"):].split("</tr>")[0]
    assert "満" in first_row
    assert "22" in first_row


def test_my_shelters_lists_only_mine(app, factory, people, shelter):
    other = make_shelter(factory, name="森野中学校")
    body = html(client_for(app, people["contact"]).get("/shelters/mine"))
    assert shelter.name in body
    assert other.name not in body
    assert f"/shelters/{shelter.id}/status" in body
    assert "担当の避難所はありません" in html(
        client_for(app, people["resident"]).get("/shelters/mine"))

"""Staff pages: the shelter list, file import, contacts and the 福祉避難所 flag."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import AuditLog, GlobalRole, MemberRole, Shelter
from tests.helpers import csrf_token, form_post
from tests.shelters.conftest import MACHIDA, NANAO, make_shelter
from tests.support import client_for, count, html, load


@pytest.fixture
def staff(factory):
    return factory.user(role=GlobalRole.STAFF)


@pytest.fixture
def staff_client(app, staff):
    return client_for(app, staff)


def _upload(client, *files: tuple[bytes, str], district_from: str = ""):
    data = {"csrf_token": csrf_token(client), "district_from": district_from,
            "files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post("/staff/shelters/import", data=data,
                       content_type="multipart/form-data")


def _audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_staff_import_files_from_the_list_page(app, staff_client):
    response = _upload(staff_client, *((path.read_bytes(), path.name) for path in MACHIDA))
    assert response.status_code == 302
    page = html(staff_client.get("/staff/shelters"))
    assert "新しい避難所 168件" in page
    assert "つくし野小学校" in page
    assert "出典: 国土地理院「指定緊急避難場所・指定避難所データ」" in page
    assert count(app, Shelter) == 168
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "shelters.import")).one()
        assert entry.detail["created"] == 168
        assert entry.detail["files"] == [path.name for path in MACHIDA]


def test_a_bad_upload_shows_the_line_and_saves_nothing(app, staff_client):
    lines = NANAO.read_text(encoding="utf-8").split("\n")
    lines[6] = lines[6].replace("37.", "abc", 1)  # line 7: the latitude
    response = _upload(staff_client, ("\n".join(lines).encode(), "nanao.csv"))
    assert response.status_code == 400
    body = html(response)
    assert "nanao.csv 7行目" in body
    assert "緯度が正しくありません" in body
    assert "何も保存していません" in body
    assert count(app, Shelter) == 0
    assert "shelters.import" not in _audit_actions(app)


def test_upload_without_files_is_an_error(staff_client):
    response = form_post(staff_client, "/staff/shelters/import", {})
    assert response.status_code == 400
    assert "ファイルを選んでください" in html(response)


def test_list_search(app, factory, staff_client):
    make_shelter(factory, name="鶴川中学校", district="鶴川")
    make_shelter(factory, name="森野小学校", district="森野")
    body = html(staff_client.get("/staff/shelters?q=鶴川"))
    assert "鶴川中学校" in body
    assert "森野小学校" not in body
    # A "%" is searched for literally, not as a LIKE wildcard.
    assert "鶴川中学校" not in html(staff_client.get("/staff/shelters?q=%25"))


@pytest.mark.parametrize("url", ["/staff/shelters", "/staff/shelters/1"])
def test_staff_pages_refuse_leaders(app, factory, url):
    make_shelter(factory)
    leader = factory.member(factory.association(), role=MemberRole.LEADER).user
    assert client_for(app, leader).get(url).status_code == 403


def test_contacts_are_added_by_login_id_and_removed(app, factory, staff_client):
    shelter = make_shelter(factory)
    leader = factory.member(factory.association(), role=MemberRole.LEADER).user
    url = f"/staff/shelters/{shelter.id}"

    form_post(staff_client, f"{url}/contacts", {"login_id": f" {leader.login_id} "})
    form_post(staff_client, f"{url}/contacts", {"login_id": leader.login_id})  # again: no-op

    body = html(staff_client.get(url))
    assert leader.display_name in body
    assert leader.login_id in body
    with app.app_context():
        assert [u.id for u in db.session.get(Shelter, shelter.id).contacts] == [leader.id]
    form_post(staff_client, f"{url}/contacts/{leader.id}/remove")
    with app.app_context():
        assert db.session.get(Shelter, shelter.id).contacts == []
    actions = _audit_actions(app)
    assert actions.count("shelters.add_contact") == 1
    assert actions.count("shelters.remove_contact") == 1
    assert "shelters.view_contacts" in actions


@pytest.mark.parametrize(("who", "message"), [("nobody", "このログインIDの人はいません"),
                                              ("resident", "会長・役員だけ")])
def test_only_existing_leaders_become_contacts(app, factory, staff_client, who, message):
    shelter = make_shelter(factory)
    resident = factory.member(factory.association()).user
    login = resident.login_id if who == "resident" else "no-such-login"
    response = form_post(staff_client, f"/staff/shelters/{shelter.id}/contacts",
                         {"login_id": login})
    assert response.status_code == 302
    assert message in html(staff_client.get(f"/staff/shelters/{shelter.id}"))
    with app.app_context():
        assert db.session.get(Shelter, shelter.id).contacts == []


def test_staff_toggle_welfare(app, factory, staff_client):
    shelter = make_shelter(factory)
    form_post(staff_client, f"/staff/shelters/{shelter.id}/welfare", {"welfare": "1"})
    assert load(app, Shelter, shelter.id).welfare is True
    assert "福祉避難所の印を外す" in html(staff_client.get(f"/staff/shelters/{shelter.id}"))
    form_post(staff_client, f"/staff/shelters/{shelter.id}/welfare", {"welfare": "0"})
    assert load(app, Shelter, shelter.id).welfare is False
    assert _audit_actions(app).count("shelters.welfare") == 2


def test_unknown_shelter_is_404(staff_client):
    assert staff_client.get("/staff/shelters/999").status_code == 404
    assert staff_client.get("/shelters/999/status").status_code == 404

"""Leaders translate circulars; readers get their language or the original with a note."""

from __future__ import annotations

from sqlalchemy import select

from chounaikai.models import CircularTranslation, MemberRole
from tests.helpers import form_post
from tests.i18n.conftest import translate
from tests.support import client_for, counts, html

NOTE = "この回覧はあなたの言語に訳されていません。元の日本語で表示しています。"


def _town(factory):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    circular = factory.circular(association, title="ごみの日が変わります",
                                body="来月から**水曜日**です。")
    return association, leader, circular


def test_english_reader_gets_english_and_korean_reader_the_original_with_a_note(app, factory):
    association, leader, circular = _town(factory)
    leader_client = client_for(app, leader.user)
    response = form_post(leader_client, f"/circulars/{circular.id}/translations/en",
                         {"title": "Garbage day changes",
                          "body": "From next month: **Wednesday**."})
    assert response.status_code == 302

    english = factory.member(association, user=factory.user(locale="en"))
    page = html(client_for(app, english.user).get(f"/circulars/{circular.id}"))
    assert "Garbage day changes" in page
    assert "<strong>Wednesday</strong>" in page
    assert "ごみの日" not in page
    assert translate("en", NOTE) not in page
    inbox = html(client_for(app, english.user).get(f"/a/{association.id}/circulars"))
    assert "Garbage day changes" in inbox

    korean = factory.member(association, user=factory.user(locale="ko"))
    page = html(client_for(app, korean.user).get(f"/circulars/{circular.id}"))
    assert "ごみの日が変わります" in page
    assert "<strong>水曜日</strong>" in page
    assert translate("ko", NOTE) in page
    assert translate("ko", NOTE) != NOTE
    assert '<div lang="ja">' in page  # screen readers switch voice for the original

    japanese = factory.member(association)
    page = html(client_for(app, japanese.user).get(f"/circulars/{circular.id}"))
    assert "ごみの日が変わります" in page
    assert NOTE not in page


def test_status_page_shows_which_translations_exist(app, factory):
    _association, leader, circular = _town(factory)
    client = client_for(app, leader.user)
    form_post(client, f"/circulars/{circular.id}/translations/vi",
              {"title": "Thay đổi ngày rác", "body": "Từ tháng sau."})
    page = html(client.get(f"/circulars/{circular.id}/status"))
    section = page[page.index('class="translations"'):page.index("</section>",
                                                                 page.index('class="translations"'))]
    assert section.count("✓") == 1
    assert "Tiếng Việt" in section
    assert section.count("—") == 8  # the other eight languages have none yet


def test_saving_again_replaces_and_delete_removes(app, factory):
    _association, leader, circular = _town(factory)
    client = client_for(app, leader.user)
    for title in ("First", "Second"):
        form_post(client, f"/circulars/{circular.id}/translations/en",
                  {"title": title, "body": "Body"})
    with app.app_context():
        from chounaikai.extensions import db
        rows = db.session.scalars(select(CircularTranslation)).all()
        assert [(row.language, row.title) for row in rows] == [("en", "Second")]
    form_post(client, f"/circulars/{circular.id}/translations/en/delete")
    form_post(client, f"/circulars/{circular.id}/translations/en/delete")  # repeat: fine
    assert counts(app, CircularTranslation) == {"CircularTranslation": 0}


def test_bad_input_is_rejected_and_nothing_saved(app, factory):
    _association, leader, circular = _town(factory)
    client = client_for(app, leader.user)
    response = form_post(client, f"/circulars/{circular.id}/translations/en",
                         {"title": "", "body": "x" * 20_001})
    assert response.status_code == 400
    assert counts(app, CircularTranslation) == {"CircularTranslation": 0}
    # Japanese is the original, not a translation; unknown codes do not exist.
    for code in ("ja", "xx"):
        response = form_post(client, f"/circulars/{circular.id}/translations/{code}",
                             {"title": "t", "body": "b"})
        assert response.status_code == 404


def test_translations_are_sanitized(app, factory):
    association, leader, circular = _town(factory)
    client = client_for(app, leader.user)
    form_post(client, f"/circulars/{circular.id}/translations/en",
              {"title": "<script>x</script>", "body": "[a](javascript:alert(1)) <img onerror=x>"})
    reader = factory.member(association, user=factory.user(locale="en"))
    page = html(client_for(app, reader.user).get(f"/circulars/{circular.id}"))
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    body = page.split('class="circular-body"')[1].split("</div>")[0]
    assert 'href="javascript' not in body
    assert "<img" not in body


def test_api_translations(app, factory, client):
    association, leader, circular = _town(factory)
    headers = {"Authorization": f"Bearer {factory.token(leader.user)}"}
    url = f"/api/v1/circulars/{circular.id}/translations/pt-BR"
    body = {"title": "Mudança no dia do lixo", "body": "A partir do mês que vem."}
    first = client.put(url, json=body, headers=headers)
    again = client.put(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.get_json()["language"] == "pt-BR"
    detail = client.get(f"/api/v1/circulars/{circular.id}", headers=headers).get_json()
    assert [t["title"] for t in detail["translations"]] == ["Mudança no dia do lixo"]
    bad = client.put(url, json={"title": "x"}, headers=headers)
    assert bad.status_code == 400
    assert "body" in bad.get_json()["error"]["fields"]
    assert client.delete(url, headers=headers).status_code == 204
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(f"/api/v1/circulars/{circular.id}",
                      headers=headers).get_json()["translations"] == []

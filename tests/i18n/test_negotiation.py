"""Which language a request gets: preference, explicit choice, cookie, header, Japanese."""

from __future__ import annotations

import pytest

from chounaikai.i18n import language_for_tag
from tests.helpers import form_post
from tests.i18n.page_text import page_lang
from tests.support import client_for, html


@pytest.mark.parametrize(("header", "expected"), [
    ("zh-TW", "zh-Hant"), ("zh-HK", "zh-Hant"), ("zh-MO", "zh-Hant"), ("zh-Hant-TW", "zh-Hant"),
    ("zh-CN", "zh-Hans"), ("zh-SG", "zh-Hans"), ("zh", "zh-Hans"), ("zh-Hans", "zh-Hans"),
    ("tl", "fil"), ("fil-PH", "fil"), ("pt", "pt-BR"), ("pt-PT", "pt-BR"), ("pt-BR", "pt-BR"),
    ("en-GB", "en"), ("ko-KR", "ko"), ("vi-VN", "vi"), ("ne-NP", "ne"), ("ja-JP", "ja"),
])
def test_regional_aliases(client, header, expected):
    assert language_for_tag(header) == expected
    page = html(client.get("/login", headers={"Accept-Language": header}))
    assert page_lang(page) == {"zh-Hant": "zh-Hant", "zh-Hans": "zh-Hans"}.get(expected, expected)


def test_quality_order_and_unknown_languages(client):
    page = html(client.get("/login", headers={"Accept-Language": "fr-FR, de;q=0.9, vi;q=0.5"}))
    assert page_lang(page) == "vi"  # French and German are not offered: the next choice wins
    page = html(client.get("/login", headers={"Accept-Language": "fr, de"}))
    assert page_lang(page) == "ja"
    page = html(client.get("/login"))
    assert page_lang(page) == "ja"


def test_saved_preference_beats_header_cookie_and_query(app, factory):
    association = factory.association()
    member = factory.member(association, user=factory.user(locale="ko"))
    client = client_for(app, member.user)
    client.set_cookie("lang", "vi")
    page = html(client.get("/settings?lang=en", headers={"Accept-Language": "zh-CN"}))
    assert page_lang(page) == "ko"


def test_explicit_choice_beats_cookie_and_header_and_is_remembered(client):
    client.set_cookie("lang", "vi")
    response = client.get("/login?lang=ne", headers={"Accept-Language": "en"})
    assert page_lang(html(response)) == "ne"
    # Remembered: the next page without ?lang= stays Nepali, over the header.
    assert page_lang(html(client.get("/login", headers={"Accept-Language": "en"}))) == "ne"


def test_cookie_beats_header(client):
    client.set_cookie("lang", "pt-BR")
    assert page_lang(html(client.get("/login", headers={"Accept-Language": "en"}))) == "pt-BR"


def test_switcher_works_without_login(client):
    response = form_post(client, "/language", {"locale": "zh-Hant", "next": "/login"},
                         headers={"Accept-Language": "en"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = html(client.get("/login", headers={"Accept-Language": "en"}))
    assert page_lang(page) == "zh-Hant"
    assert "繁體中文" in page


def test_switcher_saves_a_members_preference(app, factory):
    association = factory.association()
    member = factory.member(association)
    client = client_for(app, member.user)
    form_post(client, "/language", {"locale": "ja-easy", "next": "/settings"})
    client.delete_cookie("lang")  # the saved preference alone must carry it
    page = html(client.get("/settings", headers={"Accept-Language": "en"}))
    assert page_lang(page) == "ja"
    assert 'value="ja-easy" lang="ja" selected' in page


def test_switcher_ignores_unknown_languages_and_foreign_next(client):
    response = form_post(client, "/language", {"locale": "xx", "next": "/login"})
    assert "lang=" not in response.headers.get("Set-Cookie", "")
    response = form_post(client, "/language",
                         {"locale": "en", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_api_errors_follow_the_language(client):
    body = client.get("/api/v1/associations/1/circulars",
                      headers={"Accept-Language": "en"}).get_json()
    english = body["error"]["message"]
    body = client.get("/api/v1/associations/1/circulars",
                      headers={"Accept-Language": "ja"}).get_json()
    assert english != body["error"]["message"]
    assert not any("\u3040" <= ch <= "\u9fff" for ch in english)

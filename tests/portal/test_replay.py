"""Replaying cached public pages before Flask runs (chounaikai/replay.py).

Each test counts the requests that reach Flask, so "replayed" is observed, not
assumed, and compares replayed answers with the ones Flask gave.
"""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from sqlalchemy import update

from chounaikai import pagecache, replay
from chounaikai.extensions import db
from chounaikai.models import GlobalRole, User
from tests.alerts.helpers import draft, issue
from tests.support import CountingApp, counting_flask, html, same_answer


@pytest.fixture
def flask_calls(app: Flask, monkeypatch) -> CountingApp:
    monkeypatch.setitem(app.config, "PORTAL_CACHE_SECONDS", 60)
    with counting_flask(app, monkeypatch) as counter:
        yield counter


def test_an_anonymous_repeat_is_answered_without_flask(client, factory, flask_calls):
    factory.shelter("つくし野小学校")
    headers = {"Accept-Encoding": "gzip", "Accept-Language": "ja"}
    first = client.get("/portal", headers=headers)
    second = client.get("/portal", headers=headers)
    assert flask_calls.calls == 1
    assert second.headers["Content-Encoding"] == "gzip"
    assert "Content-Security-Policy" in second.headers  # Flask's after-request headers too
    same_answer(first, second)
    # A different header is a different answer (here: not compressed).
    plain = client.get("/portal", headers={"Accept-Language": "ja"})
    assert flask_calls.calls == 2
    assert "Content-Encoding" not in plain.headers
    assert "つくし野小学校" in html(plain)


def test_conditional_requests_are_replayed_as_304(client, flask_calls):
    etag = client.get("/portal").headers["ETag"]
    answers = [client.get("/portal", headers={"If-None-Match": etag}) for _ in range(3)]
    assert [a.status_code for a in answers] == [304, 304, 304]
    assert flask_calls.calls == 2  # the plain GET and the first conditional one
    assert answers[2].get_data() == b""


def test_cap_and_atom_are_replayed_and_404s_are_not(app, client, factory, flask_calls):
    alert_id = issue(app, factory.user(role=GlobalRole.STAFF).id, draft())
    for path in ("/alerts.atom", f"/alerts/{alert_id}/cap.xml"):
        before = flask_calls.calls
        first, second = client.get(path), client.get(path)
        assert first.status_code == 200
        assert flask_calls.calls == before + 1
        same_answer(first, second)
    before = flask_calls.calls
    assert client.get("/alerts/999999/cap.xml").status_code == 404
    assert client.get("/alerts/999999/cap.xml").status_code == 404
    assert flask_calls.calls == before + 2


def test_a_member_is_always_answered_by_flask(app, client, factory, login, flask_calls):
    """A session cookie may carry saved choices that change without the cookie changing."""
    headers = {"Accept-Language": "ja"}
    assert '<html lang="ja"' in html(client.get("/portal", headers=headers))
    member = factory.user(locale="en")
    login(member)  # the client now sends its session cookie
    calls = flask_calls.calls
    assert '<html lang="en"' in html(client.get("/portal", headers=headers))
    with app.app_context():
        db.session.execute(update(User).where(User.id == member.id).values(locale="ko"))
        db.session.commit()
    assert '<html lang="ko"' in html(client.get("/portal", headers=headers))
    assert flask_calls.calls == calls + 2


def test_language_cookies_and_queries_choose_their_own_answers(client, flask_calls):
    assert '<html lang="ja"' in html(client.get("/portal"))
    client.set_cookie("lang", "vi")
    assert '<html lang="vi"' in html(client.get("/portal"))
    assert '<html lang="vi"' in html(client.get("/portal"))
    assert flask_calls.calls == 2
    # ?lang= and ?ruby= set cookies: always Flask, never remembered.
    for _ in range(2):
        response = client.get("/portal?lang=ko")
        assert '<html lang="ko"' in html(response)
        assert response.headers.get("Set-Cookie")
    assert flask_calls.calls == 4
    client.set_cookie("other", "x")  # an unknown cookie: may be personal, so Flask decides
    client.get("/portal")
    client.get("/portal")
    assert flask_calls.calls == 6


def test_a_page_that_left_the_cache_is_not_replayed(client, factory, flask_calls):
    client.get("/portal")
    factory.shelter("新しい避難所")
    assert "新しい避難所" not in html(client.get("/portal"))  # both caches: a few seconds old
    key = next(iter(pagecache._pages))
    pagecache._pages[key] = dataclasses.replace(pagecache._pages[key], expires=0.0)
    calls = flask_calls.calls
    client.get("/portal")  # expired: Flask runs (and re-renders)
    assert flask_calls.calls == calls + 1
    pagecache.clear()
    assert "新しい避難所" in html(client.get("/portal"))
    assert flask_calls.calls == calls + 2


def test_posts_and_head_requests(client, flask_calls):
    client.head("/portal")
    head = client.head("/portal")
    assert flask_calls.calls == 1
    assert head.status_code == 200
    assert head.get_data() == b""
    client.post("/portal")
    client.post("/portal")
    assert flask_calls.calls == 3


def test_request_key_refuses_personal_requests():
    base = {"REQUEST_METHOD": "GET", "PATH_INFO": "/portal", "HTTP_HOST": "x"}
    assert replay.request_key(base) is not None
    assert replay.request_key({**base, "QUERY_STRING": "lang=en"}) is None
    assert replay.request_key({**base, "REQUEST_METHOD": "POST"}) is None
    assert replay.request_key({**base, "HTTP_COOKIE": "session=abc"}) is None
    assert replay.request_key({**base, "HTTP_COOKIE": "lang=en; session=abc"}) is None
    assert replay.request_key({**base, "HTTP_COOKIE": "lang=en; furigana=1"}) != \
        replay.request_key({**base, "HTTP_COOKIE": "lang=en; furigana=0"})
    assert replay.request_key({**base, "HTTP_HOST": "y"}) != replay.request_key(base)

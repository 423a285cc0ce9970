"""Logging in and out: argon2id hashes, login id or e-mail, rate limit, safe redirects."""

from __future__ import annotations

import pytest

from chounaikai.auth import services
from chounaikai.auth.passwords import hash_password, verify_password
from tests.dbutil import write_elsewhere
from tests.factories import PASSWORD
from tests.helpers import csrf_token, form_post
from tests.support import client_for, html

WRONG_LOGIN = "ログインIDかパスワードが違います。"
TOO_MANY = "試行回数が多すぎます。"


def _logged_in(client) -> bool:
    """Whether the client's cookies still belong to a logged-in user."""
    return client.get("/settings").status_code == 200


def test_password_hash_is_argon2id_and_verifies():
    hashed = hash_password("a long lowercase passphrase")

    assert hashed.startswith("$argon2id$")
    assert "a long lowercase passphrase" not in hashed
    assert verify_password(hashed, "a long lowercase passphrase")
    assert not verify_password(hashed, "a long lowercase passphrasE")


def test_unknown_user_never_verifies_even_with_the_dummy_password():
    assert not verify_password(None, "not-a-real-password")


@pytest.mark.parametrize("field", ["login_id", "email"])
def test_login_by_login_id_or_email(app, client, factory, field):
    user = factory.user()

    response = form_post(client, "/login", {"login": getattr(user, field), "password": PASSWORD})

    assert response.status_code == 302
    assert _logged_in(client)


def test_login_by_email_ignores_case_and_surrounding_spaces(app, client, factory):
    user = factory.user()

    response = form_post(client, "/login",
                         {"login": f"  {user.email.upper()} ", "password": PASSWORD})

    assert response.status_code == 302
    assert _logged_in(client)


@pytest.mark.parametrize(("login_field", "password"), [
    ("login_id", "wrong password"),
    ("login_id", PASSWORD.upper()),
    ("login_id", ""),
    (None, PASSWORD),  # unknown login id
])
def test_wrong_credentials_give_401_with_message_and_no_session(
        app, client, factory, login_field, password):
    user = factory.user()
    login = getattr(user, login_field) if login_field else "nobody-here"

    response = form_post(client, "/login", {"login": login, "password": password})

    assert response.status_code == 401
    assert WRONG_LOGIN in html(response)
    assert not _logged_in(client)


def test_authenticate_service_returns_user_only_for_right_password(app, factory):
    user = factory.user()
    with app.test_request_context():
        assert services.authenticate(login=user.login_id, password=PASSWORD).id == user.id
        assert services.authenticate(login=user.login_id, password="nope nope nope") is None
        assert services.authenticate(login="nobody", password=PASSWORD) is None


def test_login_rate_limit_gives_429_after_configured_limit(app, client, factory):
    user = factory.user()
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    assert app.config["LOGIN_RATE_LIMIT"] == "10 per minute"

    for _ in range(limit):
        response = form_post(client, "/login", {"login": user.login_id, "password": "wrong!!!"})
        assert response.status_code == 401
    blocked = form_post(client, "/login", {"login": user.login_id, "password": PASSWORD})

    assert blocked.status_code == 429
    assert TOO_MANY in html(blocked)
    assert not _logged_in(client)  # even the right password is not checked any more


def test_rate_limit_is_reset_between_tests(app, client, factory):
    """The autouse fixture resets the limiter: a fresh test can log in at once."""
    user = factory.user()

    response = form_post(client, "/login", {"login": user.login_id, "password": PASSWORD})

    assert response.status_code == 302


def test_next_path_on_the_same_site_is_followed(app, client, factory):
    user = factory.user()

    response = form_post(client, "/login?next=/settings",
                         {"login": user.login_id, "password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/settings"


@pytest.mark.parametrize("target", [
    "//evil.example",
    "//evil.example/login",
    "https://evil.example/",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "evil.example",
])
def test_login_does_not_follow_off_site_next(app, client, factory, target):
    user = factory.user()

    response = client.post("/login", query_string={"next": target},
                           data={"login": user.login_id, "password": PASSWORD,
                                 "csrf_token": csrf_token(client)})

    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil.example" not in location
    assert "javascript" not in location
    assert location == "/"


def test_login_page_keeps_next_in_the_form_action(client):
    page = html(client.get("/login?next=/settings"))

    assert '<form method="post" action="/login?next=/settings"' in page


def test_logout_needs_post(app, factory):
    client = client_for(app, factory.user())

    response = client.get("/logout")

    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "ここではこの操作はできません。" in html(response)
    assert _logged_in(client)


def test_logout_without_csrf_token_is_refused_and_keeps_the_session(app, factory):
    client = client_for(app, factory.user())

    response = client.post("/logout")

    assert response.status_code == 400
    assert _logged_in(client)


def test_logout_with_csrf_token_ends_the_session(app, factory):
    client = client_for(app, factory.user())

    response = form_post(client, "/logout")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not _logged_in(client)


def test_logged_in_user_is_sent_home_from_login_page(app, factory):
    client = client_for(app, factory.user())

    response = client.get("/login")

    assert response.status_code == 302


@pytest.mark.parametrize("path", ["/login", "/api/v1/tokens"])
def test_checking_a_password_does_not_hold_the_write_lock(
        app, client, factory, monkeypatch, database_url, path):
    """argon2 takes ~0.1 s; on SQLite, holding the single write lock meanwhile stalled
    every other writer (and a burst of logins ran into the busy timeout)."""
    factory.user(login_id="suzuki")
    written = []

    def slow_check(password_hash, password):
        write_elsewhere(database_url)  # raises "database is locked" if we held it
        written.append(True)
        return verify_password(password_hash, password)

    monkeypatch.setattr(services, "verify_password", slow_check)
    if path == "/login":
        response = form_post(client, path, {"login": "suzuki", "password": PASSWORD})
        assert response.status_code == 302
    else:
        response = client.post(path, json={"login": "suzuki", "password": PASSWORD})
        assert response.status_code == 201, response.get_json()
    assert written == [True]


@pytest.mark.parametrize("path", ["/login", "/api/v1/tokens"])
def test_an_old_hash_is_upgraded_at_login(app, client, factory, path):
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from chounaikai.extensions import db
    from chounaikai.models import User

    user = factory.user(login_id="tanaka")
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    with app.app_context():
        db.session.get(User, user.id).password_hash = weak
        db.session.commit()
    if path == "/login":
        response = form_post(client, path, {"login": "tanaka", "password": PASSWORD})
        assert response.status_code == 302
    else:
        response = client.post(path, json={"login": "tanaka", "password": PASSWORD})
        assert response.status_code == 201
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored != weak
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, PASSWORD)
    assert not services.needs_rehash(stored)

"""Token issue and revocation, and that only the bearer token authenticates."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from chounaikai.extensions import db
from chounaikai.models import ApiToken
from tests.api.conftest import bearer
from tests.factories import PASSWORD


def _count_tokens(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ApiToken))


def test_token_for_good_password_works_on_me(app, client, factory):
    user = factory.user(login_id="yamada")

    response = client.post("/api/v1/tokens", json={"login": "yamada", "password": PASSWORD,
                                                   "token_name": "LINE bot"})

    assert response.status_code == 201
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["user"] == {"id": user.id, "display_name": user.display_name}
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json["login_id"] == "yamada"
    with app.app_context():
        assert db.session.scalar(select(ApiToken.name)) == "LINE bot"


def test_token_by_email_login(client, factory):
    user = factory.user()
    response = client.post("/api/v1/tokens", json={"login": user.email, "password": PASSWORD})
    assert response.status_code == 201


def test_bad_password_is_401_and_writes_nothing(app, client, factory):
    factory.user(login_id="yamada")

    for login in ("yamada", "nobody"):
        response = client.post("/api/v1/tokens", json={"login": login, "password": "wrong-pass"})
        assert response.status_code == 401
        assert response.json["error"]["code"] == "invalid_credentials"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _count_tokens(app) == 0


def test_token_issue_is_rate_limited_like_web_login(app, client, factory):
    factory.user(login_id="yamada")
    limit = int(re.match(r"\d+", app.config["LOGIN_RATE_LIMIT"]).group())

    statuses = [client.post("/api/v1/tokens", json={"login": "yamada", "password": "x"}
                            ).status_code for _ in range(limit + 1)]

    assert statuses[:limit] == [401] * limit
    assert statuses[-1] == 429
    last = client.post("/api/v1/tokens", json={"login": "yamada", "password": PASSWORD})
    assert last.status_code == 429
    assert last.json["error"]["code"] == "too_many_requests"


def test_missing_token_is_401_with_bearer_challenge(client, cast):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="chounaikai"'


def test_invalid_token_is_401_invalid_token(client, cast):
    for header in ("Bearer cnk_nonsense", "Bearer " + "x" * 5000, "Basic abc", "Bearer"):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
    response = client.get("/api/v1/me", headers=bearer("cnk_nonsense"))
    assert response.json["error"]["code"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_session_cookie_alone_does_not_authenticate(client, cast, login):
    login(cast.users["resident"])
    assert client.get("/").status_code in (200, 302)  # the web session works

    response = client.get("/api/v1/me")
    assert response.status_code == 401
    post = client.post(f"/api/v1/associations/{cast.association.id}/blocks",
                       json={"name": "3班"})
    assert post.status_code == 401
    assert "Set-Cookie" not in response.headers


def test_token_wins_over_a_session_cookie_of_someone_else(client, cast, login):
    login(cast.users["resident"])
    response = client.get("/api/v1/me", headers=cast.headers("leader"))
    assert response.json["id"] == cast.users["leader"].id


def test_revoke_current_token(app, client, cast):
    headers = cast.headers("resident")
    assert client.delete("/api/v1/tokens/current", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    # other tokens of other users are untouched
    assert client.get("/api/v1/me", headers=cast.headers("leader")).status_code == 200


def test_removed_member_token_stops_working_at_once(client, cast):
    resident = cast.headers("resident")
    assert client.get("/api/v1/me", headers=resident).status_code == 200

    removed = client.delete(f"/api/v1/members/{cast.members['resident'].id}",
                            headers=cast.headers("leader"))

    assert removed.status_code == 204
    response = client.get("/api/v1/me", headers=resident)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_registration_is_rate_limited_too(app, client):
    limit = int(re.match(r"\d+", app.config["LOGIN_RATE_LIMIT"]).group())
    statuses = [client.post("/api/v1/register", json={"code": "NOPE"}).status_code
                for _ in range(limit + 1)]
    assert statuses[:limit] == [400] * limit
    assert statuses[-1] == 429


def test_api_never_sets_a_session_cookie(client, cast, login):
    login(cast.users["resident"])
    response = client.get("/api/v1/me", headers=cast.headers("resident"))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"

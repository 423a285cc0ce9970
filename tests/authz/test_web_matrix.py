"""Authorization matrix: every web route × seven actors × own/foreign object.

Each route gets one test; inside it every actor requests the route for an
object in association A and in association B, and all mismatches are
reported together.  A route added to the app without a row here fails
``test_every_web_route_is_in_the_matrix``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.authz.web_routes import WEB_CASES, Case, adjust
from tests.authz.world import ACTORS, RELATIONS, build_world
from tests.factories import PASSWORD
from tests.helpers import csrf_token


def _client_for(app, user):
    client = app.test_client()
    token = csrf_token(client)
    if user is not None:
        response = client.post("/login", data={"login": user.login_id, "password": PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302, f"login failed for {user.login_id}"
        token = csrf_token(client)
    return client, token


def _request(client, token: str, case: Case, world, side: str):
    url = case.url(world, side)
    if case.method == "GET":
        return client.get(url)
    data = dict(case.data(world, side)) if case.data else {}
    if case.fetch:
        return client.post(url, data=data, headers={"X-CSRFToken": token,
                                                    "Accept": "application/json"})
    data["csrf_token"] = token
    return client.post(url, data=data)


def _outcome(response) -> int | str:
    response.close()  # file responses hold an open file until closed
    if response.status_code == 302 and "/login" in response.headers.get("Location", ""):
        return "login"
    return response.status_code


@pytest.mark.parametrize("case", WEB_CASES, ids=[f"{c.method} {c.endpoint}" for c in WEB_CASES])
def test_route_answers_each_actor_as_expected(app, factory, monkeypatch, case: Case):
    # Every actor logs in from the same test address; the login limit has its own test.
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1000 per minute")
    world = build_world(factory, Path(app.config["UPLOAD_FOLDER"]))
    clients = {actor: _client_for(app, world.users[actor]) for actor in ACTORS}
    mismatches = []
    # Side B first: a destructive success on A must not hide a wrong answer on B.
    for side in ("B", "A"):
        for actor in ACTORS:
            client, token = clients[actor]
            relation = RELATIONS[actor][side]
            expected = adjust(case, actor, relation)
            got = _outcome(_request(client, token, case, world, side))
            if got != expected:
                mismatches.append(f"{actor} ({relation}) on {side}: expected {expected}, got {got}")
    assert not mismatches, "\n".join(mismatches)


def test_every_web_route_is_in_the_matrix(app):
    covered = {(case.endpoint, case.method) for case in WEB_CASES}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            continue  # the API has its own matrix
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (rule.endpoint, method) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes without authorization cases:\n" + "\n".join(sorted(missing))

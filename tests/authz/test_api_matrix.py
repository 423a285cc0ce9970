"""Authorization matrix for the JSON API: every route × seven actors × own/foreign object.

Actors authenticate with bearer tokens; the session cookie plays no part.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.authz.api_routes import API_CASES
from tests.authz.web_routes import Case
from tests.authz.world import ACTORS, RELATIONS, build_world


def _call(client, token: str | None, case: Case, world, side: str) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"json": case.data(world, side)} if case.data else {}
    response = client.open(case.url(world, side), method=case.method, headers=headers, **kwargs)
    response.close()
    return response.status_code


@pytest.mark.parametrize("case", API_CASES, ids=[f"{c.method} {c.endpoint}" for c in API_CASES])
def test_api_route_answers_each_actor_as_expected(app, client, factory, monkeypatch, case: Case):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1000 per minute")
    world = build_world(factory, Path(app.config["UPLOAD_FOLDER"]))
    mismatches = []
    for side in ("B", "A"):
        for actor in ACTORS:
            user = world.users[actor]
            # A fresh token per call: DELETE /tokens/current revokes the one it is sent with.
            token = factory.token(user) if user is not None else None
            relation = RELATIONS[actor][side]
            expected = case.expected[relation]
            got = _call(client, token, case, world, side)
            if got != expected:
                mismatches.append(f"{actor} ({relation}) on {side}: expected {expected}, got {got}")
    assert not mismatches, "\n".join(mismatches)


def test_every_api_route_is_in_the_matrix(app):
    covered = {(case.endpoint, case.method) for case in API_CASES}
    missing = [f"{method} {rule.rule} ({rule.endpoint})"
               for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
               for method in rule.methods - {"HEAD", "OPTIONS"}
               if (rule.endpoint, method) not in covered]
    assert not missing, "API routes without authorization cases:\n" + "\n".join(sorted(missing))

"""The OpenAPI document describes exactly the API's routes, and responses match it."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from flask import Flask

from chounaikai.api.openapi import DOCUMENT
from tests.factories import PASSWORD

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
_CONVERTER = re.compile(r"<(?:[a-zA-Z_]+(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def routed_operations(app: Flask) -> dict[tuple[str, str], str]:
    """(OpenAPI path, method) -> view name for every route of the api blueprint."""
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found[(path, method.lower())] = rule.endpoint.removeprefix("api.")
    return found


def documented_operations(document: dict[str, Any]) -> dict[tuple[str, str], dict]:
    return {(path, method): operation for path, item in document["paths"].items()
            for method, operation in item.items() if method in HTTP_METHODS}


def mismatches(app: Flask, document: dict[str, Any]) -> list[str]:
    routed = routed_operations(app)
    documented = documented_operations(document)
    problems = [f"route not in the OpenAPI document: {m.upper()} {p}"
                for p, m in sorted(set(routed) - set(documented))]
    problems += [f"documented but no such route: {m.upper()} {p}"
                 for p, m in sorted(set(documented) - set(routed))]
    for key in set(routed) & set(documented):
        if documented[key].get("operationId") != routed[key]:
            problems.append(f"operationId of {key} should be {routed[key]!r}")
    return problems


def test_document_lists_exactly_the_api_routes(app):
    assert mismatches(app, DOCUMENT) == []


def test_the_comparison_catches_missing_and_extra_paths(app):
    missing = copy.deepcopy(DOCUMENT)
    del missing["paths"]["/api/v1/circulars/{circular_id}/read"]
    missing["paths"]["/api/v1/circulars/{circular_id}"].pop("put")
    extra = copy.deepcopy(DOCUMENT)
    extra["paths"]["/api/v1/ghost/{ghost_id}"] = {"get": {"operationId": "ghost",
                                                          "responses": {"200": {}}}}

    assert mismatches(app, missing) == [
        "route not in the OpenAPI document: PUT /api/v1/circulars/{circular_id}",
        "route not in the OpenAPI document: POST /api/v1/circulars/{circular_id}/read",
    ]
    assert mismatches(app, extra) == ["documented but no such route: GET /api/v1/ghost/{ghost_id}"]


def test_document_structure(app):
    assert DOCUMENT["openapi"].startswith("3.1.")
    assert DOCUMENT["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    operation_ids = []
    for (path, method), operation in documented_operations(DOCUMENT).items():
        assert operation["responses"], (path, method)
        operation_ids.append(operation["operationId"])
        placeholders = set(re.findall(r"{(\w+)}", path))
        declared = {p["$ref"].rsplit("/", 1)[1] for p in operation.get("parameters", [])}
        assert placeholders == declared, (path, method)
        if operation.get("security") != []:
            assert "401" in operation["responses"], (path, method)
    assert len(operation_ids) == len(set(operation_ids))


def test_document_is_served_publicly(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json["openapi"] == DOCUMENT["openapi"]
    assert set(response.json["paths"]) == set(DOCUMENT["paths"])


def test_document_is_valid_openapi():
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(copy.deepcopy(DOCUMENT))


def _response_schema(path: str, method: str, status: int) -> dict[str, Any]:
    response = DOCUMENT["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = DOCUMENT["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return {**response["content"]["application/json"]["schema"],
            "components": DOCUMENT["components"]}


def test_responses_match_their_documented_schemas(app, client, factory, cast):
    """Happy-path and error bodies validate against the document (no extra fields)."""
    schema_validator = pytest.importorskip("openapi_schema_validator")
    circular = factory.circular(cast.association)
    paper = factory.household(cast.association, block=cast.block1, has_smartphone=False)
    a = cast.association.id
    leader, staff, resident = (cast.headers(w) for w in ("leader", "staff", "resident"))
    invite = factory.invite(cast.other)
    checks = [
        ("get", "/api/v1/me", {}, resident, 200),
        ("get", "/api/v1/associations", {}, leader, 200),
        ("get", "/api/v1/staff/associations", {}, staff, 200),
        ("get", "/api/v1/associations/{association_id}/blocks", {}, resident, 200),
        ("get", "/api/v1/associations/{association_id}/households", {}, leader, 200),
        ("get", "/api/v1/associations/{association_id}/members", {}, leader, 200),
        ("post", "/api/v1/associations/{association_id}/invites", {}, leader, 201),
        ("get", "/api/v1/associations/{association_id}/invites", {}, leader, 200),
        ("post", "/api/v1/circulars/{circular_id}/read", {}, resident, 200),
        ("get", "/api/v1/associations/{association_id}/circulars", {}, resident, 200),
        ("get", "/api/v1/associations/{association_id}/circulars/manage", {}, leader, 200),
        ("get", "/api/v1/circulars/{circular_id}", {}, resident, 200),
        ("get", "/api/v1/circulars/{circular_id}/status", {}, leader, 200),
        ("post", "/api/v1/circulars/{circular_id}/paper/{household_id}",
         {"json": {"acknowledge": True}}, leader, 200),
        ("post", "/api/v1/invites/redeem",
         {"json": {"code": invite.code, "household_name": "x"}}, resident, 201),
        ("post", "/api/v1/associations/{association_id}/circulars",
         {"json": {"title": "t", "body": "b", "deadline_at": "2099-01-01T00:00:00Z"}},
         leader, 201),
        ("post", "/api/v1/associations/{association_id}/blocks", {"json": {"name": 1}},
         leader, 400),
        ("post", "/api/v1/tokens",
         {"json": {"login": cast.users["resident"].login_id, "password": PASSWORD}}, {}, 201),
        ("post", "/api/v1/register", {"json": {
            "code": factory.invite(cast.association).code, "display_name": "新人",
            "login_id": "newcomer", "password": PASSWORD, "household_name": "新人家"}}, {}, 201),
        ("get", "/api/v1/me", {}, {}, 401),
        ("get", "/api/v1/associations/{association_id}/members", {}, resident, 403),
    ]
    for method, path, kwargs, headers, status in checks:
        url = path.format(association_id=a, circular_id=circular.id, household_id=paper.id)
        response = client.open(url, method=method.upper(), headers=headers, **kwargs)
        assert response.status_code == status, (path, response.get_json())
        schema_validator.validate(response.get_json(), _response_schema(path, method, status),
                                  cls=schema_validator.OAS31Validator)

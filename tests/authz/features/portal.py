"""Authorization cases: the public disaster portal (see tests/authz/features/__init__.py)."""

from __future__ import annotations

from tests.authz.web_routes import Case, everyone

WEB_CASES: list[Case] = [
    Case("portal.index", "GET", lambda w, s: "/portal", everyone(200)),
]
API_CASES: list[Case] = []

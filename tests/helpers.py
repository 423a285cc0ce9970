"""Helpers for driving the app like a browser does (CSRF tokens included)."""

from __future__ import annotations

import re
from typing import Any

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client) -> str:
    """Read the CSRF token from a page, as the browser's form or script would."""
    page = client.get("/join").get_data(as_text=True)
    match = _META.search(page)
    assert match, "no csrf-token meta tag on /join"
    return match.group(1)


def form_post(client, url: str, data: dict[str, Any] | None = None, **kwargs):
    """POST a form with a valid CSRF token."""
    data = dict(data or {})
    data["csrf_token"] = csrf_token(client)
    return client.post(url, data=data, **kwargs)


def fetch_post(client, url: str, **kwargs):
    """POST as the page script does: CSRF in the X-CSRFToken header, JSON accepted."""
    headers = {"X-CSRFToken": csrf_token(client), "Accept": "application/json"}
    headers.update(kwargs.pop("headers", {}))
    return client.post(url, headers=headers, **kwargs)

"""The production front (docs/deploy/nginx.conf) in front of a real gunicorn.

Its 5-second cache must only ever hold public pages, per language, and never
answer a member (session cookie) or a request that sets a cookie from it.
nginx missing: skipped, unless ``CHOUNAIKAI_REQUIRE_NGINX=1`` (CI) makes that an error.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
import requests
import socketio

from tests import nginx_front
from tests.servers import base_env, gunicorn


@pytest.fixture(scope="module")
def front(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if nginx_front.nginx_binary() is None:
        message = "nginx not installed (apt-get install nginx-light): front tests skipped"
        if os.environ.get("CHOUNAIKAI_REQUIRE_NGINX") == "1":
            pytest.fail(message)
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("front")
    env = {**base_env(database_url), "CHOUNAIKAI_PROXY_HOPS": "1",
           "CHOUNAIKAI_PUSH_WORKER": "off"}
    with gunicorn(env, tmp, name="behind-nginx", threads=8) as server:
        proxy = nginx_front.start(server.url, tmp)
        try:
            yield proxy.url
        finally:
            nginx_front.stop(proxy)


def _get(url: str, **kwargs) -> requests.Response:
    response = requests.get(url, timeout=10, allow_redirects=False, **kwargs)
    assert response.status_code in (200, 302, 304), response.text[:300]
    return response


def test_public_pages_are_kept_per_language(front):
    headers = {"Accept-Language": "vi"}
    first, second = _get(front + "/portal", headers=headers), \
        _get(front + "/portal", headers=headers)
    assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) == \
        ("MISS", "HIT")
    assert first.content == second.content
    assert '<html lang="vi"' in second.text
    # Another language is another copy, never the Vietnamese one.
    korean = [_get(front + "/portal", headers={"Accept-Language": "vi"},
                   cookies={"lang": "ko"}) for _ in range(2)]
    assert [r.headers["X-Cache-Status"] for r in korean] == ["MISS", "HIT"]
    assert '<html lang="ko"' in korean[1].text
    atom = [_get(front + "/alerts.atom") for _ in range(2)]
    assert atom[1].headers["X-Cache-Status"] == "HIT"
    assert "Content-Security-Policy" in atom[1].headers  # the app's headers are kept


def test_members_and_cookie_setting_requests_bypass_the_cache(front):
    _get(front + "/portal")
    member = _get(front + "/portal", cookies={"session": "a-members-session"})
    assert member.headers["X-Cache-Status"] == "BYPASS"
    chosen = [_get(front + "/portal?lang=en") for _ in range(2)]
    assert [r.headers["X-Cache-Status"] for r in chosen] == ["BYPASS", "BYPASS"]
    assert all("lang=en" in r.headers["Set-Cookie"] for r in chosen)


def test_personal_pages_are_never_cached(front):
    for path in ("/login", "/circulars", "/live/events"):
        response = requests.get(front + path, timeout=10, allow_redirects=False)
        assert "X-Cache-Status" not in response.headers, path


def test_static_files_come_from_nginx_with_nosniff(front):
    response = _get(front + "/static/css/app.css")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"].startswith("text/css")
    assert "Cache-Control" in response.headers
    assert "gunicorn" not in response.headers.get(
        "Server", "")


def test_live_updates_pass_through_as_websockets(front):
    """Socket.IO's upgrade crosses the front (anonymous visitors hear the alerts room)."""
    async def connect() -> str:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(front, transports=["websocket"], wait_timeout=10)
        try:
            return client.transport()
        finally:
            await client.disconnect()

    assert asyncio.run(connect()) == "websocket"

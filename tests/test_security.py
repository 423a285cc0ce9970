"""Cross-cutting security: headers on every page, CSRF on every form, escaped user content."""

from __future__ import annotations

import pytest

from chounaikai.models import (
    Association,
    AuditLog,
    Block,
    Circular,
    GlobalRole,
    Household,
    Invite,
    MemberRole,
    Membership,
    Receipt,
    User,
)
from tests.helpers import form_post
from tests.support import client_for, counts, html

SCRIPT = "<script>alert('xss')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;"
TABLES = (Association, AuditLog, Block, Circular, Household, Invite, Membership, Receipt, User)


@pytest.fixture
def world(factory):
    association = factory.association(name=f"町内会{SCRIPT}", blocks=(f"1班{SCRIPT}", "2班"))
    leader = factory.member(association, role=MemberRole.LEADER,
                            user=factory.user(name=f"会長{SCRIPT}"))
    resident = factory.member(
        association, household=factory.household(association, block=association.blocks[0],
                                                 name=f"山田家{SCRIPT}"),
        user=factory.user(name=f"住民{SCRIPT}"))
    circular = factory.circular(association, title=f"回覧{SCRIPT}")
    return {"association": association, "leader": leader, "resident": resident,
            "circular": circular, "invite": factory.invite(association),
            "staff": factory.user(role=GlobalRole.STAFF)}


def _pages(world) -> list[tuple[str, str]]:
    a, c, i = world["association"].id, world["circular"].id, world["invite"].id
    return [
        ("anonymous", "/"), ("anonymous", "/login"), ("anonymous", "/join"),
        ("anonymous", "/no-such-page"),
        ("resident", f"/a/{a}/circulars"), ("resident", f"/circulars/{c}"),
        ("resident", "/settings"), ("resident", "/account/household"),
        ("resident", f"/a/{a}/manage"),  # an error page (403)
        ("leader", "/"), ("leader", f"/a/{a}/manage"), ("leader", f"/a/{a}/invites"),
        ("leader", f"/a/{a}/circulars/manage"), ("leader", f"/a/{a}/circulars/new"),
        ("leader", f"/circulars/{c}/status"), ("leader", f"/circulars/{c}/edit"),
        ("leader", f"/invites/{i}/print"),
        ("staff", "/staff/"),
    ]


def _client(app, world, who: str):
    return app.test_client() if who == "anonymous" else client_for(
        app, world[who] if who == "staff" else world[who].user)


def test_every_html_page_sends_the_security_headers(app, world):
    clients = {}
    for who, path in _pages(world):
        if who not in clients:
            clients[who] = _client(app, world, who)
        client = clients[who]
        response = client.get(path)
        assert response.mimetype == "text/html", path
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
        assert "'unsafe-inline'" not in directives["script-src"], path
        assert "'unsafe-eval'" not in directives["script-src"], path
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] in {"same-origin", "strict-origin-when-cross-origin",
                                              "no-referrer"}, path


def test_pages_have_no_inline_script(app, world):
    client = client_for(app, world["leader"].user)

    for who, path in _pages(world):
        if who != "leader":
            continue
        page = html(client.get(path))
        assert "<script>" not in page, path
        assert " onclick=" not in page, path
        assert " onload=" not in page, path


def test_no_hsts_over_plain_http_in_development(app, world):
    response = app.test_client().get("/login")

    assert "Strict-Transport-Security" not in response.headers


def _csrf_cases(world) -> list[tuple[str, str, dict]]:
    a, c = world["association"].id, world["circular"].id
    household, member = world["resident"].household.id, world["resident"].id
    block = world["association"].blocks[1].id
    return [
        ("leader", f"/a/{a}/circulars", {"title": "t", "body": "b", "audience": "all"}),
        ("leader", f"/circulars/{c}/edit", {"title": "t", "body": "b", "audience": "all"}),
        ("leader", f"/circulars/{c}/paper/{household}", {"acknowledge": "1"}),
        ("leader", f"/a/{a}/blocks", {"name": "3班"}),
        ("leader", f"/blocks/{block}/delete", {}),
        ("leader", f"/a/{a}/households", {"name": "新しい家", "paper": "1"}),
        ("leader", f"/households/{household}/block", {"block_id": str(block)}),
        ("leader", f"/members/{member}/role", {"role": "leader"}),
        ("leader", f"/members/{member}/remove", {}),
        ("leader", f"/a/{a}/invites", {"role": "resident", "uses": "many"}),
        ("leader", f"/invites/{world['invite'].id}/revoke", {}),
        ("resident", f"/circulars/{c}/read", {}),
        ("resident", f"/circulars/{c}/ack", {}),
        ("resident", "/settings", {"locale": "en", "large_text": "1"}),
        ("staff", "/staff/associations", {"name": "新町内会", "district": "成瀬"}),
        ("staff", f"/staff/associations/{a}/leader-invite", {}),
        ("anonymous", "/login", {"login": "x", "password": "y"}),
        ("anonymous", "/join", {"code": world["invite"].code, "display_name": "x",
                                "login_id": "newbie", "password": "long enough pass",
                                "household_name": "家"}),
    ]


CASE_IDS = ["create circular", "correct circular", "paper receipt", "create block",
            "delete block", "create household", "move household", "change role",
            "remove member", "create invite", "revoke invite", "mark read", "acknowledge",
            "settings", "create association", "leader invite", "login", "join"]


@pytest.mark.parametrize("case", range(len(CASE_IDS)), ids=CASE_IDS)
@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_post_without_valid_csrf_token_is_refused_and_writes_nothing(app, world, case, token):
    who, url, data = _csrf_cases(world)[case]
    client = _client(app, world, who)
    before = counts(app, *TABLES)
    if token == "wrong":
        data = {**data, "csrf_token": "forged-token"}

    response = client.post(url, data=data)

    assert response.status_code == 400
    assert "時間が経ったため送信できませんでした。" in html(response)
    assert counts(app, *TABLES) == before


def test_logout_without_csrf_token_keeps_the_session(app, world):
    client = client_for(app, world["resident"].user)

    assert client.post("/logout").status_code == 400
    assert client.get("/settings").status_code == 200


def test_csrf_token_in_header_is_accepted_for_script_requests(app, world):
    client = client_for(app, world["resident"].user)

    response = form_post(client, f"/circulars/{world['circular'].id}/read")

    assert response.status_code == 302
    assert counts(app, Receipt)["Receipt"] == 1


@pytest.mark.parametrize(("who", "path"), [
    ("resident", "/a/{a}/circulars"),
    ("resident", "/circulars/{c}"),
    ("resident", "/account/household"),
    ("leader", "/a/{a}/manage"),
    ("leader", "/circulars/{c}/status"),
    ("leader", "/a/{a}/circulars/manage"),
    ("leader", "/circulars/{c}/edit"),
    ("leader", "/a/{a}/invites"),
    ("leader", "/invites/{i}/print"),
    ("staff", "/staff/"),
])
def test_user_content_is_escaped(app, world, who, path):
    client = _client(app, world, who)
    url = path.format(a=world["association"].id, c=world["circular"].id,
                      i=world["invite"].id)

    response = client.get(url)

    assert response.status_code == 200
    page = html(response)
    assert SCRIPT not in page
    assert ESCAPED in page


def test_each_kind_of_user_content_is_escaped_where_it_is_shown(app, world):
    leader = client_for(app, world["leader"].user)
    roster = html(leader.get(f"/a/{world['association'].id}/manage"))
    status = html(leader.get(f"/circulars/{world['circular'].id}/status"))
    show = html(client_for(app, world["resident"].user).get(f"/circulars/{world['circular'].id}"))

    assert f"住民{ESCAPED}" in roster
    assert f"山田家{ESCAPED}" in roster
    assert f"1班{ESCAPED}" in roster
    assert f"住民{ESCAPED}" in status
    assert f"山田家{ESCAPED}" in status
    assert f"<h1>回覧{ESCAPED}</h1>" in show
    assert f"<title>回覧{ESCAPED} |" in show


def test_flash_message_with_user_content_is_escaped(app, world):
    client = client_for(app, world["staff"])

    response = form_post(client, "/staff/associations", {"name": SCRIPT, "district": "成瀬"},
                         follow_redirects=True)

    page = html(response)
    assert SCRIPT not in page
    assert ESCAPED in page


def test_session_cookie_is_httponly_and_samesite(app, world):
    client = app.test_client()

    response = form_post(client, "/login", {"login": world["resident"].user.login_id,
                                            "password": "correct horse battery"})

    cookies = [value for key, value in response.headers.items() if key == "Set-Cookie"]
    session = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session
    assert "SameSite=Lax" in session
    remember = next(c for c in cookies if c.startswith("remember_token="))
    assert "HttpOnly" in remember


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/"])
def test_language_switcher_does_not_redirect_off_site(client, target):
    response = form_post(client, "/language", {"locale": "en", "next": target})

    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


@pytest.mark.parametrize("target", ["/\\evil.example", "/\t/evil.example"])
def test_language_switcher_does_not_redirect_off_site_via_backslash_or_tab(client, target):
    response = form_post(client, "/language", {"locale": "en", "next": target})

    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


@pytest.mark.parametrize(("hops", "expected"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_forwarded_addresses_are_trusted_only_behind_a_configured_proxy(
        database_url, tmp_path, hops, expected):
    """Login rate limits key on the address: only a configured proxy may name it."""
    from flask import request

    from chounaikai import create_app
    from chounaikai.database import dispose_engines

    app = create_app({"TESTING": True, "SECRET_KEY": "proxy-test", "DATABASE_URL": database_url,
                      "UPLOAD_FOLDER": str(tmp_path), "PROXY_HOPS": hops})
    app.add_url_rule("/_test/address", "address", lambda: request.remote_addr)
    try:
        response = app.test_client().get("/_test/address", headers={
            "X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert response.get_data(as_text=True) == expected
    finally:
        dispose_engines(app)  # its own pools: no connection left for the GC to find

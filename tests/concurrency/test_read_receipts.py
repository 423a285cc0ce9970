"""1,000 concurrent read-receipt POSTs (500 members × 2) against a real gunicorn server.

Expect: every response 200, exactly one receipt per member, no duplicate
(circular_id, user_id) pairs, every read_at set, and no traceback in the
server's log.  Runs on SQLite and on PostgreSQL (``CHOUNAIKAI_TEST_DATABASE_URL``).

The JSON API route (bearer tokens) is used when the app has it; the web route
(Flask session cookie + CSRF header, as the page's script sends it) is tested
too, with sessions forged with the app's own signing serializer so 500 logins
do not spend 500 argon2 hashes.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import aiohttp
import pytest
from flask import Flask, session
from flask_login.utils import _create_identifier
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chounaikai.models import Receipt

pytestmark = pytest.mark.slow

MEMBERS = 500
REPEATS = 2
IN_FLIGHT = 200
USER_AGENT = "chounaikai-concurrency-test"


@dataclass(frozen=True)
class Member:
    user_id: int
    headers: dict[str, str]


def _forged_web_headers(app: Flask, user_id: int) -> dict[str, str]:
    """Headers of a logged-in browser tab: signed session cookie + matching X-CSRFToken.

    Built with the app's own session serializer and Flask-WTF, exactly what a
    real login followed by a page load would leave in the browser.
    """
    with app.test_request_context(
            headers={"User-Agent": USER_AGENT}, environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        session["_user_id"] = f"{user_id}:1"
        session["_fresh"] = True
        session["_id"] = _create_identifier()
        csrf = generate_csrf()  # stores the raw token in the session, returns the signed one
        cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    name = app.config["SESSION_COOKIE_NAME"]
    return {"Cookie": f"{name}={cookie}", "X-CSRFToken": csrf, "Accept": "application/json"}


async def _send_all(base_url: str, url_path: str, members: list[Member]) -> list[tuple[int, str]]:
    jobs = [m for m in members for _ in range(REPEATS)]
    random.shuffle(jobs)
    gate = asyncio.Semaphore(IN_FLIGHT)
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)

    async with aiohttp.ClientSession(base_url, timeout=timeout, connector=connector,
                                     cookie_jar=aiohttp.DummyCookieJar(),
                                     headers={"User-Agent": USER_AGENT}) as http:
        async def one(member: Member) -> tuple[int, str]:
            async with gate:
                try:
                    async with http.post(url_path, headers=member.headers) as response:
                        body = await response.text()
                        return response.status, body[:200]
                except aiohttp.ClientError as error:  # a dropped connection is an error too
                    return -1, repr(error)

        return await asyncio.gather(*(one(m) for m in jobs))


@pytest.mark.parametrize("route", ["api", "web"])
def test_concurrent_read_receipts_one_row_per_member(route, app, factory, live_server):
    association = factory.association()
    circular = factory.circular(association)
    pairs = factory.bulk_members(association, MEMBERS, per_household=2)
    if route == "api":
        url_path = f"/api/v1/circulars/{circular.id}/read"
        members = [Member(uid, {"Authorization": f"Bearer {tok}", "Accept": "application/json"})
                   for uid, tok in pairs]
    else:
        url_path = f"/circulars/{circular.id}/read"
        members = [Member(uid, _forged_web_headers(app, uid)) for uid, _tok in pairs]
    log_offset = live_server.log_size()

    results = asyncio.run(_send_all(live_server.url, url_path, members))

    failures = [r for r in results if r[0] != 200]
    assert len(results) == MEMBERS * REPEATS
    assert not failures, f"{len(failures)} non-200 responses, e.g. {failures[:5]}"
    with Session(factory._engine) as db:
        rows = db.execute(select(Receipt.user_id, Receipt.read_at, Receipt.household_id)
                          .where(Receipt.circular_id == circular.id)).all()
        duplicates = db.execute(
            select(Receipt.user_id, func.count()).where(Receipt.circular_id == circular.id)
            .group_by(Receipt.circular_id, Receipt.user_id).having(func.count() > 1)).all()
        total = db.scalar(select(func.count()).select_from(Receipt))
    assert len(rows) == MEMBERS
    assert duplicates == []
    assert total == MEMBERS  # nothing written for any other circular either
    assert {r.user_id for r in rows} == {uid for uid, _tok in pairs}
    assert all(r.read_at is not None for r in rows)
    server_log = live_server.log_text(log_offset)
    assert "Traceback" not in server_log, server_log[-4000:]
    assert "database is locked" not in server_log, server_log[-4000:]

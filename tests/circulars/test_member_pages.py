"""Members' inbox and circular pages replayed while nothing on them changed
(chounaikai/memberpages.py, chounaikai/pageversions.py, chounaikai/replay.py).

Each test counts the requests that reach Flask, so "replayed" and "rendered afresh"
are observed, not assumed.  The changes are made the way the app makes them (its
services and forms) and, once, behind its back with plain SQL.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from chounaikai import memberpages, pageversions
from chounaikai.associations import services as associations
from chounaikai.circulars import reader
from chounaikai.circulars import services as circulars
from chounaikai.extensions import db
from chounaikai.models import Circular, GlobalRole, MemberRole, User, utcnow
from chounaikai.safety import services as safety
from tests.alerts.helpers import issue
from tests.helpers import fetch_post, form_post
from tests.support import client_for, counting_flask, html, recorded_sql, same_answer


@pytest.fixture
def flask_calls(app, monkeypatch):
    with counting_flask(app, monkeypatch) as counter:
        yield counter


def act(app, actor_id: int, change) -> None:
    """Run a service as ``actor`` in a request of its own, committed as a request would."""
    with app.test_request_context("/", method="POST"):
        change(db.session.get(User, actor_id))
        db.session.commit()


def inbox_url(town) -> str:
    return f"/a/{town['association'].id}/circulars"


def test_an_unchanged_inbox_goes_back_to_the_same_session_without_flask(
        app, town, factory, flask_calls):
    factory.circular(town["association"], title="ごみ当番のお知らせ")
    resident = client_for(app, town["in_one"].user)
    calls = flask_calls.calls
    first = resident.get(inbox_url(town))
    second = resident.get(inbox_url(town))
    assert "ごみ当番のお知らせ" in html(first)
    assert flask_calls.calls == calls + 1
    same_answer(first, second)
    # The same member in another browser has another session: Flask answers it.
    other = client_for(app, town["in_one"].user)
    calls = flask_calls.calls
    assert "ごみ当番のお知らせ" in html(other.get(inbox_url(town)))
    assert flask_calls.calls == calls + 1
    # And a request without the session is never given the member's page.
    anonymous = app.test_client().get(inbox_url(town))
    assert anonymous.status_code == 302


def _publish(app, town, factory):
    factory.circular(town["association"], title="新しい回覧です")
    return "新しい回覧です"


def _correct(app, town, factory):
    circular = town["circular"]
    act(app, town["leader"].user.id, lambda actor: circulars.correct_circular(
        actor=actor, circular_id=circular.id,
        data=circulars.CircularInput(title="日時を訂正しました", body_md="10時からです。")))
    return "日時を訂正しました"


def _move_to_block_two(app, town, factory):
    factory.circular(town["association"], title="2班だけの回覧", blocks=[town["two"]])
    act(app, town["leader"].user.id, lambda actor: associations.move_household(
        actor=actor, household_id=town["in_one"].household_id, block_id=town["two"].id))
    return "2班だけの回覧"


def _make_block_leader(app, town, factory):
    act(app, town["leader"].user.id, lambda actor: associations.change_role(
        actor=actor, membership_id=town["in_one"].id, role=MemberRole.BLOCK_LEADER))
    return "回覧の管理（役員）"


def _issue_alert(app, town, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    issue(app, staff.id)
    return 'class="alert-band'


def _start_safety_round(app, town, factory):
    act(app, town["leader"].user.id, lambda actor: safety.start_round(
        actor=actor, association_id=town["association"].id))
    return "安否確認をしています"


def _sql_behind_the_apps_back(app, town, factory):
    with app.app_context():
        db.session.execute(update(Circular).where(Circular.id == town["circular"].id)
                           .values(title="SQLで変えた題名"))
        db.session.commit()
    return "SQLで変えた題名"


@pytest.mark.parametrize("change", [
    _publish, _correct, _move_to_block_two, _make_block_leader, _issue_alert,
    _start_safety_round, _sql_behind_the_apps_back,
], ids=lambda change: change.__name__.strip("_"))
def test_whatever_changes_on_the_inbox_renders_it_afresh(app, town, factory, flask_calls,
                                                         change):
    town["circular"] = factory.circular(town["association"], title="最初の回覧")
    resident = client_for(app, town["in_one"].user)
    resident.get(inbox_url(town))
    calls = flask_calls.calls
    before = html(resident.get(inbox_url(town)))
    assert flask_calls.calls == calls  # replayed
    shows = change(app, town, factory)
    assert shows not in before
    after = resident.get(inbox_url(town))
    assert flask_calls.calls == calls + 1
    assert shows in html(after)


def test_reading_changes_the_inbox_but_not_the_other_circulars_pages(
        app, town, factory, flask_calls):
    first = factory.circular(town["association"], title="一つ目")
    second = factory.circular(town["association"], title="二つ目")
    resident = client_for(app, town["in_one"].user)
    for url in (inbox_url(town), f"/circulars/{first.id}", f"/circulars/{second.id}"):
        resident.get(url)
    calls = flask_calls.calls
    assert 'data-count="2"' in html(resident.get(inbox_url(town)))
    assert 'data-read-url="/circulars/' in html(resident.get(f"/circulars/{second.id}"))
    assert flask_calls.calls == calls

    assert fetch_post(resident, f"/circulars/{first.id}/read").status_code == 200
    calls = flask_calls.calls
    assert 'data-count="1"' in html(resident.get(inbox_url(town)))
    assert flask_calls.calls == calls + 1
    # The second circular's page does not show the first one's receipt: still replayed.
    assert 'data-read-url="/circulars/' in html(resident.get(f"/circulars/{second.id}"))
    assert flask_calls.calls == calls + 1
    # The first one's page does: rendered afresh, without the read request.
    assert 'data-read-url=""' in html(resident.get(f"/circulars/{first.id}"))
    assert flask_calls.calls == calls + 2
    form_post(resident, f"/circulars/{first.id}/ack")
    assert "確認済み" in html(resident.get(f"/circulars/{first.id}"))


def test_a_removed_member_is_answered_by_flask_at_once(app, town, factory, flask_calls):
    circular = factory.circular(town["association"])
    resident = client_for(app, town["in_one"].user)
    for _ in range(2):
        assert resident.get(f"/circulars/{circular.id}").status_code == 200
        assert resident.get(inbox_url(town)).status_code == 200
    act(app, town["leader"].user.id, lambda actor: associations.remove_member(
        actor=actor, membership_id=town["in_one"].id))
    for url in (f"/circulars/{circular.id}", inbox_url(town)):
        response = resident.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_a_new_language_setting_renders_afresh(app, town, factory, flask_calls):
    factory.circular(town["association"])
    resident = client_for(app, town["in_one"].user)
    assert '<html lang="ja"' in html(resident.get(inbox_url(town)))
    form_post(resident, "/settings", {"locale": "en"})
    assert '<html lang="en"' in html(resident.get(inbox_url(town)))


def test_answers_that_change_the_session_are_not_kept(app, town, factory, flask_calls):
    circular = factory.circular(town["association"])
    resident = client_for(app, town["in_one"].user)
    resident.get(inbox_url(town))
    # A flash message is shown once: the page that shows it consumes it (Set-Cookie).
    form_post(resident, f"/circulars/{circular.id}/ack")
    calls = flask_calls.calls
    shown = html(resident.get(f"/circulars/{circular.id}"))
    assert "確認を記録しました" in shown
    again = html(resident.get(f"/circulars/{circular.id}"))
    assert "確認を記録しました" not in again
    assert flask_calls.calls == calls + 2


def test_a_scheduled_circular_appears_at_its_time(app, town, factory, flask_calls,
                                                  monkeypatch):
    factory.circular(town["association"], title="予約した回覧",
                     publish_at=utcnow() + timedelta(hours=2))
    resident = client_for(app, town["in_one"].user)
    resident.get(inbox_url(town))
    calls = flask_calls.calls
    assert "予約した回覧" not in html(resident.get(inbox_url(town)))
    assert flask_calls.calls == calls
    later = utcnow() + timedelta(hours=3)
    for module in (memberpages, reader):
        monkeypatch.setattr(module, "utcnow", lambda: later)
    assert "予約した回覧" in html(resident.get(inbox_url(town)))
    assert flask_calls.calls == calls + 1


def test_a_kept_page_is_not_replayed_past_its_age_limit(app, town, factory, flask_calls,
                                                        monkeypatch):
    factory.circular(town["association"])
    resident = client_for(app, town["in_one"].user)
    resident.get(inbox_url(town))
    calls = flask_calls.calls
    resident.get(inbox_url(town))
    assert flask_calls.calls == calls
    later = utcnow() + timedelta(seconds=app.config["MEMBER_PAGE_CACHE_SECONDS"] + 1)
    monkeypatch.setattr(memberpages, "utcnow", lambda: later)
    resident.get(inbox_url(town))
    assert flask_calls.calls == calls + 1


def test_pages_are_rendered_every_time_when_the_cache_is_off(app, town, factory, flask_calls,
                                                             monkeypatch):
    monkeypatch.setitem(app.config, "MEMBER_PAGE_CACHE_SECONDS", 0)
    factory.circular(town["association"])
    resident = client_for(app, town["in_one"].user)
    calls = flask_calls.calls
    for _ in range(3):
        resident.get(inbox_url(town))
    assert flask_calls.calls == calls + 3


def test_the_probe_is_the_first_thing_a_kept_page_reads(app, town, factory):
    """Everything the page shows is then at least as new as what it is kept under."""
    circular = factory.circular(town["association"])
    resident = client_for(app, town["in_one"].user)
    with recorded_sql(app) as statements:
        for url in (inbox_url(town), f"/circulars/{circular.id}"):
            statements.clear()
            assert resident.get(url).status_code == 200
            reads = [s for s in statements if not s.startswith(("BEGIN", "SELECT 1"))]
            assert reads[0].startswith("SELECT (SELECT version FROM page_versions"), reads[:2]


def test_a_circulars_page_is_rendered_once_for_everyone_who_has_not_read_it(
        app, town, factory, flask_calls):
    """…yet each member's copy carries their own session's CSRF token and live room."""
    from flask import template_rendered

    circular = factory.circular(town["association"], title="みんなが開く回覧")
    readers = [town["in_one"], town["in_two"], factory.member(town["association"])]
    clients = [client_for(app, member.user) for member in readers]
    rendered: list[str] = []

    def count(_app, template, **_extra):
        rendered.append(template.name)

    template_rendered.connect(count, app)
    try:
        pages = [html(c.get(f"/circulars/{circular.id}")) for c in clients]
    finally:
        template_rendered.disconnect(count, app)
    assert rendered.count("circulars/show.html") == 1
    tokens = [re.search(r'<meta name="csrf-token" content="([^"]+)"', p).group(1) for p in pages]
    for member, page in zip(readers, pages, strict=True):
        assert f"user:{member.user.id}" in page
        assert "chounaikai-session-token-" not in page
        assert "chounaikai-live-rooms-" not in page
    # Each token works for its own session only (Flask-WTF ties it to the session).
    assert fetch_post_with(clients[1], f"/circulars/{circular.id}/read",
                           tokens[0]).status_code == 400
    assert fetch_post_with(clients[1], f"/circulars/{circular.id}/read",
                           tokens[1]).status_code == 200
    # The one who has read it now has a page of their own; the others still share one.
    assert 'data-read-url=""' in html(clients[1].get(f"/circulars/{circular.id}"))
    assert 'data-read-url="/circulars/' in html(clients[2].get(f"/circulars/{circular.id}"))


def test_a_shared_circular_page_follows_language_alerts_and_flashes(
        app, town, factory, flask_calls):
    circular = factory.circular(town["association"])
    factory.translation(circular, "en", "Fire drill", "Sunday at nine.")
    resident = client_for(app, town["in_one"].user)
    english = client_for(app, factory.member(town["association"],
                                             user=factory.user(locale="en")).user)
    assert "防災訓練のお知らせ" in html(resident.get(f"/circulars/{circular.id}"))
    assert "Fire drill" in html(english.get(f"/circulars/{circular.id}"))
    issue(app, factory.user(role=GlobalRole.STAFF).id)
    assert 'class="alert-band' in html(resident.get(f"/circulars/{circular.id}"))
    form_post(resident, f"/circulars/{circular.id}/ack")  # leaves a flash message
    assert "確認を記録しました" in html(resident.get(f"/circulars/{circular.id}"))


def test_an_inbox_is_rendered_once_for_its_members_but_each_sees_their_own_marks(
        app, town, factory, flask_calls):
    """The list page is shared like a circular's page; the unread count and the read
    marks are each member's own, and so are the session token and live room."""
    from flask import template_rendered

    first = factory.circular(town["association"], title="ごみ当番のお知らせ")
    factory.circular(town["association"], title="夏祭りのお知らせ")
    members = [town["in_one"], factory.member(town["association"], block=town["one"])]
    clients = [client_for(app, member.user) for member in members]
    assert fetch_post(clients[0], f"/circulars/{first.id}/read").status_code == 200
    rendered: list[str] = []

    def count(_app, template, **_extra):
        rendered.append(template.name)

    template_rendered.connect(count, app)
    try:
        pages = [html(c.get(inbox_url(town))) for c in clients]
    finally:
        template_rendered.disconnect(count, app)
    assert rendered.count("circulars/inbox.html") == 1
    assert 'data-count="1"' in pages[0]
    assert 'data-count="2"' in pages[1]
    assert pages[0].count('class="circular-item unread"') == 1
    assert pages[1].count('class="circular-item unread"') == 2
    for member, page in zip(members, pages, strict=True):
        assert f"user:{member.user.id}" in page
        assert "chounaikai-personal-" not in page
        assert "chounaikai-session-token-" not in page
    tokens = {re.search(r'<meta name="csrf-token" content="([^"]+)"', p).group(1) for p in pages}
    assert len(tokens) == 2
    # A leader's list (other buttons) is a page of its own; a flash is rendered as usual.
    leader = client_for(app, town["leader"].user)
    assert "回覧の管理" in html(leader.get(inbox_url(town)))
    assert "回覧の管理" not in html(clients[1].get(inbox_url(town)))
    form_post(clients[1], f"/circulars/{first.id}/ack", follow_redirects=False)
    page = html(clients[1].get(inbox_url(town)))  # the flash is shown here, not shared
    assert "確認を記録しました" in page
    assert 'data-count="1"' in page
    assert "chounaikai-personal-" not in page


def fetch_post_with(client, url: str, token: str):
    return client.post(url, headers={"X-CSRFToken": token, "Accept": "application/json"})


def test_a_replay_check_whose_connection_the_database_ended_renders_the_page(
        app, town, factory, flask_calls):
    """PostgreSQL: replay checks run on a pool of their own without a pre-ping
    (pageversions.outside_engine).  A connection the server ended on them is caught:
    the page is rendered by Flask, and the next visit is replayed again."""
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite replay checks use the app's own engine")
    factory.circular(town["association"], title="断線のあとの回覧")
    resident = client_for(app, town["in_one"].user)
    resident.get(inbox_url(town))
    calls = flask_calls.calls
    assert "断線のあとの回覧" in html(resident.get(inbox_url(town)))
    assert flask_calls.calls == calls  # replayed: the probe pool holds a connection now

    probes = text("SELECT pid FROM pg_stat_activity WHERE application_name = :name "
                  "AND datname = current_database()")
    with app.app_context():
        pids = db.session.scalars(probes, {"name": pageversions.PROBE_APPLICATION_NAME}).all()
        assert pids
        for pid in pids:
            db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        deadline = time.monotonic() + 10
        while db.session.scalars(probes, {"name": pageversions.PROBE_APPLICATION_NAME}).all():
            assert time.monotonic() < deadline, "the probe connections did not end"
            db.session.rollback()  # a fresh snapshot of pg_stat_activity
            time.sleep(0.05)
        db.session.rollback()

    after = resident.get(inbox_url(town))
    assert after.status_code == 200
    assert "断線のあとの回覧" in html(after)
    assert flask_calls.calls == calls + 1  # the check failed: Flask rendered it
    resident.get(inbox_url(town))
    assert flask_calls.calls == calls + 1  # and the pool reconnected for the next check

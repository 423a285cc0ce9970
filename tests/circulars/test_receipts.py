"""Read receipts through the web routes: idempotent, per household, audited."""

from __future__ import annotations

from sqlalchemy import func, select

from chounaikai.extensions import db
from chounaikai.models import AuditLog, MemberRole, Receipt
from tests.helpers import csrf_token, fetch_post, form_post
from tests.support import recorded_sql


def test_opening_records_read_once_even_when_repeated(app, client, factory, login):
    association = factory.association()
    member = factory.member(association)
    circular = factory.circular(association)
    login(member.user)

    first = fetch_post(client, f"/circulars/{circular.id}/read")
    second = fetch_post(client, f"/circulars/{circular.id}/read")

    assert first.status_code == second.status_code == 200
    assert first.json["read_at"] == second.json["read_at"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 1


def test_read_without_csrf_token_is_refused(app, client, factory, login):
    association = factory.association()
    member = factory.member(association)
    circular = factory.circular(association)
    login(member.user)

    response = client.post(f"/circulars/{circular.id}/read")

    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 0


def test_status_page_counts_household_read_when_any_member_read(app, client, factory, login):
    association = factory.association()
    leader = factory.member(association, role=MemberRole.LEADER)
    reader = factory.member(association)
    factory.member(association, household=reader.household)  # same household, not read
    factory.member(association)  # another household, not read
    circular = factory.circular(association)
    login(reader.user)
    assert fetch_post(client, f"/circulars/{circular.id}/read").status_code == 200
    leader_client = app.test_client()
    form_post(leader_client, "/login", {"login": leader.user.login_id,
                                        "password": "correct horse battery"})
    page = leader_client.get(f"/circulars/{circular.id}/status")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # 3 households in the audience (leader's, reader's, the other), 1 read.
    assert '<strong>1</strong> / 3' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "receipts.view")) == 1


def test_a_first_read_loads_the_member_once_and_checks_again_under_the_write_lock(
        app, client, factory, login):
    """start_writing(keep_loaded=True): the member row read by the check is not selected
    again after the read-only transaction ends; the readability check is repeated."""
    association = factory.association()
    member = factory.member(association)
    circular = factory.circular(association)
    login(member.user)
    headers = {"X-CSRFToken": csrf_token(client), "Accept": "application/json"}
    with recorded_sql(app) as statements:
        response = client.post(f"/circulars/{circular.id}/read", headers=headers)
    assert response.status_code == 200
    user_loads = [s for s in statements if s.startswith("SELECT users.")]
    assert len(user_loads) == 1, user_loads
    inserted = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO receipts"))
    checks = [i for i, s in enumerate(statements)
              if s.startswith("SELECT circulars.publish_at, memberships.role")]
    assert len(checks) == 2, statements
    assert checks[0] < checks[1] < inserted, statements

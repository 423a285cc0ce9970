"""The demo data `make run` seeds: idempotent, realistic, and its printed logins work."""

from __future__ import annotations

from sqlalchemy import func, select

from chounaikai.auth.passwords import verify_password
from chounaikai.demo import DEMO_PASSWORD, seed_demo
from chounaikai.extensions import db
from chounaikai.models import (
    Association,
    Block,
    Circular,
    GlobalRole,
    Household,
    MemberRole,
    Membership,
    Receipt,
    User,
)
from tests.helpers import form_post
from tests.support import counts, html

TABLES = (Association, Block, Household, User, Membership, Circular, Receipt)


def _seed(app) -> list[tuple[str, str]]:
    with app.test_request_context():
        logins = seed_demo()
        db.session.commit()
    return logins


def test_seed_demo_is_idempotent_and_looks_like_a_real_town(app):
    """One seeding (argon2 makes each ~27 password hashes slow), checked from every side."""
    logins = _seed(app)
    first = counts(app, *TABLES)

    assert _seed(app) == logins
    assert counts(app, *TABLES) == first

    with app.app_context():
        associations = list(db.session.scalars(select(Association).order_by(Association.id)))
        staff = db.session.scalar(select(User).where(User.global_role == GlobalRole.STAFF))
        paper = db.session.scalar(select(func.count()).select_from(Household)
                                  .where(Household.has_smartphone.is_(False)))
        leaders = db.session.scalar(select(func.count()).select_from(Membership)
                                    .where(Membership.role == MemberRole.LEADER))
        reads = db.session.execute(
            select(Circular.association_id,
                   select(func.count(func.distinct(Receipt.household_id)))
                   .where(Receipt.circular_id == Circular.id).scalar_subquery())).all()
        households = dict(db.session.execute(
            select(Household.association_id, func.count()).group_by(Household.association_id)
        ).all())

    assert [a.name for a in associations] == ["原町田一丁目町内会", "鶴川団地自治会"]
    assert 25 <= first["Household"] <= 35
    assert staff is not None
    assert staff.login_id == "staff"
    assert paper > 0  # some households read on paper
    assert leaders == 2
    assert len(reads) >= 2
    for association_id, read in reads:  # some, but not all, households have read each one
        assert 0 < read < households[association_id]


def test_printed_logins_exist_and_log_in_with_the_demo_password(app):
    logins = dict(_seed(app))
    with app.app_context():
        users = {u.login_id: u for u in db.session.scalars(
            select(User).where(User.login_id.in_(logins)))}
        roles = {login_id: db.session.scalar(select(Membership.role).where(
            Membership.user_id == users[login_id].id))
            for login_id in logins if login_id != "staff"}
        db.session.expunge_all()

    assert set(users) == set(logins)
    assert "haramachida-04" in logins
    assert users["staff"].is_staff
    assert roles["haramachida-leader"] == MemberRole.LEADER
    assert roles["haramachida-hancho1"] == MemberRole.BLOCK_LEADER
    assert roles["haramachida-04"] == MemberRole.RESIDENT
    assert roles["tsurukawa-leader"] == MemberRole.LEADER
    assert all(verify_password(user.password_hash, DEMO_PASSWORD) for user in users.values())
    # One of them through the real login form, as a newcomer would.
    client = app.test_client()
    assert form_post(client, "/login", {"login": "haramachida-04",
                                        "password": DEMO_PASSWORD + "x"}).status_code == 401
    response = form_post(client, "/login", {"login": "haramachida-04", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    landing = client.get(response.headers["Location"], follow_redirects=True)
    assert landing.status_code == 200
    assert "秋の防災訓練のお知らせ" in html(landing)

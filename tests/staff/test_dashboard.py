"""City staff see counts per association and nothing about individual residents."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chounaikai.errors import PermissionDenied
from chounaikai.extensions import db
from chounaikai.models import AuditLog, GlobalRole, MemberRole, User, utcnow
from chounaikai.staff import services
from tests.helpers import fetch_post, form_post
from tests.support import client_for, count, html


@pytest.fixture
def city(factory):
    """Two associations with residents whose names staff must never see."""
    first = factory.association(name="原町田一丁目町内会", district="原町田")
    second = factory.association(name="鶴川団地自治会", district="鶴川")
    leader = factory.member(first, role=MemberRole.LEADER,
                            user=factory.user(name="会長の山田太郎"))
    reader = factory.member(first, user=factory.user(name="住民の佐藤花子"))
    family = factory.member(first, household=reader.household,
                            user=factory.user(name="家族の佐藤一郎"))
    factory.household(first, name="紙の鈴木家", has_smartphone=False)
    other = factory.member(second, user=factory.user(name="鶴川の田中次郎"))
    published = factory.circular(first, title="公開済み")
    factory.circular(first, title="予約", publish_at=utcnow() + timedelta(days=1))
    factory.circular(second, title="鶴川の回覧")
    return {"first": first, "second": second, "leader": leader, "reader": reader,
            "family": family, "other": other, "published": published,
            "staff": factory.user(role=GlobalRole.STAFF, name="市役所の職員")}


def _rows(page: str) -> dict[str, list[str]]:
    rows = {}
    for name, cells in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', page, re.S):
        rows[name] = re.findall(r"<td>([^<]*)</td>", cells)
    return rows


def test_dashboard_shows_counts_per_association(app, city):
    for member in ("reader", "family"):
        fetch_post(client_for(app, city[member].user), f"/circulars/{city['published'].id}/read")
    client = client_for(app, city["staff"])

    response = client.get("/staff/")

    assert response.status_code == 200
    # district, households, members, published circulars, (circular, household) reads
    assert _rows(html(response)) == {
        "原町田一丁目町内会": ["原町田", "3", "3", "1", "1"],
        "鶴川団地自治会": ["鶴川", "1", "1", "1", "0"],
    }
    assert count(app, AuditLog, AuditLog.action == "staff.counts",
                 AuditLog.actor_id == city["staff"].id) == 1


def test_dashboard_never_shows_residents_names(app, city):
    client = client_for(app, city["staff"])

    page = html(client.get("/staff/"))

    for member in ("leader", "reader", "family", "other"):
        name = city[member].user.display_name
        assert name not in page
        assert city[member].user.login_id not in page
        assert city[member].user.email not in page
    assert "紙の鈴木家" not in page
    assert city["reader"].household.name not in page


def test_staff_home_page_has_no_resident_data(app, city):
    client = client_for(app, city["staff"])

    page = html(client.get("/"))

    assert "/staff/" in page
    for member in ("leader", "reader", "other"):
        assert city[member].user.display_name not in page


@pytest.mark.parametrize("path", [
    "/circulars/{circular}/status",
    "/circulars/{circular}",
    "/a/{association}/manage",
    "/a/{association}/circulars",
    "/a/{association}/circulars/manage",
    "/a/{association}/invites",
])
def test_staff_cannot_open_member_pages(app, city, path):
    client = client_for(app, city["staff"])
    url = path.format(circular=city["published"].id, association=city["first"].id)

    response = client.get(url)

    assert response.status_code == 404
    assert city["reader"].user.display_name not in html(response)
    assert count(app, AuditLog, AuditLog.action.in_(["roster.view", "receipts.view"])) == 0


def test_staff_cannot_record_receipts_or_manage_members(app, city):
    client = client_for(app, city["staff"])

    assert form_post(client, f"/members/{city['reader'].id}/remove").status_code == 404
    assert form_post(client, f"/circulars/{city['published'].id}/paper/"
                             f"{city['reader'].household.id}").status_code == 404


@pytest.mark.parametrize("member", ["leader", "reader"])
def test_members_cannot_open_the_staff_dashboard(app, city, member):
    client = client_for(app, city[member].user)

    assert client.get("/staff/").status_code == 403
    assert count(app, AuditLog, AuditLog.action == "staff.counts") == 0


def test_anonymous_visitors_are_sent_to_login(app):
    response = app.test_client().get("/staff/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_counts_service_refuses_non_staff(app, city):
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            services.association_counts(actor=db.session.get(User, city["leader"].user.id))


def test_counts_service_treats_admin_as_staff(app, city, factory):
    admin = factory.user(role=GlobalRole.ADMIN)
    with app.test_request_context():
        rows = services.association_counts(actor=db.session.get(User, admin.id))
        assert {row.association.name: (row.households, row.members, row.circulars)
                for row in rows} == {"原町田一丁目町内会": (3, 3, 1), "鶴川団地自治会": (1, 1, 1)}

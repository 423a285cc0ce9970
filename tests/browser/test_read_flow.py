"""The core promise, in a real browser on a phone: a resident reads and acknowledges a
circular, and the leader sees that household as 確認済み."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import Receipt
from tests.browser.conftest import ARTIFACTS, Neighborhood, log_in

pytestmark = pytest.mark.browser


def _receipts(app, neighborhood: Neighborhood) -> list[Receipt]:
    """The resident's receipts for the circular, as stored."""
    with app.app_context():
        rows = db.session.scalars(select(Receipt).where(
            Receipt.circular_id == neighborhood.circular.id,
            Receipt.user_id == neighborhood.resident.user.id)).all()
        db.session.expunge_all()
        return list(rows)


def test_resident_reads_and_acknowledges_then_leader_sees_household(
        app, new_phone, neighborhood: Neighborhood):
    """Log in through the form, open the circular from the list (the page script records
    "read" with a CSRF-protected POST), tap 確認しました; the leader's status page then
    shows 山田家 as 確認済み with the totals at 1, and the DB holds exactly one receipt."""
    circular = neighborhood.circular
    resident = new_phone()
    log_in(resident, neighborhood.resident.user.login_id)
    assert resident.url.endswith(f"/a/{neighborhood.association.id}/circulars")
    assert resident.locator("#unread-count").inner_text().strip() == "● 未読が1件あります"

    with resident.expect_response(lambda r: r.url.endswith(f"/circulars/{circular.id}/read")
                                  and r.request.method == "POST") as read_call:
        resident.get_by_role("link", name=circular.title).click()
    token = resident.locator('meta[name="csrf-token"]').get_attribute("content")
    read = read_call.value
    assert read.request.headers.get("x-csrftoken") == token
    assert read.status == 200, read.text()
    assert "read_at" in json.loads(read.text())
    resident.locator('article.circular[data-read="1"]').wait_for()
    receipts = _receipts(app, neighborhood)
    assert len(receipts) == 1, receipts
    read_at = receipts[0].read_at
    assert read_at is not None
    assert receipts[0].acknowledged_at is None

    resident.get_by_text("町田第一小学校").wait_for()
    resident.screenshot(path=ARTIFACTS / "resident-circular.png", full_page=True)
    resident.get_by_role("button", name="確認しました").tap()
    resident.get_by_role("status").filter(has_text="確認を記録しました").wait_for()
    assert resident.locator(".ack-done").inner_text().startswith("✓ 確認済み（")
    assert resident.get_by_role("button", name="確認しました").count() == 0

    receipts = _receipts(app, neighborhood)
    assert len(receipts) == 1, receipts
    receipt = receipts[0]
    assert receipt.household_id == neighborhood.resident.household_id
    assert receipt.read_at == read_at  # the first read (by the page script) is kept
    assert receipt.acknowledged_at is not None
    assert receipt.acknowledged_at >= read_at

    leader = new_phone()  # a fresh context: no cookies shared with the resident
    log_in(leader, neighborhood.leader.user.login_id)
    leader.goto(f"/circulars/{circular.id}/status")
    totals = leader.locator("#totals")
    # Four households: the leader's, the resident's, the neighbour's and a paper one.
    assert totals.locator("div", has_text="既読の世帯").locator("dd").inner_text() == "1 / 4"
    assert totals.locator("div", has_text="確認済みの世帯").locator("dd").inner_text() == "1 / 4"
    assert totals.locator("div", has_text="既読の会員").locator("dd").inner_text() == "1 / 3"
    row = leader.locator("li.household", has=leader.locator(".household-name",
                                                           has_text="山田家"))
    assert row.locator(".state").inner_text() == "✓✓ 確認済み"
    assert "山田 花子: 確認済み" in row.locator(".member-list").inner_text()
    neighbour = leader.locator("li.household", has=leader.locator(".household-name",
                                                                 has_text="佐藤家"))
    assert neighbour.locator(".state").inner_text() == "● まだ"
    leader.screenshot(path=ARTIFACTS / "leader-status.png", full_page=True)

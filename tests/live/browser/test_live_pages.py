"""live.js in Chromium: the page's own Socket.IO client, under the app's CSP
(``connect-src 'self'`` must let the same-origin ws: through; a violation is a console
error and fails the test), updates counters, shows notices and catches up on a gap."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from chounaikai.live import service
from tests.browser.conftest import Neighborhood, log_in
from tests.helpers import fetch_post, form_post
from tests.support import client_for

pytestmark = pytest.mark.browser


def _publish(app, neighborhood: Neighborhood, title: str) -> None:
    leader = client_for(app, neighborhood.leader.user)
    response = form_post(leader, f"/a/{neighborhood.association.id}/circulars",
                         {"title": title, "body": "本文です。", "audience": "all"})
    assert response.status_code == 302


def test_leader_status_counters_update_live(app, new_phone, neighborhood: Neighborhood):
    circular = neighborhood.circular
    leader = new_phone()
    log_in(leader, neighborhood.leader.user.login_id)
    with leader.expect_request(lambda r: "/live/events?" in r.url):
        leader.goto(f"/circulars/{circular.id}/status")
    totals = leader.locator("#totals")
    read = totals.locator("div", has_text="既読の世帯").locator("dd")
    expect(read).to_have_text("0 / 4")
    leader.wait_for_timeout(300)  # the join's catch-up has been answered

    neighbor = client_for(app, neighborhood.neighbor.user)
    assert fetch_post(neighbor, f"/circulars/{circular.id}/read").status_code == 200

    expect(read).to_have_text("1 / 4")
    expect(read.locator("strong")).to_have_text("1")
    expect(totals.locator("div", has_text="既読の会員").locator("dd")).to_have_text("1 / 3")
    second = leader.locator(f'[data-live-block-line="{neighborhood.neighbor.household.block_id}"]')
    expect(second).to_have_text("既読 1 / 2 世帯")
    expect(leader.locator("#live-status-note")).to_be_visible()


def test_resident_gets_a_toast_and_the_unread_count(app, new_phone, neighborhood: Neighborhood):
    resident = new_phone()
    resident.clock.install()  # the toast's timer runs on a clock the test moves
    log_in(resident, neighborhood.resident.user.login_id)
    expect(resident.locator("#unread-count")).to_have_text("● 未読が1件あります")
    resident.wait_for_timeout(500)

    _publish(app, neighborhood, "夏祭りのお知らせ")

    region = resident.locator("#live-toasts")
    assert region.get_attribute("role") == "status"
    assert region.get_attribute("aria-live") == "polite"
    toast = region.locator(".toast")
    expect(toast).to_have_count(1)
    expect(toast).to_contain_text("新しい回覧が届きました")  # words, not only a colour
    link = toast.get_by_role("link", name="夏祭りのお知らせ")
    expect(link).to_have_attribute("href", re.compile(r"^/circulars/\d+$"))
    expect(resident.locator("#unread-count")).to_have_text("● 未読が2件あります")
    first = resident.locator(".circular-item").first
    expect(first).to_contain_text("夏祭りのお知らせ")
    expect(first).to_contain_text("未読")

    resident.clock.run_for(6000)
    expect(toast).to_have_count(1)  # not too fast
    resident.clock.run_for(7000)
    expect(toast).to_have_count(0)  # but it goes on its own


def test_a_missed_announcement_is_fetched(app, new_phone, neighborhood: Neighborhood,
                                          monkeypatch):
    """The first circular's doorbell is lost (recorded, never rung); the second one's
    ``prev`` shows the gap, so the page fetches /live/events and shows both."""
    resident = new_phone()
    log_in(resident, neighborhood.resident.user.login_id)
    expect(resident.locator("#unread-count")).to_have_text("● 未読が1件あります")
    resident.wait_for_timeout(500)

    real_announce = service.announce
    monkeypatch.setattr(service, "announce", lambda app_, envelopes: None)
    _publish(app, neighborhood, "届かなかった回覧")
    monkeypatch.setattr(service, "announce", real_announce)
    with resident.expect_request(lambda r: "/live/events?" in r.url) as catch_up:
        _publish(app, neighborhood, "届いた回覧")
    assert re.search(r"after=\d+", catch_up.value.url)

    toasts = resident.locator("#live-toasts .toast")
    expect(toasts).to_have_count(2)
    expect(toasts.nth(0)).to_contain_text("届かなかった回覧")
    expect(toasts.nth(1)).to_contain_text("届いた回覧")
    expect(resident.locator("#unread-count")).to_have_text("● 未読が3件あります")

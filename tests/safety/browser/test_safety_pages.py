"""safety.js in Chromium under the app's CSP: the leaders' counters follow answers (counts
only, read from the leaders' room), and the door-knock list gets a print button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Neighborhood, log_in
from tests.helpers import form_post
from tests.support import client_for

pytestmark = pytest.mark.browser


def test_leader_counters_update_when_a_household_answers(app, new_phone,
                                                         neighborhood: Neighborhood):
    a = neighborhood.association.id
    leader_client = client_for(app, neighborhood.leader.user)
    assert form_post(leader_client, f"/a/{a}/safety/rounds").status_code == 302
    leader = new_phone()
    leader.clock.install()  # the script polls on a timer the test moves
    log_in(leader, neighborhood.leader.user.login_id)
    leader.goto(f"/a/{a}/safety/manage")
    totals = leader.locator("#safety-totals")
    expect(totals.locator('[data-count="answered"]')).to_have_text("0")
    expect(totals.locator('[data-count="unanswered"]')).to_have_text("4")

    resident = client_for(app, neighborhood.resident.user)
    response = form_post(resident, f"/a/{a}/safety/answer",
                         {"status": "needs_help", "note": "足をけがしました"})
    assert response.status_code == 302
    with leader.expect_response(lambda r: "/live/events?" in r.url and "leaders" in r.url):
        leader.clock.run_for(11_000)

    expect(totals.locator('[data-count="answered"]')).to_have_text("1")
    expect(totals.locator('[data-count="needs_help"]')).to_have_text("1")
    expect(totals.locator('[data-count="unanswered"]')).to_have_text("3")
    block = neighborhood.resident.household.block_id
    expect(leader.locator(f'[data-block-line="{block}"]')).to_have_text("回答 1 / 2 世帯")
    expect(leader.locator("#safety-live-note")).to_be_visible()


def test_resident_answers_with_one_tap(app, new_phone, neighborhood: Neighborhood):
    a = neighborhood.association.id
    assert form_post(client_for(app, neighborhood.leader.user),
                     f"/a/{a}/safety/rounds").status_code == 302
    page = new_phone()
    log_in(page, neighborhood.resident.user.login_id)
    page.goto(f"/a/{a}/safety")
    button = page.get_by_role("button", name="無事")
    box = button.bounding_box()
    assert box is not None
    assert box["height"] >= 44
    with page.expect_navigation():
        button.click()
    expect(page.locator(".safety-current")).to_contain_text("いまの回答: 無事")


def test_door_knock_list_has_a_print_button(app, new_phone, neighborhood: Neighborhood):
    a = neighborhood.association.id
    assert form_post(client_for(app, neighborhood.leader.user),
                     f"/a/{a}/safety/rounds").status_code == 302
    page = new_phone()
    log_in(page, neighborhood.leader.user.login_id)
    page.goto(f"/a/{a}/safety/door-knock")
    expect(page.get_by_role("button", name="印刷する")).to_be_visible()
    expect(page.locator("main")).to_contain_text("鈴木家")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="印刷する")).to_be_hidden()

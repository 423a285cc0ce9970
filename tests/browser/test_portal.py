"""The disaster portal on a phone: alerts and shelters, nearest first, and offline."""

from __future__ import annotations

import pytest

from chounaikai.models import AlertKind, Congestion, GlobalRole
from tests.alerts.helpers import draft, issue
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import BLOCKING_IMPACTS, describe, run_axe
from tests.browser.test_service_worker import _wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def disaster(app, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    issue(app, staff.id, draft(AlertKind.LEVEL4))
    factory.shelter("遠い小学校", is_open=True, latitude=35.60, longitude=139.40,
                    congestion=Congestion.SOMEWHAT, evacuees=40, district="忠生")
    factory.shelter("近い中学校", is_open=True, latitude=35.5401, longitude=139.4501,
                    district="鶴川",
                    congestion=Congestion.FULL, evacuees=400, capacity=400, welfare=True)
    return staff


def _names(page) -> list[str]:
    return page.locator("#shelter-list h3").all_inner_texts()


def test_portal_on_a_phone_sorts_by_distance_and_passes_axe(new_phone, disaster, browser,
                                                            server_url):
    context = browser.new_context(base_url=server_url, viewport={"width": 390, "height": 844},
                                  locale="ja-JP", geolocation={"latitude": 35.54,
                                                               "longitude": 139.45},
                                  permissions=["geolocation"])
    try:
        page = context.new_page()
        page.goto("/portal")
        assert page.locator(".alert-band.alert-level-4").first.is_visible()
        assert "【警戒レベル4】避難指示" in page.locator("#alerts-h + .alert-card").inner_text()
        assert _names(page)[0] == "遠い小学校"  # by district and name until asked
        page.get_by_role("button", name="近い順に並べる（現在地を使います）").click()
        _wait_for(page, lambda: page.locator("#sort-status").inner_text(), "the sorting")
        assert _names(page)[0] == "近い中学校"
        assert "約 0.0 km" in page.locator("#shelter-list li").first.inner_text()
        blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"axe on the portal:\n{describe(blocking)}"
    finally:
        context.close()


def test_portal_shows_the_last_known_state_offline(new_phone, disaster):
    page = new_phone()
    page.goto("/portal")
    # The page registers the service worker, which stores the portal; once it is active
    # and has the page stored, a reload is controlled by it.
    _wait_for(page, lambda: page.evaluate(
        "() => caches.open('portal-v1').then(c => c.match('/portal'))"
        ".then(r => r !== undefined)"), "the stored portal", timeout_ms=15_000)
    page.reload()
    _wait_for(page, lambda: page.evaluate("() => navigator.serviceWorker.controller !== null"),
              "the service worker to control the page")
    assert page.locator("#offline-note").is_hidden()
    page.context.set_offline(True)
    page.reload()
    note = page.locator("#offline-note")
    note.wait_for(state="visible")
    assert "インターネットにつながっていません" in note.inner_text()
    assert "近い中学校" in page.content()  # the stored list, not an error page
    assert page.locator(".alert-level-4").first.is_visible()
    page.context.set_offline(False)


def test_staff_composer_passes_axe(new_phone, disaster):
    page = new_phone()
    log_in(page, disaster.login_id)
    page.goto("/staff/alerts/new")
    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe on the composer:\n{describe(blocking)}"
    page.get_by_label("警戒レベル4 避難指示").check()
    page.get_by_label("災害の種類").select_option("flood")
    page.get_by_role("button", name="送る前に確認する").click()
    assert page.locator(".alert-card").count() == 10
    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe on the preview:\n{describe(blocking)}"

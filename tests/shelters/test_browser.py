"""The status page on a real phone-sized Chromium: big enough buttons, two taps, no CSP
errors.  Uses the browser fixtures of tests/browser, imported by tests/shelters/conftest.py
(skips without Chromium)."""

from __future__ import annotations

import pytest

from chounaikai.models import MemberRole
from tests.browser.conftest import ARTIFACTS, CHROMIUM_ARGS, _unavailable, log_in
from tests.shelters.conftest import make_shelter

pytestmark = pytest.mark.browser

MIN_SIZE = 44

MEASURE_JS = """
() => Array.from(document.querySelectorAll("main a, main button, main input"))
  .filter((el) => el.type !== "hidden")
  .map((el) => {
    const r = el.getBoundingClientRect();
    return {label: (el.innerText || el.value || el.name || "").trim().slice(0, 20),
            width: r.width, height: r.height};
  })
"""


@pytest.fixture(scope="module")
def browser(chromium_executable: str):
    """Chromium for this module only (see tests/browser/conftest.py on Playwright's loop)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_executable,
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_contact_opens_the_shelter_from_a_phone(new_phone, factory):
    leader = factory.member(factory.association(), role=MemberRole.LEADER).user
    shelter = make_shelter(factory, name="つくし野小学校", contacts=(leader,), capacity=480)
    page = new_phone()
    log_in(page, leader.login_id)
    page.goto(f"/shelters/{shelter.id}/status")

    sizes = page.evaluate(MEASURE_JS)
    small = [s for s in sizes if s["width"] < MIN_SIZE or s["height"] < MIN_SIZE]
    assert not small, f"tap targets under {MIN_SIZE}px: {small}"
    big = [s for s in sizes if " ".join(s["label"].split()) in ("▶ 開設", "✕ 満")]
    assert len(big) == 2, sizes
    assert all(s["height"] >= 64 for s in big)  # the big buttons really are big

    with page.expect_navigation():
        page.get_by_role("button", name="開設").click()
    page.get_by_text("保存しました。").wait_for()
    assert page.locator(".shelter-now").get_by_text("開設中").is_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="10人増やす").click()
    assert page.locator(".evacuee-count strong").inner_text() == "10"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "shelter-status-phone.png"), full_page=True)

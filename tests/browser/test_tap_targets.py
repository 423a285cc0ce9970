"""Tap targets on the resident pages are big enough for a finger on a phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import Neighborhood, log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

MIN_SIZE = 44  # CSS px: WCAG 2.5.5 (AAA) and Apple's guideline; the project's minimum.

# Every a/button/input/select/textarea with its bounding box, measured by the browser.
# Not tap targets: hidden inputs, elements not rendered or invisible, and elements parked
# outside the page (the skip link until it has focus; it is measured focused, below).
# Exempt: links inside the circular's body text, i.e. inline links in running prose
# written by leaders in Markdown (WCAG 2.5.8's "inline" exception); growing them to
# 44px would break the lines of text they sit in.
MEASURE_JS = """
() => Array.from(document.querySelectorAll("a, button, input, select, textarea"))
  .filter((el) => el.type !== "hidden")
  .map((el) => {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return {
      label: el.tagName.toLowerCase() + " "
        + JSON.stringify((el.innerText || el.value || el.id || el.name || "").trim().slice(0, 30)),
      width: r.width,
      height: r.height,
      visible: r.width > 0 && r.height > 0 && style.visibility !== "hidden"
        && r.right > 0 && r.bottom > 0,
      inBodyText: el.closest(".circular-body") !== null,
    };
  })
"""

FOCUSED_JS = """
() => {
  const el = document.activeElement;
  const r = el.getBoundingClientRect();
  return {label: el.tagName.toLowerCase() + " " + JSON.stringify(el.innerText.trim()),
          width: r.width, height: r.height};
}
"""


class TapTargets:
    """Collects measurements page by page; small targets are reported all at once."""

    def __init__(self) -> None:
        self.checked: list[str] = []
        self.exempt: list[str] = []
        self.too_small: list[str] = []

    def _check(self, where: str, item: dict) -> None:
        self.checked.append(f"{where}: {item['label']}")
        if item["width"] < MIN_SIZE or item["height"] < MIN_SIZE:
            self.too_small.append(
                f"{where}: {item['label']} is {item['width']:.0f}x{item['height']:.0f}px")

    def measure(self, page: Page, where: str) -> None:
        # A page reached by a form's redirect can be in the DOM before its stylesheet has
        # loaded, and layout then measures unstyled controls (seen once in CI): measure
        # the page as the resident sees it, after its load event.
        page.wait_for_load_state("load")
        for item in page.evaluate(MEASURE_JS):
            if not item["visible"]:
                continue
            if item["inBodyText"]:
                self.exempt.append(f"{where}: {item['label']}")
                continue
            self._check(where, item)
        # The first Tab shows the skip link; once visible it is a tap target too.
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        assert focused["label"].startswith('a "本文へ移動"'), f"{where}: first Tab: {focused}"
        self._check(f"{where} (focused)", focused)


def test_resident_pages_have_44px_tap_targets(new_phone, neighborhood: Neighborhood):
    """On login, the circular list and a circular (before and after 確認しました), every
    visible control a resident can tap is at least 44x44 CSS px on a 390px-wide phone."""
    targets = TapTargets()
    page = new_phone()
    page.goto("/login")
    targets.measure(page, "login")
    log_in(page, neighborhood.resident.user.login_id)
    page.goto(f"/a/{neighborhood.association.id}/circulars")
    targets.measure(page, "circular list")
    page.get_by_role("link", name=neighborhood.circular.title).click()
    page.wait_for_url(f"**/circulars/{neighborhood.circular.id}")
    targets.measure(page, "circular")
    page.get_by_role("button", name="確認しました").click()
    page.get_by_text("確認を記録しました").wait_for()
    targets.measure(page, "circular, acknowledged")

    assert not targets.too_small, (
        f"tap targets smaller than {MIN_SIZE}x{MIN_SIZE} CSS px:\n"
        + "\n".join(targets.too_small))
    # The measurement really covered the controls that matter, and exempted only the
    # inline link in the circular's text.
    for expected in ('login: button "ログイン"', 'circular: button "確認しました"',
                     'circular: a "← 回覧の一覧へ"', 'circular list: button "ログアウト"'):
        assert expected in targets.checked, f"{expected} was not measured: {targets.checked}"
    assert targets.exempt == ['circular: a "町田市の防災のページ"',
                              'circular, acknowledged: a "町田市の防災のページ"']

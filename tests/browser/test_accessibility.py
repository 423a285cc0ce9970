"""axe-core scans of the main resident and leader pages on a phone.

axe.min.js (bundled with axe-playwright-python) is injected with Playwright's
``page.evaluate``, which runs through the DevTools protocol and is not subject to the
page's Content-Security-Policy, so the scan sees the pages exactly as served: no
``bypass_csp`` is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import Neighborhood, log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

BLOCKING_IMPACTS = {"serious", "critical"}

# page -> (who is logged in, path)
PAGES: dict[str, tuple[str | None, Callable[[Neighborhood], str]]] = {
    "login": (None, lambda n: "/login"),
    "resident circular list": ("resident", lambda n: f"/a/{n.association.id}/circulars"),
    "circular": ("resident", lambda n: f"/circulars/{n.circular.id}"),
    "leader status": ("leader", lambda n: f"/circulars/{n.circular.id}/status"),
    "leader circular list": ("leader", lambda n: f"/a/{n.association.id}/circulars/manage"),
    "new circular form": ("leader", lambda n: f"/a/{n.association.id}/circulars/new"),
    "notification settings": ("resident", lambda n: "/settings/notifications"),
}


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    # Contrast and sizes depend on the stylesheet: scan the page after its load event,
    # not a DOM reached by a click whose CSS is still being revalidated.
    page.wait_for_load_state("load")
    return Axe().run(page).response["violations"]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation: id, impact, help text and the offending nodes' targets."""
    return "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in violations)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_serious_or_critical_axe_violations(name, new_phone, neighborhood):
    """axe-core finds no "serious" or "critical" violation on the page (as the right user,
    on a phone-sized viewport, with the page's own CSP in force)."""
    who, path = PAGES[name]
    page = new_phone()
    if who:
        log_in(page, getattr(neighborhood, who).user.login_id)
    response = page.goto(path(neighborhood))
    assert response is not None
    assert response.status == 200, f"{name}: {response.url} answered {response.status}"

    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]

    assert not blocking, f"axe on {name} ({page.url}):\n{describe(blocking)}"


def test_axe_scan_reports_a_seeded_violation(new_phone):
    """The scan is real: with the login field's label detached, axe reports a critical
    "label" violation for #login (so an empty result above means a clean page)."""
    page = new_phone()
    page.goto("/login")
    page.locator('label[for="login"]').evaluate("label => label.removeAttribute('for')")

    violations = {v["id"]: v for v in run_axe(page)}

    assert "label" in violations, describe(list(violations.values()))
    assert violations["label"]["impact"] == "critical"
    assert [node["target"] for node in violations["label"]["nodes"]] == [["#login"]]

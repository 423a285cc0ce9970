"""The browser fixtures of tests/browser (Debian's Chromium via Playwright, the app on a
threaded Werkzeug server), reused for the safety pages."""

from tests.browser.conftest import (  # noqa: F401 - fixtures
    browser,
    chromium_executable,
    neighborhood,
    new_phone,
    server_url,
)

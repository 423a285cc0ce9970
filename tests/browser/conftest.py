"""Browser fixtures: Debian's Chromium, driven by Playwright, against the real app served
by a real (threaded werkzeug) server on 127.0.0.1.

The server runs the session ``app`` from tests/conftest.py (TESTING, CSRF enabled) on the
per-run test database, so data made with ``factory`` is visible to it.  Without Chromium
the tests skip, unless ``CHOUNAIKAI_REQUIRE_BROWSER=1`` makes that an error (CI).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from flask import Flask
from werkzeug.serving import make_server

from chounaikai.models import Association, Circular, Household, MemberRole, Membership
from tests.factories import PASSWORD, Factory

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Response

REQUIRE_ENV = "CHOUNAIKAI_REQUIRE_BROWSER"
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Headless (Playwright's default is --headless=new), as root, on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A typical phone (iPhone 12-15 class) in Japan.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "ja-JP",
    "timezone_id": "Asia/Tokyo",
}


def _unavailable(reason: str) -> NoReturn:
    """Skip the browser tests, or fail them when the environment demands a browser."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, but {REQUIRE_ENV}=1 requires the browser tests to run.",
                    pytrace=False)
    pytest.skip(f"{reason}: browser tests skipped "
                "(install with `apt-get install chromium fonts-ipafont-gothic fonts-noto-cjk "
                "fonts-noto-core`).")


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of Debian's Chromium (Playwright cannot download its own browsers here)."""
    if DEBIAN_CHROMIUM.is_file() and os.access(DEBIAN_CHROMIUM, os.X_OK):
        return str(DEBIAN_CHROMIUM)
    found = shutil.which("chromium")
    if found:
        return found
    _unavailable(f"Chromium not found at {DEBIAN_CHROMIUM} or as `chromium` on PATH")


@pytest.fixture(scope="package")
def browser(chromium_executable: str) -> Iterator[Browser]:
    """Chromium, for the tests of this package only.

    Package scope matters: Playwright's sync API keeps its asyncio loop marked as running
    in this thread while it is started, so later tests calling ``asyncio.run()`` would fail.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def server_url(app: Flask) -> Iterator[str]:
    """Serve ``app`` from a threaded werkzeug server on a free port of 127.0.0.1."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def new_phone(browser: Browser, server_url: str) -> Iterator[Callable[..., Page]]:
    """``new_phone()`` opens a page in a fresh phone-sized context (its own cookies).

    Script errors, console errors (CSP violations included) and failed requests on any
    page fail the test at teardown.
    """
    contexts = []
    errors: list[str] = []

    def _open() -> Page:
        context = browser.new_context(base_url=server_url, **PHONE)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: script error: {exc}"))
        page.on("console", lambda msg: _console(msg, page, errors))
        page.on("response", lambda response: _response(response, errors))
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, "errors in the browser:\n" + "\n".join(errors)


def _console(message: ConsoleMessage, page: Page, errors: list[str]) -> None:
    # Failed loads are reported with their URL by _response (the console omits it).
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(f"{page.url}: console error: {message.text}")


def _response(response: Response, errors: list[str]) -> None:
    # Chromium asks for /favicon.ico on its own; the app has none (not a page's fault).
    if response.status >= 400 and not response.url.endswith("/favicon.ico"):
        errors.append(f"{response.request.method} {response.url}: HTTP {response.status}")


def log_in(page: Page, login_id: str, password: str = PASSWORD) -> None:
    """Log in through the real login form (CSRF token included) and wait for the redirect."""
    page.goto("/login")
    page.get_by_label("ログインID またはメールアドレス").fill(login_id)
    page.get_by_label("パスワード").fill(password)
    with page.expect_navigation():
        page.locator("main form").get_by_role("button", name="ログイン").click()
    assert "/login" not in page.url, f"login as {login_id} failed: {page.url}"


@dataclass
class Neighborhood:
    """One association with a leader, two smartphone households, a paper household,
    and one published circular that asks for 確認."""

    association: Association
    leader: Membership
    resident: Membership
    neighbor: Membership
    paper: Household
    circular: Circular


@pytest.fixture
def neighborhood(factory: Factory) -> Neighborhood:
    association = factory.association(name="原町田一丁目町内会", blocks=("1班", "2班"))
    first, second = association.blocks
    leader = factory.member(
        association, role=MemberRole.LEADER,
        household=factory.household(association, block=first, name="高橋家"),
        user=factory.user(name="高橋 一郎"))
    resident = factory.member(
        association, household=factory.household(association, block=first, name="山田家"),
        user=factory.user(name="山田 花子"))
    neighbor = factory.member(
        association, household=factory.household(association, block=second, name="佐藤家"),
        user=factory.user(name="佐藤 太郎"))
    paper = factory.household(association, block=second, name="鈴木家", has_smartphone=False)
    circular = factory.circular(
        association, title="秋の防災訓練のお知らせ", ack_required=True, author=leader.user,
        body=("11月30日（日）9時から、**町田第一小学校**の校庭で防災訓練を行います。\n\n"
              "- 持ち物: 飲み物、タオル\n- 雨天の場合は中止します\n\n"
              "詳しくは[町田市の防災のページ](https://www.city.machida.tokyo.jp/)を"
              "ご覧ください。参加できる方は下の確認ボタンを押してください。"))
    return Neighborhood(association=association, leader=leader, resident=resident,
                        neighbor=neighbor, paper=paper, circular=circular)

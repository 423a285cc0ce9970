"""The service worker, push notifications and the notification settings page in Chromium.

What is real here and what is simulated, exactly:

* Registration is real: push.js registers /sw.js from the served page, and the test waits
  for ``navigator.serviceWorker.ready`` and reads the registration's scope.
* Push messages are real push *events*: the DevTools protocol's
  ``ServiceWorker.deliverPushMessage`` (what DevTools' "Push" button does) hands a JSON
  payload to the registered worker, whose own ``push`` handler runs and calls
  ``showNotification``.  What it showed is read back with ``getNotifications()``.  Only the
  push service in between (FCM etc.) is skipped.
* The tap on a notification is simulated.  Chromium has no DevTools command to click a
  notification, and it refuses ``clients.openWindow()`` and ``WindowClient.focus()``
  ("Not allowed to open a window") unless it dispatched a real notificationclick itself.
  So the test calls the worker's own handler ``onNotificationClick`` (via Playwright's
  ``worker.evaluate``, nothing test-only in sw.js) with a real Notification object from
  ``getNotifications()``, after replacing ``clients.openWindow`` and
  ``WindowClient.prototype.focus`` in the worker with recorders.  It checks that the
  handler closed the notification and asked to open (or focus) the circular's URL, then
  opens that URL on the phone to see the circular.
* Subscribing: headless Chromium has no push service (``pushManager.subscribe`` fails with
  "Registration failed"), so an init script replaces ``PushManager.prototype.subscribe`` /
  ``getSubscription`` with a fake subscription carrying a real P-256 key.  The tap, the
  permission request (the real one, counted by a wrapper; permission was granted to the
  context), the POST with the CSRF token, the server's checks and the device list are real.
* iPhones are emulated by their user agent (and Safari's ``navigator.standalone`` for a
  Home Screen app); a blocked permission is set with the DevTools ``Browser.setPermission``.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import Priority, PushSubscription, User
from chounaikai.push import payload as push_payload
from chounaikai.push.subscription_json import endpoint_hash
from tests.browser.conftest import ARTIFACTS, PHONE, Neighborhood, log_in
from tests.browser.test_accessibility import BLOCKING_IMPACTS, describe, run_axe
from tests.browser.test_tap_targets import MIN_SIZE, TapTargets

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession, Page, Worker

pytestmark = pytest.mark.browser

IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
IPHONE_OLD = IPHONE_SAFARI.replace("17_5", "15_8").replace("17.5", "15.8")
IPHONE_CHROME = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1")

NOTIFICATIONS_JS = """
() => navigator.serviceWorker.ready
  .then((registration) => registration.getNotifications())
  .then((list) => list.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
                                    requireInteraction: n.requireInteraction})))
"""

# Calls the worker's own notificationclick handler with a real Notification (see the
# module docstring for why the tap itself cannot be made through DevTools).
CLICK_JS = """
async (tag) => {
  const calls = {opened: [], focused: []};
  const realFocus = WindowClient.prototype.focus;
  self.clients.openWindow = (url) => { calls.opened.push(url); return Promise.resolve(null); };
  WindowClient.prototype.focus = function () {
    calls.focused.push(this.url);
    return Promise.resolve(this);
  };
  try {
    const [notification] = await self.registration.getNotifications({tag});
    let pending = Promise.resolve();
    onNotificationClick({notification, waitUntil(promise) { pending = promise; }});
    await pending;
  } finally {
    delete self.clients.openWindow;
    WindowClient.prototype.focus = realFocus;
  }
  calls.left = (await self.registration.getNotifications()).map((n) => n.tag);
  return calls;
}
"""

BADGE_RECORDER_JS = """
() => {
  self.badgeCalls = [];
  self.navigator.setAppBadge = (n) => { self.badgeCalls.push(["set", n]);
                                        return Promise.resolve(); };
  self.navigator.clearAppBadge = () => { self.badgeCalls.push(["clear"]);
                                         return Promise.resolve(); };
}
"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _wait_for(page: Page, probe, what: str, timeout_ms: int = 5000) -> Any:
    """Poll ``probe()`` (while letting Playwright process events) until it is truthy."""
    for _ in range(timeout_ms // 100):
        value = probe()
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


def _titles(page: Page) -> list[str]:
    return [n["title"] for n in page.evaluate(NOTIFICATIONS_JS)]


def _ready_scope(page: Page) -> dict[str, str]:
    return page.evaluate("""() => navigator.serviceWorker.ready.then((r) => ({
        scope: r.scope, script: r.active && r.active.scriptURL}))""")


def _registration_id(page: Page, scope: str) -> tuple[CDPSession, str]:
    cdp = page.context.new_cdp_session(page)
    found: dict[str, str] = {}

    def _updated(event: dict) -> None:
        for registration in event["registrations"]:
            if not registration["isDeleted"]:
                found[registration["scopeURL"]] = registration["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", _updated)
    cdp.send("ServiceWorker.enable")
    _wait_for(page, lambda: scope in found, "the registration id")
    return cdp, found[scope]


def _worker(page: Page) -> Worker:
    workers = [w for w in page.context.service_workers if w.url.endswith("/sw.js")]
    return workers[0] if workers else page.context.wait_for_event("serviceworker")


def _user_agent(page: Page, user_agent: str) -> None:
    """Emulate another browser for this page (navigator.userAgent and the header)."""
    page.context.new_cdp_session(page).send("Emulation.setUserAgentOverride",
                                            {"userAgent": user_agent})


def _state(page: Page) -> str:
    return page.locator("#push-device").get_attribute("data-push-state") or ""


def _visible_guides(page: Page) -> list[str]:
    return page.evaluate("""() => Array.from(document.querySelectorAll("[data-push-guide]"))
        .filter((el) => !el.hidden).map((el) => el.dataset.pushGuide)""")


# -- registration ----------------------------------------------------------------------------

def test_service_worker_registers_at_the_root_scope(new_phone, server_url):
    page = new_phone()
    page.goto("/login")
    registration = _ready_scope(page)
    assert registration == {"scope": f"{server_url}/", "script": f"{server_url}/sw.js"}
    manifest = page.evaluate("""() => fetch(document.querySelector('link[rel=manifest]').href)
        .then((r) => r.json())""")
    assert (manifest["name"], manifest["display"], manifest["start_url"]) == (
        "デジタル町内会", "standalone", "/")


# -- push messages, the badge and the tap ---------------------------------------------------------

def test_push_message_shows_a_notification_and_its_tap_opens_the_circular(
        new_phone, neighborhood: Neighborhood, server_url, app):
    circular = neighborhood.circular
    circular_url = f"{server_url}/circulars/{circular.id}"
    page = new_phone()
    page.context.grant_permissions(["notifications"], origin=server_url)
    log_in(page, neighborhood.resident.user.login_id)
    page.goto("/settings/notifications")
    scope = _ready_scope(page)["scope"]
    cdp, registration_id = _registration_id(page, scope)
    worker = _worker(page)
    worker.evaluate(BADGE_RECORDER_JS)

    def push(message: dict | bytes) -> None:
        data = (message.decode() if isinstance(message, bytes)
                else json.dumps(message, ensure_ascii=False))
        cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": server_url, "registrationId": registration_id, "data": data})

    # A circular, as the delivery engine encodes it (chounaikai/push/payload.py, from the
    # outbox row publishing writes) ...
    with app.test_request_context():
        note = push_payload.NoteInfo(
            1, "circular", Priority.NORMAL, f"circular-{circular.id}", 86400,
            {"circular_id": circular.id, "title": circular.title,
             "url": f"/circulars/{circular.id}"}, circular.title)
        push(push_payload.build(note, "ja"))
    first = _wait_for(page, lambda: page.evaluate(NOTIFICATIONS_JS), "the notification")
    assert first == [{"title": "新しい回覧があります", "body": circular.title,
                      "tag": f"circular-{circular.id}", "requireInteraction": False,
                      "data": {"url": circular_url, "circular_id": circular.id}}]
    # ... then with an unread count, then a correction with the same circular id: the
    # newer one replaces the older (tag = topic), it does not pile up.
    push({"title": "新しい回覧", "body": circular.title, "url": f"/circulars/{circular.id}",
          "circular_id": circular.id, "unread": 3})
    _wait_for(page, lambda: _titles(page) == ["新しい回覧"], "the second notification")
    push({"title": "回覧が訂正されました", "body": circular.title,
          "url": f"/circulars/{circular.id}", "circular_id": circular.id, "unread": 0})
    _wait_for(page, lambda: _titles(page) == ["回覧が訂正されました"], "the replacement")
    # An emergency stays on screen; a URL of another site is never opened.
    push({"title": "避難情報", "body": "町田第一小学校に避難所を開設しました", "tag": "alert-7",
          "urgent": True, "url": "https://evil.example/phish"})
    shown = _wait_for(page, lambda: (lambda n: n if len(n) == 2 else None)(
        page.evaluate(NOTIFICATIONS_JS)), "two notifications")
    by_tag = {n["tag"]: n for n in shown}
    assert set(by_tag) == {f"circular-{circular.id}", "alert-7"}
    assert by_tag["alert-7"]["requireInteraction"] is True
    assert by_tag["alert-7"]["data"]["url"] == f"{server_url}/"
    assert worker.evaluate("self.badgeCalls") == [["set", 3], ["clear"]]

    # The tap: the handler closes the notification and opens the circular...
    calls = worker.evaluate(CLICK_JS, f"circular-{circular.id}")
    assert calls == {"opened": [circular_url], "focused": [], "left": ["alert-7"]}
    # ...or brings forward a tab that already shows it.
    push({"title": "新しい回覧", "body": circular.title, "url": f"/circulars/{circular.id}",
          "circular_id": circular.id})
    _wait_for(page, lambda: len(page.evaluate(NOTIFICATIONS_JS)) == 2, "the new notification")
    tab = page.context.new_page()
    tab.goto(circular_url)
    calls = worker.evaluate(CLICK_JS, f"circular-{circular.id}")
    assert calls == {"opened": [], "focused": [circular_url], "left": ["alert-7"]}
    tab.close()

    # What openWindow was asked for is the circular, readable on the phone.
    opened = page.context.new_page()
    opened.goto(circular_url)
    assert opened.get_by_role("heading", level=1).inner_text() == circular.title


# -- subscribing from the settings page ---------------------------------------------------------

def _fake_push_manager(endpoint: str) -> str:
    """An init script standing in for the push service (see the module docstring)."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)
    fake = {"endpoint": endpoint, "keys": {"p256dh": _b64(point),
                                           "auth": _b64(secrets.token_bytes(16))}}
    return """
(() => {
  const FAKE = __FAKE__;
  const STORE = "fake-push-subscription";
  window.permissionRequests = 0;
  const realRequest = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = (...args) => {
    window.permissionRequests += 1;
    return realRequest(...args);
  };
  function make(key) {
    return {
      endpoint: FAKE.endpoint, expirationTime: null, options: {applicationServerKey: key},
      toJSON: () => ({endpoint: FAKE.endpoint, expirationTime: null, keys: FAKE.keys}),
      unsubscribe: () => { localStorage.removeItem(STORE); window.unsubscribed = true;
                           return Promise.resolve(true); },
    };
  }
  PushManager.prototype.getSubscription = function () {
    const key = localStorage.getItem(STORE);
    if (key === null) { return Promise.resolve(null); }
    return Promise.resolve(make(Uint8Array.from(JSON.parse(key)).buffer));
  };
  PushManager.prototype.subscribe = function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    if (key.length !== 65 || key[0] !== 4) { return Promise.reject(new Error("bad key")); }
    localStorage.setItem(STORE, JSON.stringify(Array.from(key)));
    return Promise.resolve(make(key.buffer));
  };
})();
""".replace("__FAKE__", json.dumps(fake))


def test_tap_subscribes_this_device_and_the_prompt_never_comes_on_load(
        new_phone, neighborhood: Neighborhood, server_url, app):
    endpoint = f"https://fcm.googleapis.com/fcm/send/browser-{secrets.token_hex(8)}"
    page = new_phone()
    page.context.grant_permissions(["notifications"], origin=server_url)
    page.context.add_init_script(_fake_push_manager(endpoint))
    log_in(page, neighborhood.resident.user.login_id)
    page.goto("/settings")
    page.get_by_role("link", name="通知の設定").click()
    page.wait_for_url("**/settings/notifications")
    button = page.get_by_role("button", name="通知を受け取る")
    button.wait_for()
    page.wait_for_timeout(300)
    assert page.evaluate("window.permissionRequests") == 0  # nothing asked on page load
    assert _state(page) == "ready"
    assert _visible_guides(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "push-settings.png", full_page=True)

    with page.expect_navigation():  # the script reloads to show the device list
        button.click()
    assert page.get_by_text("この端末で通知を受け取れるようになりました。").is_visible()
    page.get_by_text("この端末では、通知を受け取る設定になっています。").wait_for()
    assert _state(page) == "subscribed"
    device = page.locator(".device.device-this")
    assert device.get_by_text("（この端末）").is_visible()
    with app.app_context():
        rows = db.session.scalars(select(PushSubscription)).all()
        assert [(r.endpoint, r.user_id, r.origin) for r in rows] == [
            (endpoint, neighborhood.resident.user.id, "https://fcm.googleapis.com")]
        label = rows[0].device_label
    assert label == "Linux Chrome"  # headless Chromium's user agent, summarised
    page.screenshot(path=ARTIFACTS / "push-settings-subscribed.png", full_page=True)

    # Removing this very device asks first, ends the browser's subscription and the row.
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        device.get_by_role("button", name="登録を外す").click()
    assert questions == [f"「{label}」に通知を送らないようにしますか？"]
    assert page.get_by_text("その端末には、もう通知を送りません。").is_visible()
    assert page.evaluate("localStorage.getItem('fake-push-subscription')") is None
    assert _state(page) == "ready"
    with app.app_context():
        assert db.session.scalars(select(PushSubscription)).all() == []


# -- where push cannot work: the guides -----------------------------------------------------------

def _axe_clean(page: Page, name: str) -> None:
    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe on {name} ({page.url}):\n{describe(blocking)}"


def test_iphone_safari_gets_the_home_screen_guide(new_phone, neighborhood: Neighborhood):
    page = new_phone()
    _user_agent(page, IPHONE_SAFARI)
    log_in(page, neighborhood.resident.user.login_id)
    page.goto("/settings/notifications")
    guide = page.locator('[data-push-guide="ios-install"]')
    guide.wait_for()
    assert _state(page) == "ios-install"
    assert _visible_guides(page) == ["ios-install"]
    assert guide.evaluate("el => el.open")
    assert not page.get_by_role("button", name="通知を受け取る").is_visible()
    steps = guide.locator("ol.guide-steps > li:visible")
    assert steps.count() == 4  # Safari already: no "open it in Safari" step
    images = guide.locator("img")
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), i
        assert image.get_attribute("alt")
    page.screenshot(path=ARTIFACTS / "push-iphone-guide.png", full_page=True)
    _axe_clean(page, "iPhone guide")
    targets = TapTargets()
    targets.measure(page, "iPhone guide")
    assert not targets.too_small, f"smaller than {MIN_SIZE}px:\n" + "\n".join(targets.too_small)


def test_iphone_in_another_browser_is_told_to_use_safari(new_phone, neighborhood):
    page = new_phone()
    _user_agent(page, IPHONE_CHROME)
    log_in(page, neighborhood.resident.user.login_id)
    page.goto("/settings/notifications")
    page.locator('[data-push-guide="ios-install"]').wait_for()
    assert page.get_by_text("まずこのページを Safari で開いてください").is_visible()


def test_old_iphone_is_told_to_update_ios(new_phone, neighborhood):
    page = new_phone()
    _user_agent(page, IPHONE_OLD)
    log_in(page, neighborhood.resident.user.login_id)
    page.goto("/settings/notifications")
    page.locator('[data-push-guide="ios-old"]').wait_for()
    assert _visible_guides(page) == ["ios-old"]
    assert page.get_by_text("iOS 16.4 以降が必要です").is_visible()


def test_iphone_home_screen_app_gets_the_button(new_phone, neighborhood, server_url):
    page = new_phone()
    _user_agent(page, IPHONE_SAFARI)
    # What Safari sets in an app opened from the Home Screen.
    page.context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'standalone', {get: () => true})")
    log_in(page, neighborhood.resident.user.login_id)
    page.goto("/settings/notifications")
    page.get_by_role("button", name="通知を受け取る").wait_for()
    assert _state(page) == "ready"
    assert _visible_guides(page) == []


def test_blocked_notifications_get_the_way_back(new_phone, neighborhood, server_url, browser):
    page = new_phone()
    log_in(page, neighborhood.resident.user.login_id)
    context_id = page.context.new_cdp_session(page).send(
        "Target.getTargetInfo")["targetInfo"]["browserContextId"]
    browser.new_browser_cdp_session().send("Browser.setPermission", {
        "permission": {"name": "notifications"}, "setting": "denied", "origin": server_url,
        "browserContextId": context_id})
    page.goto("/settings/notifications")
    guide = page.locator('[data-push-guide="denied"]')
    guide.wait_for()
    assert _state(page) == "denied"
    assert _visible_guides(page) == ["denied"]
    assert not page.get_by_role("button", name="通知を受け取る").is_visible()
    # Android / PC steps for this browser, not the iPhone ones.
    assert guide.get_by_text("アドレスバーの左にあるマーク").is_visible()
    assert not guide.get_by_text("「設定」アプリ →「通知」").is_visible()
    page.screenshot(path=ARTIFACTS / "push-denied-guide.png", full_page=True)
    _axe_clean(page, "blocked notifications guide")


def test_settings_page_tap_targets(new_phone, neighborhood: Neighborhood, server_url):
    page = new_phone()
    page.context.grant_permissions(["notifications"], origin=server_url)
    log_in(page, neighborhood.resident.user.login_id)
    page.goto("/settings/notifications")
    page.get_by_role("button", name="通知を受け取る").wait_for()
    targets = TapTargets()
    targets.measure(page, "notification settings")
    assert not targets.too_small, f"smaller than {MIN_SIZE}px:\n" + "\n".join(targets.too_small)
    # (inputs are named by their value: the two times and the checkboxes' "1")
    for expected in ('button "通知を受け取る"', 'button "保存する"', 'input "21:00"',
                     'input "07:00"', 'input "1"', 'a "← 設定へ戻る"'):
        assert any(expected in c for c in targets.checked), (expected, targets.checked)


def test_the_page_explains_and_works_without_javascript(browser, server_url, app,
                                                       neighborhood: Neighborhood):
    """No script: no button (it needs the Push API), every guide listed, forms still work."""
    resident = neighborhood.resident.user
    endpoint = "https://fcm.googleapis.com/fcm/send/no-js"
    with app.app_context():
        db.session.add(PushSubscription(
            user_id=resident.id, endpoint=endpoint, endpoint_hash=endpoint_hash(endpoint),
            origin="https://fcm.googleapis.com", p256dh="B" * 87, auth="A" * 22,
            device_label="iPad Safari"))
        db.session.commit()
    context = browser.new_context(base_url=server_url, java_script_enabled=False, **PHONE)
    try:
        page = context.new_page()
        log_in(page, resident.login_id)
        page.goto("/settings/notifications")
        assert not page.get_by_role("button", name="通知を受け取る").is_visible()
        # (Playwright's text selectors skip <noscript>; the rendered text shows it.)
        assert "JavaScript が使えるときに表示されます" in page.locator("#push-device").inner_text()
        assert _visible_guides(page) == ["ios-install", "ios-old", "denied", "unsupported"]
        page.get_by_text("iPhone・iPad の方：ホーム画面に追加").click()  # <details> opens
        assert page.get_by_text("「ホーム画面に追加」を押し").is_visible()

        page.get_by_label("夜など、通知を鳴らさない時間を決める").check()
        page.get_by_label("始まり").fill("22:00")
        page.get_by_label("終わり").fill("06:30")
        with page.expect_navigation():
            page.get_by_role("button", name="保存する").click()
        assert page.get_by_text("通知の設定を保存しました。").is_visible()
        with page.expect_navigation():  # no confirm() without a script
            page.get_by_role("button", name="登録を外す").click()
        assert page.get_by_text("その端末には、もう通知を送りません。").is_visible()
    finally:
        context.close()
    with app.app_context():
        stored = db.session.get(User, resident.id)
        assert (stored.quiet_start_minute, stored.quiet_end_minute) == (22 * 60, 6 * 60 + 30)
        assert db.session.scalars(select(PushSubscription)).all() == []

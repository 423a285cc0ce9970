"""The installable app and the notification settings page: manifest, /sw.js, the page
without JavaScript, quiet hours and digest, removing devices (CSRF included)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from chounaikai.extensions import db
from chounaikai.models import PushSubscription, User
from chounaikai.push import vapid
from chounaikai.push.subscription_json import endpoint_hash
from tests.helpers import csrf_token, form_post
from tests.support import client_for, count, html, load

ROOT = Path(__file__).resolve().parents[2]


def _device(factory, user, label: str = "Android Chrome") -> PushSubscription:
    endpoint = f"https://fcm.googleapis.com/fcm/send/{label.replace(' ', '-')}-{user.id}"
    row = PushSubscription(user_id=user.id, endpoint=endpoint,
                           endpoint_hash=endpoint_hash(endpoint),
                           origin="https://fcm.googleapis.com", p256dh="B" * 87, auth="A" * 22,
                           device_label=label)
    factory._save(row)
    return row


# -- manifest and service worker -------------------------------------------------------------

def test_manifest(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["name"] == "デジタル町内会"
    assert manifest["lang"] == "ja"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    icons = {(icon["sizes"], icon["purpose"]): icon for icon in manifest["icons"]}
    assert set(icons) == {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"),
                          ("512x512", "maskable")}
    for (sizes, _purpose), icon in icons.items():
        image = client.get(icon["src"])
        assert image.status_code == 200
        assert image.mimetype == "image/png"
        with Image.open(io.BytesIO(image.get_data())) as png:
            assert f"{png.width}x{png.height}" == sizes
        image.close()
    # Revalidated with its ETag rather than cached blindly.
    again = client.get("/manifest.webmanifest", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_service_worker_is_served_from_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Content-Disposition" not in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.get_data() == (ROOT / "static/js/sw.js").read_bytes()
    response.close()


def test_service_worker_handles_push_clicks_and_badges():
    source = (ROOT / "static/js/sw.js").read_text()
    for needle in ('addEventListener("push"', 'addEventListener("notificationclick"',
                   "renotify: false", "setAppBadge", "clearAppBadge", "openWindow",
                   "url.origin === self.location.origin", "Offline: the disaster portal"):
        assert needle in source, needle
    # Offline handling covers the disaster portal only (tests/browser/test_portal.py).
    assert 'addEventListener("fetch", onFetch)' in source
    assert "isPortalRequest(event.request)" in source


def test_every_page_links_the_manifest_and_loads_the_push_script(client):
    page = html(client.get("/login"))
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert '<meta name="theme-color" content="#0b5394">' in page
    assert '<script src="/static/js/push.js" defer></script>' in page
    icon = client.get("/static/img/apple-touch-icon.png")
    assert icon.status_code == 200
    icon.close()


# -- the notification settings page ------------------------------------------------------------

def test_settings_page_needs_a_login(client):
    response = client.get("/settings/notifications")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_settings_page_without_javascript(app, factory):
    """The button waits for push.js; the guides and forms are there without it."""
    user, other = factory.user(), factory.user()
    mine = _device(factory, user, "iPhone Safari")
    _device(factory, other, "Windows Edge")
    client = client_for(app, user)
    page = html(client.get("/settings/notifications"))

    with app.app_context():
        key = vapid.public_key_b64url(app)
    assert f'data-vapid-key="{key}"' in page
    # The button only appears once the script has checked this device.
    button = re.search(r'<div class="push-panel" data-push-panel="ready" hidden>.*?</div>',
                       page, re.S)
    assert button
    assert "通知を受け取る</button>" in button.group(0)
    assert "<noscript>" in page
    for guide in ("ios-install", "ios-old", "denied", "unsupported"):
        assert f'data-push-guide="{guide}"' in page
    assert "ホーム画面に追加" in page
    for src in re.findall(r'<img src="([^"]+)"', page):
        image = client.get(src)
        assert image.status_code == 200, src
        assert image.mimetype == "image/svg+xml"
        image.close()
    assert len(re.findall(r'<img src="/static/img/guide/', page)) == 6
    # Own devices only, each with its own remove form.
    assert "iPhone Safari" in page
    assert "Windows Edge" not in page
    assert f"/settings/notifications/devices/{mine.id}/delete" in page
    assert f'data-endpoint-hash="{mine.endpoint_hash}"' in page
    # Emergencies are explained; CSP: no inline scripts or styles.
    assert "緊急のお知らせは、この設定にかかわらず" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert " style=" not in page
    assert "<style" not in page


def test_settings_link_from_the_settings_page(app, factory):
    client = client_for(app, factory.user())
    assert 'href="/settings/notifications"' in html(client.get("/settings"))


def _user(app, user_id: int) -> User:
    return load(app, User, user_id)


def test_save_quiet_hours_and_digest(app, factory):
    user = factory.user()
    client = client_for(app, user)
    response = form_post(client, "/settings/notifications", {
        "quiet_enabled": "1", "quiet_start": "21:30", "quiet_end": "06:45", "daily_digest": "1"})
    assert response.status_code == 302
    stored = _user(app, user.id)
    assert (stored.quiet_start_minute, stored.quiet_end_minute, stored.daily_digest) == (
        1290, 405, True)
    page = html(client.get("/settings/notifications"))
    assert "通知の設定を保存しました。" in page
    assert 'value="21:30"' in page
    assert 'value="06:45"' in page
    assert re.search(r'id="daily_digest"[^>]*checked', page, re.S)

    # Unticking the box turns quiet hours off, whatever the time fields say.
    form_post(client, "/settings/notifications", {"quiet_start": "21:30", "quiet_end": "06:45"})
    stored = _user(app, user.id)
    assert (stored.quiet_start_minute, stored.quiet_end_minute, stored.daily_digest) == (
        None, None, False)


@pytest.mark.parametrize(("start", "end", "message"), [
    ("21:00", "21:00", "始まりと終わりを違う時刻にしてください。"),
    ("25:00", "07:00", "時刻を「21:00」のように入れてください。"),
    ("", "07:00", "時刻を「21:00」のように入れてください。"),
    ("21:00", "朝", "時刻を「07:00」のように入れてください。"),
])
def test_bad_quiet_hours_are_explained_and_nothing_is_saved(app, factory, start, end, message):
    user = factory.user()
    client = client_for(app, user)
    response = form_post(client, "/settings/notifications", {
        "quiet_enabled": "1", "quiet_start": start, "quiet_end": end, "daily_digest": "1"})
    assert response.status_code == 400
    page = html(response)
    assert message in page
    assert 'role="alert"' in page
    # The form keeps what was typed.
    assert re.search(r'id="quiet_enabled"[^>]*checked', page)
    stored = _user(app, user.id)
    assert (stored.quiet_start_minute, stored.daily_digest) == (None, False)


def test_saving_settings_needs_the_csrf_token(app, factory):
    user = factory.user()
    client = client_for(app, user)
    response = client.post("/settings/notifications", data={
        "quiet_enabled": "1", "quiet_start": "21:00", "quiet_end": "07:00"})
    assert response.status_code == 400
    assert _user(app, user.id).quiet_start_minute is None


def test_remove_own_device(app, factory):
    user = factory.user()
    device = _device(factory, user)
    client = client_for(app, user)
    response = form_post(client, f"/settings/notifications/devices/{device.id}/delete")
    assert response.status_code == 302
    assert count(app, PushSubscription) == 0
    assert "その端末には、もう通知を送りません。" in html(client.get("/settings/notifications"))


def test_another_members_device_is_not_found(app, factory):
    user, other = factory.user(), factory.user()
    theirs = _device(factory, other)
    client = client_for(app, user)
    response = form_post(client, f"/settings/notifications/devices/{theirs.id}/delete")
    assert response.status_code == 404
    assert count(app, PushSubscription) == 1
    missing = form_post(client, "/settings/notifications/devices/2147483647/delete")
    assert missing.status_code == 404


def test_removing_a_device_needs_the_csrf_token(app, factory):
    user = factory.user()
    device = _device(factory, user)
    client = client_for(app, user)
    response = client.post(f"/settings/notifications/devices/{device.id}/delete")
    assert response.status_code == 400
    assert count(app, PushSubscription) == 1
    # A token from another session does not do either.
    stranger = app.test_client()
    response = client.post(f"/settings/notifications/devices/{device.id}/delete",
                           data={"csrf_token": csrf_token(stranger)})
    assert response.status_code == 400
    assert count(app, PushSubscription) == 1


def test_removing_needs_a_post(app, factory):
    user = factory.user()
    device = _device(factory, user)
    client = client_for(app, user)
    assert client.get(f"/settings/notifications/devices/{device.id}/delete").status_code == 405
    with app.app_context():
        assert db.session.get(PushSubscription, device.id) is not None

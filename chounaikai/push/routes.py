"""The installable app and Web Push on the web: manifest, service worker, notification settings.

``/sw.js`` is served from the site root (with ``Service-Worker-Allowed: /``) so the
worker's scope is the whole site.  The page script posts the browser's
``PushSubscription`` to ``/push/subscriptions`` with the CSRF token in a header;
everything else is a plain form that works without JavaScript.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..api.schemas import json_object
from ..errors import ValidationFailed
from ..forms import flag, text
from ..i18n import current_language
from . import subscription_json, subscriptions

bp = Blueprint("push", __name__)

THEME_COLOR = "#0b5394"  # --accent in app.css
BACKGROUND_COLOR = "#ffffff"


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: installable to the home screen, opening at the start page."""
    def icon(name: str, size: int, purpose: str) -> dict[str, str]:
        return {"src": url_for("static", filename=f"img/{name}"), "sizes": f"{size}x{size}",
                "type": "image/png", "purpose": purpose}

    # In the reader's language: the home-screen label is what they will look for.
    body = {
        "id": "/",
        "name": _("デジタル町内会"),
        "short_name": _("町内会"),
        "description": _("回覧板をスマートフォンで読む、町内会のためのサービス"),
        "lang": current_language().html,
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": BACKGROUND_COLOR,
        "theme_color": THEME_COLOR,
        "icons": [
            icon("icon-192.png", 192, "any"),
            icon("icon-512.png", 512, "any"),
            icon("icon-maskable-192.png", 192, "maskable"),
            icon("icon-maskable-512.png", 512, "maskable"),
        ],
    }
    response = current_app.response_class(json.dumps(body, ensure_ascii=False),
                                          mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    response.vary.update(("Cookie", "Accept-Language"))
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/sw.js")
def service_worker():
    """static/js/sw.js at the root: scope "/" needs the script there (or this header)."""
    response = send_from_directory(current_app.static_folder or "static", "js/sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers.pop("Content-Disposition", None)  # a script, not a download
    # Browsers check for a new worker at least daily; never let a cache hold an old one.
    response.headers["Cache-Control"] = "no-cache"
    return response


def _render_settings(*, error: ValidationFailed | None = None, status: int = 200):
    form = request.form if error is not None else None
    return render_template(
        "push/settings.html",
        devices=subscriptions.devices_of(current_user),
        quiet=subscriptions.quiet_hours_of(current_user),
        vapid_key=subscriptions.vapid_public_key() or "",
        error=error, form=form), status


@bp.get("/settings/notifications")
@login_required
def settings():
    """Subscribe this device, see and remove devices, quiet hours and the daily digest."""
    return _render_settings()


@bp.post("/settings/notifications")
@login_required
def save_settings():
    try:
        quiet = None
        if flag("quiet_enabled"):
            quiet = subscriptions.parse_quiet_hours(text("quiet_start"), text("quiet_end"))
        subscriptions.update_settings(user=current_user, quiet_hours=quiet,
                                      daily_digest=flag("daily_digest"))
    except ValidationFailed as error:
        return _render_settings(error=error, status=400)
    flash(_("通知の設定を保存しました。"), "success")
    return redirect(url_for("push.settings"))


@bp.post("/settings/notifications/devices/<int:subscription_id>/delete")
@login_required
def remove_device(subscription_id: int):
    subscriptions.remove_device(user=current_user, subscription_id=subscription_id)
    flash(_("その端末には、もう通知を送りません。"), "success")
    return redirect(url_for("push.settings"))


@bp.post("/push/subscriptions")
@login_required
def subscribe():
    """The page script sends ``PushSubscription.toJSON()`` here (CSRF token in a header)."""
    subscription_json.check_body_size(request.get_data(cache=True))
    data = subscription_json.parse_subscription(json_object())
    row, created = subscriptions.subscribe(
        user=current_user, data=data,
        label=subscriptions.device_label(request.headers.get("User-Agent")))
    # The script reloads the page, which shows this and the updated device list.
    flash(_("この端末で通知を受け取れるようになりました。"), "success")
    return {"id": row.id, "device_label": row.device_label, "created": created}, (
        201 if created else 200)

"""CAP 1.2 documents and the Atom feed (public), and CAP import (staff)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import pagecache
from ..errors import NotFound, ValidationFailed
from ..i18n import current_language
from ..models import MAX_ID, utcnow
from ..permissions import require_staff
from . import cap, cap_import, services, templates

bp = Blueprint("cap", __name__)


# A sent message never changes, so its document can be kept much longer than the feed.
CAP_DOCUMENT_CACHE_SECONDS = 300


@bp.get("/alerts/<int:alert_id>/cap.xml")
def cap_document(alert_id: int):
    """Any alert's CAP document, current or not (public: alerts are public information)."""
    def render() -> tuple[bytes, str]:
        alert = services.get_alert(alert_id)  # NotFound is raised, never cached
        return cap.document(alert), cap.media_type(alert)

    page = pagecache.get_or_render(("cap", alert_id), render, _seconds(
        CAP_DOCUMENT_CACHE_SECONDS))
    return pagecache.respond(page, request, cap.CAP_MEDIA_TYPE, cap.CACHE_CONTROL)


@bp.get("/alerts.atom")
def atom_feed():
    """The alerts in force, one entry each, linking to their CAP documents."""
    def render() -> bytes:
        alerts = services.active_alerts()
        latest = services.recent_alerts(1)
        # A cancel leaves no entry but changes the feed: the newest message of all dates it.
        updated = latest[0].sent_at if latest else utcnow()
        return cap.atom_feed(alerts, updated)

    page = pagecache.get_or_render(("atom",), render, _seconds(
        current_app.config.get("PORTAL_CACHE_SECONDS", 5)))
    return pagecache.respond(page, request, cap.ATOM_MEDIA_TYPE, cap.CACHE_CONTROL)


def _seconds(default: float) -> float:
    """No caching at all when the portal's cache is off (tests)."""
    return default if current_app.config.get("PORTAL_CACHE_SECONDS", 5) else 0


@bp.get("/staff/alerts/import")
@login_required
def import_form():
    """The upload form; after an import, a summary of the stored alert."""
    require_staff(current_user)
    alert_id = request.args.get("alert", type=int)
    if alert_id is not None and not 0 < alert_id <= MAX_ID:
        raise NotFound()
    alert = services.get_alert(alert_id) if alert_id else None
    summary = None
    if alert is not None:
        summary = templates.alert_text(alert, current_language().code,
                                       current_app.config["CITY_NAME"])
    return _form_page(alert=alert, summary=summary, created=request.args.get("created") == "1")


def _form_page(**context: Any) -> str:
    context.setdefault("alert", None)
    context.setdefault("error", None)
    return render_template("alerts/cap_import.html",
                           max_mb=cap_import.MAX_DOCUMENT_BYTES // (1024 * 1024), **context)


@bp.post("/staff/alerts/import")
@login_required
def import_upload():
    require_staff(current_user)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed(fields={"file": _("ファイルを選んでください。")})
        # One byte more than allowed is enough to know the file is too large.
        data = upload.stream.read(cap_import.MAX_DOCUMENT_BYTES + 1)
        result = cap_import.import_cap(data=data, actor=current_user)
    except (ValidationFailed, cap_import.DocumentTooLarge) as error:
        return _form_page(error=error), error.status
    return redirect(url_for("cap.import_form", alert=result.alert.id,
                            created="1" if result.created else "0"))

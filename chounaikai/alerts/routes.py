"""Staff pages for emergency alerts: compose, preview, confirm, progress, update, cancel.

Sending is two steps on purpose: the composer posts to the preview, which shows
exactly what residents will read in every language; only the preview's form,
with its confirmation box ticked, sends.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ValidationFailed
from ..extensions import db
from ..forms import flag, text
from ..models import MAX_ID, AlertKind, AlertTarget, Association, Hazard
from ..permissions import require_staff
from . import services, templates

bp = Blueprint("alerts", __name__, url_prefix="/staff/alerts")


def _enum(cls, name: str, *, optional: bool = False):
    raw = request.form.get(name, "")
    if optional and not raw:
        return None
    try:
        return cls(raw)
    except ValueError as exc:
        raise ValidationFailed(fields={name: _("選んでください。")}) from exc


def _draft_from_form() -> services.AlertDraft:
    ids = tuple(int(v) for v in request.form.getlist("association_ids")
                if v.isdigit() and int(v) <= MAX_ID)
    kind = _enum(AlertKind, "kind")
    return services.AlertDraft(
        kind=kind, hazard=_enum(Hazard, "hazard", optional=True),
        target=_enum(AlertTarget, "target"),
        districts=tuple(request.form.getlist("districts")), association_ids=ids,
        headline=text("headline") if kind == AlertKind.FREE else "",
        description=text("description") if kind == AlertKind.FREE else "",
        instruction=text("instruction") if kind == AlertKind.FREE else "")


def _references() -> int | None:
    raw = request.form.get("references", "")
    return int(raw) if raw.isdigit() and int(raw) <= MAX_ID else None


def _composer(form, error=None, references=None, status=200):
    associations = db.session.scalars(db.select(Association).order_by(Association.district,
                                                                      Association.name)).all()
    return render_template(
        "alerts/compose.html", form=form, error=error, references=references,
        kinds=list(AlertKind), kind_labels=templates.KIND_LABELS, hazards=list(Hazard),
        hazard_names=templates.HAZARD_NAMES, districts=services.districts(),
        associations=associations), status


@bp.get("/")
@login_required
def index():
    require_staff(current_user)
    return render_template("alerts/index.html", active=services.active_alerts(),
                           recent=services.recent_alerts(), kind_labels=templates.KIND_LABELS,
                           style_for=templates.style_for)


@bp.get("/new")
@login_required
def compose():
    require_staff(current_user)
    references = None
    form: dict[str, object] = {}
    if request.args.get("update", "").isdigit():
        references = services.get_alert(int(request.args["update"]))
        form = {"kind": references.kind.value,
                "hazard": references.hazard.value if references.hazard else "",
                "target": references.target.value, "districts": references.districts,
                "association_ids": [str(i) for i in references.association_ids],
                **references.texts.get("ja", {})}
    return _composer(form, references=references)


@bp.post("/preview")
@login_required
def preview():
    require_staff(current_user)
    references = _references()
    try:
        result = services.preview(actor=current_user, draft=_draft_from_form())
    except ValidationFailed as error:
        return _composer(request.form, error=error, status=400,
                         references=services.get_alert(references) if references else None)
    return render_template("alerts/preview.html", preview=result, references=references,
                           kind_labels=templates.KIND_LABELS,
                           style=templates.style_for(result.alert), form=request.form)


@bp.post("/")
@login_required
def send():
    require_staff(current_user)
    references = _references()
    draft = _draft_from_form()
    if not flag("confirmed"):
        result = services.preview(actor=current_user, draft=draft)
        error = ValidationFailed(fields={
            "confirmed": _("送信する前に、内容を確かめてチェックを入れてください。")})
        return render_template("alerts/preview.html", preview=result, references=references,
                               kind_labels=templates.KIND_LABELS,
                               style=templates.style_for(result.alert), form=request.form,
                               error=error), 400
    if references:
        alert = services.update(actor=current_user, alert_id=references, draft=draft)
    else:
        alert = services.issue(actor=current_user, draft=draft)
    flash(_("緊急情報を送信しました。"), "success")
    return redirect(url_for("alerts.detail", alert_id=alert.id))


@bp.get("/<int:alert_id>")
@login_required
def detail(alert_id: int):
    progress = services.progress(actor=current_user, alert_id=alert_id)
    alert = services.get_alert(alert_id)
    return render_template("alerts/detail.html", alert=alert, progress=progress,
                           kind_labels=templates.KIND_LABELS, style=templates.style_for(alert),
                           text=templates.alert_text(alert, "ja", _city()))


@bp.get("/<int:alert_id>/progress")
@login_required
def progress_json(alert_id: int):
    """The progress counters for the page script (polled every few seconds)."""
    progress = services.progress(actor=current_user, alert_id=alert_id)
    return {"targeted": progress.targeted, "sent": progress.sent, "failed": progress.failed,
            "pending": progress.pending}


@bp.post("/<int:alert_id>/cancel")
@login_required
def cancel(alert_id: int):
    require_staff(current_user)
    if not flag("confirmed"):
        flash(_("取り消す前に、確認のチェックを入れてください。"), "error")
        return redirect(url_for("alerts.detail", alert_id=alert_id))
    alert = services.cancel(actor=current_user, alert_id=alert_id)
    flash(_("緊急情報を取り消しました。"), "success")
    return redirect(url_for("alerts.detail", alert_id=alert.id))


def _city() -> str:
    from flask import current_app

    return current_app.config["CITY_NAME"]

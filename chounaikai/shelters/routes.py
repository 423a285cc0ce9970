"""Shelter status updates by staff and by leaders named as a shelter's contact.

Status page: two taps from a phone (open the page, tap a big button).  Each
button is its own small form, so a tap saves at once and Enter in the number
field can never open or close the shelter by accident.  Staff pages: the list,
the file import, and one shelter's contacts and 福祉避難所 flag.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..database import writes_on_get
from ..errors import ValidationFailed
from ..forms import flag, text
from ..models import Congestion
from ..permissions import require_staff
from . import importers, services

bp = Blueprint("shelters", __name__)

_STEPS = {"+1": 1, "-1": -1, "+10": 10, "-10": -10}


def _page_context() -> dict:
    return {"congestion_labels": services.CONGESTION_LABELS,
            "congestion_symbols": services.CONGESTION_SYMBOLS,
            "hazard_labels": services.HAZARD_LABELS, "attribution": services.attribution,
            "congestions": list(Congestion)}


def _change_from_form() -> services.StatusChange:
    """One button's change: ``action`` is open, close, congestion:<value>,
    evacuees:<step> or evacuees:set (with the ``evacuees`` field)."""
    action = text("action").strip()
    kind, _sep, value = action.partition(":")
    if action in ("open", "close"):
        return services.StatusChange(is_open=action == "open")
    if kind == "congestion" and value in {c.value for c in Congestion}:
        return services.StatusChange(congestion=Congestion(value))
    if kind == "evacuees" and value in _STEPS:
        return services.StatusChange(evacuees_delta=_STEPS[value])
    if action == "evacuees:set":
        raw = text("evacuees").strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 7):
            raise ValidationFailed(fields={"evacuees": _("人数を数字で入れてください。")})
        return services.StatusChange(evacuees=int(raw))
    raise ValidationFailed(fields={"status": _("変える内容を選んでください。")})


@bp.get("/shelters/mine")
@login_required
def mine():
    """Shelters the user is a contact of (their way to the status pages)."""
    return render_template("shelters/mine.html",
                           shelters=services.my_shelters(actor=current_user),
                           **_page_context())


@bp.get("/shelters/<int:shelter_id>/status")
@login_required
def status(shelter_id: int):
    shelter, history = services.status_page(actor=current_user, shelter_id=shelter_id)
    return render_template("shelters/status.html", shelter=shelter, history=history,
                           **_page_context())


@bp.post("/shelters/<int:shelter_id>/status")
@login_required
def update_status(shelter_id: int):
    """Save one tap; errors come back as a message on the same page."""
    shelter = services.get_shelter(shelter_id)
    services.require_status_editor(current_user, shelter)
    try:
        services.update_status(actor=current_user, shelter_id=shelter_id,
                               change=_change_from_form())
    except ValidationFailed as error:
        flash(" ".join([error.describe(), *error.fields.values()]), "error")
    else:
        flash(_("保存しました。"), "success")
    return redirect(url_for("shelters.status", shelter_id=shelter_id))


# -- staff --------------------------------------------------------------------------------

def _render_list(error: ValidationFailed | None = None, status: int = 200):
    query = request.args.get("q", "")
    shelters = services.staff_list(actor=current_user, query=query)
    return render_template("shelters/staff_list.html", shelters=shelters, query=query,
                           error=error, open_count=sum(1 for s in shelters if s.is_open),
                           sources=sorted({services.attribution(s) for s in shelters}),
                           **_page_context()), status


@bp.get("/staff/shelters")
@login_required
def staff_list():
    return _render_list()


@bp.post("/staff/shelters/import")
@login_required
def import_upload():
    """Import GeoJSON/CSV files; a bad file is shown with its lines and nothing is saved."""
    require_staff(current_user)
    uploads = [importers.Upload(f.filename or "", f.read())
               for f in request.files.getlist("files") if f and f.filename]
    try:
        result = importers.import_by_staff(actor=current_user, uploads=uploads,
                                           district_from=text("district_from"))
    except ValidationFailed as error:
        return _render_list(error, 400)
    flash(_("取り込みました: 新しい避難所 %(created)d件、更新 %(updated)d件、変更なし "
            "%(unchanged)d件。", created=result.created, updated=result.updated,
            unchanged=result.unchanged), "success")
    return redirect(url_for("shelters.staff_list"))


@bp.get("/staff/shelters/<int:shelter_id>")
@login_required
@writes_on_get
def staff_detail(shelter_id: int):
    shelter = services.staff_detail(actor=current_user, shelter_id=shelter_id)
    return render_template("shelters/staff_detail.html", shelter=shelter, **_page_context())


@bp.post("/staff/shelters/<int:shelter_id>/contacts")
@login_required
def add_contact(shelter_id: int):
    try:
        user = services.add_contact(actor=current_user, shelter_id=shelter_id,
                                    login_id=text("login_id"))
    except ValidationFailed as error:
        flash(" ".join([error.describe(), *error.fields.values()]), "error")
    else:
        flash(_("%(name)sさんを担当者にしました。", name=user.display_name), "success")
    return redirect(url_for("shelters.staff_detail", shelter_id=shelter_id))


@bp.post("/staff/shelters/<int:shelter_id>/contacts/<int:user_id>/remove")
@login_required
def remove_contact(shelter_id: int, user_id: int):
    services.remove_contact(actor=current_user, shelter_id=shelter_id, user_id=user_id)
    flash(_("担当者から外しました。"), "success")
    return redirect(url_for("shelters.staff_detail", shelter_id=shelter_id))


@bp.post("/staff/shelters/<int:shelter_id>/welfare")
@login_required
def set_welfare(shelter_id: int):
    shelter = services.set_welfare(actor=current_user, shelter_id=shelter_id,
                                   welfare=flag("welfare"))
    flash(_("福祉避難所にしました。") if shelter.welfare else _("福祉避難所の印を外しました。"),
          "success")
    return redirect(url_for("shelters.staff_detail", shelter_id=shelter_id))

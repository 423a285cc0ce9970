"""City staff: associations and their aggregate numbers."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..associations import services as association_services
from ..database import writes_on_get
from ..errors import ValidationFailed
from ..forms import text
from ..models import MemberRole
from ..permissions import require_staff
from . import services

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@login_required
@writes_on_get
def dashboard():
    return render_template("staff/dashboard.html",
                           rows=services.association_counts(actor=current_user))


@bp.post("/associations")
@login_required
def create_association():
    require_staff(current_user)
    try:
        association = association_services.create_association(
            actor=current_user, name=text("name"), district=text("district"))
    except ValidationFailed as error:
        flash(error.describe(), "error")
        return redirect(url_for("staff.dashboard"))
    flash(_("%(name)sを作成しました。", name=association.name), "success")
    return redirect(url_for("staff.dashboard"))


@bp.post("/associations/<int:association_id>/leader-invite")
@login_required
def leader_invite(association_id: int):
    """Staff hand a new association its first leader invite."""
    require_staff(current_user)
    invite = association_services.create_invite(
        actor=current_user, association_id=association_id, role=MemberRole.LEADER,
        block_id=None, max_uses=1, valid_days=30)
    return redirect(url_for("associations.print_invite", invite_id=invite.id))

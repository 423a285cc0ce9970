"""Leader pages: blocks, households, members and invite flyers."""

from __future__ import annotations

import segno
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..database import writes_on_get
from ..errors import ValidationFailed
from ..forms import flag, optional_int, text
from ..models import MemberRole
from . import services

bp = Blueprint("associations", __name__)


def _role(value: str) -> MemberRole:
    try:
        return MemberRole(value)
    except ValueError:
        raise ValidationFailed(fields={"role": _("この役割はありません。")}) from None


def _valid_days() -> int:
    days = optional_int("valid_days")
    return 30 if days is None else days


def _back(association_id: int, message: str):
    flash(message, "success")
    return redirect(url_for("associations.manage", association_id=association_id))


@bp.get("/a/<int:association_id>/manage")
@login_required
@writes_on_get
def manage(association_id: int):
    roster = services.roster(actor=current_user, association_id=association_id)
    return render_template("associations/manage.html", roster=roster, roles=list(MemberRole))


@bp.post("/a/<int:association_id>/blocks")
@login_required
def create_block(association_id: int):
    services.create_block(actor=current_user, association_id=association_id, name=text("name"))
    return _back(association_id, _("班を追加しました。"))


@bp.post("/blocks/<int:block_id>/delete")
@login_required
def delete_block(block_id: int):
    association_id = services.delete_block(actor=current_user, block_id=block_id)
    return _back(association_id, _("班を削除しました。"))


@bp.post("/a/<int:association_id>/households")
@login_required
def create_household(association_id: int):
    services.create_household(actor=current_user, association_id=association_id,
                              name=text("name"), block_id=optional_int("block_id"),
                              has_smartphone=not flag("paper"))
    return _back(association_id, _("世帯を追加しました。"))


@bp.post("/households/<int:household_id>/block")
@login_required
def move_household(household_id: int):
    household = services.move_household(actor=current_user, household_id=household_id,
                                        block_id=optional_int("block_id"))
    return _back(household.association_id, _("世帯の班を変更しました。"))


@bp.post("/members/<int:membership_id>/role")
@login_required
def change_role(membership_id: int):
    membership = services.change_role(actor=current_user, membership_id=membership_id,
                                      role=_role(text("role")))
    return _back(membership.association_id, _("役割を変更しました。"))


@bp.post("/members/<int:membership_id>/remove")
@login_required
def remove_member(membership_id: int):
    association_id = services.remove_member(actor=current_user, membership_id=membership_id)
    return _back(association_id, _("会員を外しました。この人はもうこの町内会を見られません。"))


@bp.get("/a/<int:association_id>/invites")
@login_required
def invites(association_id: int):
    items = services.list_invites(actor=current_user, association_id=association_id)
    return render_template("associations/invites.html",
                           association=services.get_association(association_id),
                           invites=items, roles=list(MemberRole))


@bp.post("/a/<int:association_id>/invites")
@login_required
def create_invite(association_id: int):
    max_uses = None if text("uses") == "many" else 1
    try:
        invite = services.create_invite(
            actor=current_user, association_id=association_id, role=_role(text("role")),
            block_id=optional_int("block_id"), max_uses=max_uses,
            valid_days=_valid_days())
    except ValidationFailed as error:
        flash(" ".join([error.describe(), *error.fields.values()]), "error")
        return redirect(url_for("associations.invites", association_id=association_id)), 303
    return redirect(url_for("associations.print_invite", invite_id=invite.id))


def _join_url(code: str | None = None) -> str:
    """The join page on the public address (``PUBLIC_BASE_URL``): flyers leave the building."""
    path = url_for("auth.join", code=code) if code else url_for("auth.join")
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


@bp.get("/invites/<int:invite_id>/print")
@login_required
def print_invite(invite_id: int):
    """A printable A4 flyer with the QR code and the code written out."""
    invite = services.get_invite(actor=current_user, invite_id=invite_id)
    return render_template("associations/invite_print.html", invite=invite,
                           join_url=_join_url(invite.code), join_page=_join_url())


@bp.get("/invites/<int:invite_id>/qr.svg")
@login_required
def invite_qr(invite_id: int):
    invite = services.get_invite(actor=current_user, invite_id=invite_id)
    qr = segno.make(_join_url(invite.code), error="m")
    svg = qr.svg_inline(scale=8, dark="#000", light="#fff", border=2)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@bp.post("/invites/<int:invite_id>/revoke")
@login_required
def revoke_invite(invite_id: int):
    invite = services.revoke_invite(actor=current_user, invite_id=invite_id)
    flash(_("招待コードを使えないようにしました。"), "success")
    if request.form.get("from") == "staff":
        return redirect(url_for("staff.dashboard"))
    return redirect(url_for("associations.invites", association_id=invite.association_id))

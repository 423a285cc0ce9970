"""Safety confirmation (安否確認): answering, proxy answers, leaders' and staff views.

HTTP only: each route parses the form, calls one service and renders or redirects.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..associations.services import get_association
from ..database import writes_on_get
from ..errors import Conflict, ValidationFailed
from ..extensions import db
from ..forms import flag, optional_int, text
from ..models import SafetyStatus, User, utcnow
from ..permissions import can_lead, require_member
from . import report, services

bp = Blueprint("safety", __name__)

# A symbol with every label: the state is never shown by colour alone.
STATUS_LABELS = {
    SafetyStatus.SAFE: ("✓", _l("無事")),
    SafetyStatus.NEEDS_HELP: ("!", _l("助けが必要")),
    SafetyStatus.AT_SHELTER: ("⌂", _l("避難所にいる")),
}


def _answer_input() -> services.AnswerInput:
    return services.AnswerInput(status=text("status"), note=text("note"),
                                shelter_id=optional_int("shelter_id"))


def _people(*ids: int | None) -> dict[int, User]:
    return {i: user for i in ids if i and (user := db.session.get(User, i)) is not None}


def _answer_page(association_id: int, *, household_id: int | None = None,
                 error: ValidationFailed | None = None, status: int = 200):
    """The three big buttons, for the member's household or (proxy) another one."""
    membership = require_member(current_user, association_id)
    association = get_association(association_id)
    if household_id is None:
        household, proxy = membership.household, False
        round_, answer = services.own_answer(user=current_user, association_id=association_id)
    else:
        household, proxy, round_, answer = services.proxy_target(
            actor=current_user, association_id=association_id, household_id=household_id)
    return render_template(
        "safety/home.html", association=association, membership=membership, round=round_,
        answer=answer, household=household, proxy=proxy,
        shelters=services.shelters_for(association) if round_ else [],
        people=_people(answer.answered_by_id if answer else None),
        labels=STATUS_LABELS, max_note=services.MAX_NOTE, error=error), status


@bp.get("/a/<int:association_id>/safety")
@login_required
def home(association_id: int):
    """A resident's page: the current round and three big buttons."""
    return _answer_page(association_id)


@bp.post("/a/<int:association_id>/safety/answer")
@login_required
def answer(association_id: int):
    try:
        services.answer(actor=current_user, association_id=association_id, data=_answer_input())
    except ValidationFailed as error:
        return _answer_page(association_id, error=error, status=400)
    flash(_("回答を送りました。ありがとうございます。"), "success")
    return redirect(url_for("safety.home", association_id=association_id))


@bp.get("/a/<int:association_id>/safety/households/<int:household_id>/answer")
@login_required
def proxy_form(association_id: int, household_id: int):
    """A block leader or leader answers for a household (e.g. one without a smartphone)."""
    return _answer_page(association_id, household_id=household_id)


@bp.post("/a/<int:association_id>/safety/households/<int:household_id>/answer")
@login_required
def proxy_answer(association_id: int, household_id: int):
    try:
        services.answer(actor=current_user, association_id=association_id,
                        data=_answer_input(), household_id=household_id)
    except ValidationFailed as error:
        return _answer_page(association_id, household_id=household_id, error=error, status=400)
    flash(_("代理で回答しました。"), "success")
    return redirect(url_for("safety.manage", association_id=association_id)
                    + f"#household-{household_id}")


@bp.get("/a/<int:association_id>/safety/manage")
@login_required
@writes_on_get
def manage(association_id: int):
    """Leaders (every block, with notes) and block leaders (their block): the live status."""
    status = report.status_report(actor=current_user, association_id=association_id)
    response = Response(render_template("safety/manage.html", report=status,
                                        labels=STATUS_LABELS))
    response.headers["Cache-Control"] = "private, no-store"  # names and health notes
    return response


def _after_round_change(association_id: int):
    """Leaders go back to their page; city staff to theirs."""
    if can_lead(current_user, association_id):
        return redirect(url_for("safety.manage", association_id=association_id))
    return redirect(url_for("safety.staff"))


@bp.post("/a/<int:association_id>/safety/rounds")
@login_required
def start_round(association_id: int):
    _round, created = services.start_round(actor=current_user, association_id=association_id)
    if created:
        flash(_("安否確認を始めました。"), "success")
    else:
        flash(_("安否確認はすでに始まっています。"), "success")
    return _after_round_change(association_id)


@bp.post("/a/<int:association_id>/safety/close")
@login_required
def close_round(association_id: int):
    try:
        services.close_round(actor=current_user, association_id=association_id,
                             round_id=optional_int("round_id"))
    except Conflict as error:
        flash(error.describe(), "error")
        return _after_round_change(association_id)
    flash(_("安否確認を終了しました。"), "success")
    return _after_round_change(association_id)


@bp.post("/a/<int:association_id>/safety/settings")
@login_required
def save_settings(association_id: int):
    association = services.set_auto_safety_check(
        actor=current_user, association_id=association_id, enabled=flag("auto_safety_check"))
    flash(_("自動で安否確認を始めます。") if association.auto_safety_check
          else _("自動では安否確認を始めません。"), "success")
    return redirect(url_for("safety.manage", association_id=association_id) + "#settings")


@bp.get("/a/<int:association_id>/safety/door-knock")
@login_required
@writes_on_get
def door_knock(association_id: int):
    """The printable list of unanswered households (print CSS), by block."""
    listing = report.door_knock_list(actor=current_user, association_id=association_id)
    response = Response(render_template("safety/door_knock.html", listing=listing,
                                        printed_at=utcnow()))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/a/<int:association_id>/safety/door-knock.csv")
@login_required
@writes_on_get
def door_knock_csv(association_id: int):
    """The same list as CSV (UTF-8 with a BOM, for Excel)."""
    listing = report.door_knock_list(actor=current_user, association_id=association_id,
                                     export=True)
    body = report.door_knock_csv(listing, block_header=_("班"), household_header=_("世帯"),
                                 no_block=_("班なし"))
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="safety-unanswered-{association_id}-{stamp}.csv"')
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/staff/safety")
@login_required
@writes_on_get
def staff():
    """City staff: counts per association only, never names or notes."""
    return render_template("safety/staff.html", rows=report.staff_counts(actor=current_user))


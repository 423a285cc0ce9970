"""Circular pages for residents and leaders."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import memberpages, sharedpages
from ..associations.services import get_association
from ..database import reads_first, start_writing, writes_on_get
from ..errors import ValidationFailed
from ..forms import flag, local_datetime, text
from ..i18n import current_language
from ..models import MAX_ID, MemberRole
from ..permissions import require_member, require_role
from . import attachments as files
from . import receipts, services, translations
from .reader import circular_page, inbox_page, member_parts, own_read_at

bp = Blueprint("circulars", __name__)


def _input_from_form() -> services.CircularInput:
    block_ids = tuple(int(v) for v in request.form.getlist("block_ids")
                      if v.isdigit() and int(v) <= MAX_ID)
    return services.CircularInput(
        title=text("title"), body_md=text("body"), audience_all=text("audience") != "blocks",
        block_ids=block_ids, publish_at=local_datetime("publish_at"),
        deadline_at=local_datetime("deadline_at"), ack_required=flag("ack_required"))


def _uploads() -> list[services.Upload]:
    return [services.Upload(f.filename or "", f.read())
            for f in request.files.getlist("files") if f and f.filename]


@bp.get("/a/<int:association_id>/circulars")
@login_required
@memberpages.replayable()
def inbox(association_id: int):
    page = inbox_page(user=current_user, association_id=association_id,
                      language=current_language().code)
    # A scheduled circular appears in the list by itself at its time.
    memberpages.valid_until(page.next_publication)
    # Every member of the association with the same role sees the same page but for
    # their unread count and read marks: rendered once per language, those per request.
    return sharedpages.render(
        "circulars/inbox.html",
        ("inbox", page.association_name, page.role, page.safety_round_open),
        personal=member_parts(page), page=page)


@bp.get("/circulars/<int:circular_id>")
@login_required
@memberpages.replayable(receipt_of="circular_id")
def show(circular_id: int):
    page = circular_page(user=current_user, circular_id=circular_id,
                         language=current_language().code)
    # Everyone who has not read it yet sees the same page (but for their session's
    # tokens): rendered once per language, not once per member.
    return sharedpages.render("circulars/show.html",
                              (page.id, page.read_at is None, page.acknowledged_at),
                              page=page)


@bp.post("/circulars/<int:circular_id>/read")
@reads_first
@login_required
def mark_read(circular_id: int):
    """Called by the page's script on open (a POST, never a GET side effect).

    A repeat (a retry, a second tab) is answered from a plain read, without SQLite's
    write lock; only a first read writes.
    """
    read_at = own_read_at(user=current_user, circular_id=circular_id)
    if read_at is None:
        start_writing(keep_loaded=True)  # services.mark_read checks again, under the lock
        read_at = services.mark_read(user=current_user, circular_id=circular_id).read_at
    if request.accept_mimetypes.best == "application/json":
        return {"read_at": read_at.isoformat()}
    return redirect(url_for("circulars.show", circular_id=circular_id))


@bp.post("/circulars/<int:circular_id>/ack")
@login_required
def acknowledge(circular_id: int):
    services.acknowledge(user=current_user, circular_id=circular_id)
    flash(_("ありがとうございます。確認を記録しました。"), "success")
    return redirect(url_for("circulars.show", circular_id=circular_id))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    item = services.readable_attachment(user=current_user, attachment_id=attachment_id)
    return files.send_attachment(item)


@bp.get("/a/<int:association_id>/circulars/manage")
@login_required
def manage(association_id: int):
    items = services.leader_list(actor=current_user, association_id=association_id)
    return render_template("circulars/manage.html", association=get_association(association_id),
                           items=items)


@bp.get("/a/<int:association_id>/circulars/new")
@login_required
def new(association_id: int):
    require_role(current_user, association_id, MemberRole.LEADER)
    return render_template("circulars/edit.html", association=get_association(association_id),
                           circular=None, form={})


@bp.post("/a/<int:association_id>/circulars")
@login_required
def create(association_id: int):
    try:
        circular = services.create_circular(actor=current_user, association_id=association_id,
                                            data=_input_from_form(), uploads=_uploads())
    except ValidationFailed as error:
        return render_template("circulars/edit.html", association=get_association(association_id),
                               circular=None, form=request.form, error=error), 400
    flash(_("回覧を保存しました。"), "success")
    return redirect(url_for("circulars.status", circular_id=circular.id))


@bp.get("/circulars/<int:circular_id>/edit")
@login_required
def edit(circular_id: int):
    circular = services.visible_circular(user=current_user, circular_id=circular_id)
    require_role(current_user, circular.association_id, MemberRole.LEADER)
    return render_template("circulars/edit.html", association=circular.association,
                           circular=circular, form={})


@bp.post("/circulars/<int:circular_id>/edit")
@login_required
def update(circular_id: int):
    try:
        circular = services.correct_circular(actor=current_user, circular_id=circular_id,
                                             data=_input_from_form(), uploads=_uploads())
    except ValidationFailed as error:
        circular = services.visible_circular(user=current_user, circular_id=circular_id)
        return render_template("circulars/edit.html", association=circular.association,
                               circular=circular, form=request.form, error=error), 400
    flash(_("回覧を訂正しました。住民には訂正されたことが表示されます。"), "success")
    return redirect(url_for("circulars.status", circular_id=circular.id))


@bp.get("/circulars/<int:circular_id>/status")
@login_required
@writes_on_get
def status(circular_id: int):
    report = receipts.status_report(actor=current_user, circular_id=circular_id)
    return render_template("circulars/status.html", report=report,
                           translatable=translations.TRANSLATABLE,
                           translated={t.language for t in report.circular.translations},
                           membership=require_member(current_user,
                                                     report.circular.association_id))


@bp.post("/circulars/<int:circular_id>/paper/<int:household_id>")
@login_required
def paper_receipt(circular_id: int, household_id: int):
    receipts.record_paper_receipt(actor=current_user, circular_id=circular_id,
                                  household_id=household_id, acknowledge=flag("acknowledge"))
    flash(_("紙での確認を記録しました。"), "success")
    return redirect(url_for("circulars.status", circular_id=circular_id))


@bp.get("/circulars/<int:circular_id>/translations/<language>")
@login_required
def translation(circular_id: int, language: str):
    existing = translations.get_translation(actor=current_user, circular_id=circular_id,
                                            language=language)
    return render_template("circulars/translation.html", language_code=language,
                           circular=existing.circular if existing else
                           services.visible_circular(user=current_user, circular_id=circular_id),
                           translation=existing, form={})


@bp.post("/circulars/<int:circular_id>/translations/<language>")
@login_required
def save_translation(circular_id: int, language: str):
    try:
        translations.save_translation(actor=current_user, circular_id=circular_id,
                                      language=language, title=text("title"), body_md=text("body"))
    except ValidationFailed as error:
        existing = translations.get_translation(actor=current_user, circular_id=circular_id,
                                                language=language)
        circular = services.visible_circular(user=current_user, circular_id=circular_id)
        return render_template("circulars/translation.html", language_code=language,
                               circular=circular, translation=existing, form=request.form,
                               error=error), 400
    flash(_("翻訳を保存しました。"), "success")
    return redirect(url_for("circulars.status", circular_id=circular_id))


@bp.post("/circulars/<int:circular_id>/translations/<language>/delete")
@login_required
def delete_translation(circular_id: int, language: str):
    translations.delete_translation(actor=current_user, circular_id=circular_id,
                                    language=language)
    flash(_("翻訳を削除しました。"), "success")
    return redirect(url_for("circulars.status", circular_id=circular_id))

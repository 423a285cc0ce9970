"""Circulars: inbox, read and acknowledge, writing and correcting, status, files."""

from __future__ import annotations

from ..circulars import attachments as files
from ..circulars import receipts, services, translations
from ..database import writes_on_get
from . import bp, queries, serialize
from .auth import current_api_user
from .schemas import body_fields, uploaded_files

CIRCULAR_FIELDS = ("title", "body", "audience_all", "block_ids", "publish_at", "deadline_at",
                   "ack_required")


def _circular_input() -> tuple[services.CircularInput, list[services.Upload]]:
    """The circular fields of a JSON body or a multipart form, and any uploaded ``files``.

    Raises ValidationFailed (bad fields) or UnsupportedMediaType.
    """
    fields = body_fields(CIRCULAR_FIELDS, form=True)
    data = services.CircularInput(
        title=fields.string("title", max_length=services.MAX_TITLE),
        body_md=fields.string("body", max_length=services.MAX_BODY),
        audience_all=fields.boolean("audience_all", default=True),
        block_ids=fields.id_list("block_ids"),
        publish_at=fields.datetime("publish_at"),
        deadline_at=fields.datetime("deadline_at"),
        ack_required=fields.boolean("ack_required", default=False),
    )
    fields.done()
    uploads = [services.Upload(name, content) for name, content in uploaded_files()]
    return data, uploads


@bp.get("/associations/<int:association_id>/circulars")
def inbox(association_id: int):
    """Published circulars for the member, with their own read and acknowledgement times."""
    items = services.inbox(user=current_api_user(), association_id=association_id)
    queries.load_summaries([item.circular for item in items])
    return serialize.inbox(items, services.unread_count(items))


@bp.get("/associations/<int:association_id>/circulars/manage")
def leader_list(association_id: int):
    """Every circular (scheduled ones too) with read-household counts, for block leaders up."""
    items = services.leader_list(actor=current_api_user(), association_id=association_id)
    queries.load_summaries([item.circular for item in items])
    return serialize.leader_list(items)


@bp.post("/associations/<int:association_id>/circulars")
def create_circular(association_id: int):
    data, uploads = _circular_input()
    circular = services.create_circular(actor=current_api_user(), association_id=association_id,
                                        data=data, uploads=uploads)
    return serialize.circular_detail(circular, None), 201


@bp.get("/circulars/<int:circular_id>")
def show_circular(circular_id: int):
    user = current_api_user()
    circular = services.visible_circular(user=user, circular_id=circular_id)
    return serialize.circular_detail(circular,
                                     services.receipt_for(user=user, circular_id=circular_id))


@bp.put("/circulars/<int:circular_id>")
def correct_circular(circular_id: int):
    """Replace a circular's fields; once published this is shown as a correction (訂正)."""
    data, uploads = _circular_input()
    user = current_api_user()
    circular = services.correct_circular(actor=user, circular_id=circular_id, data=data,
                                         uploads=uploads)
    return serialize.circular_detail(circular,
                                     services.receipt_for(user=user, circular_id=circular_id))


@bp.put("/circulars/<int:circular_id>/translations/<language>")
def save_translation(circular_id: int, language: str):
    fields = body_fields(("title", "body"))
    title = fields.string("title", max_length=services.MAX_TITLE)
    body_md = fields.string("body", max_length=services.MAX_BODY)
    fields.done()
    return serialize.translation(translations.save_translation(
        actor=current_api_user(), circular_id=circular_id, language=language, title=title,
        body_md=body_md))


@bp.delete("/circulars/<int:circular_id>/translations/<language>")
def delete_translation(circular_id: int, language: str):
    translations.delete_translation(actor=current_api_user(), circular_id=circular_id,
                                    language=language)
    return "", 204


@bp.post("/circulars/<int:circular_id>/read")
def mark_read(circular_id: int):
    """Record that the caller opened the circular; repeating keeps the first time."""
    return serialize.receipt(services.mark_read(user=current_api_user(),
                                                circular_id=circular_id))


@bp.post("/circulars/<int:circular_id>/ack")
def acknowledge(circular_id: int):
    """確認しました: records read and acknowledged; repeating keeps the first times."""
    return serialize.receipt(services.acknowledge(user=current_api_user(),
                                                  circular_id=circular_id))


@bp.get("/circulars/<int:circular_id>/status")
@writes_on_get
def status(circular_id: int):
    """Per block, household and member read status (audit-logged)."""
    report = receipts.status_report(actor=current_api_user(), circular_id=circular_id)
    return serialize.status_report(report)


@bp.post("/circulars/<int:circular_id>/paper/<int:household_id>")
def paper_receipt(circular_id: int, household_id: int):
    """A leader records that a household read (or acknowledged) the paper copy."""
    fields = body_fields(("acknowledge",), optional=True)
    acknowledge_flag = fields.boolean("acknowledge", default=False)
    fields.done()
    receipt = receipts.record_paper_receipt(actor=current_api_user(), circular_id=circular_id,
                                            household_id=household_id,
                                            acknowledge=acknowledge_flag)
    return serialize.receipt(receipt)


@bp.get("/attachments/<int:attachment_id>")
def attachment(attachment_id: int):
    """The file, for members who may read its circular (same headers as the web route)."""
    item = services.readable_attachment(user=current_api_user(), attachment_id=attachment_id)
    return files.send_attachment(item)

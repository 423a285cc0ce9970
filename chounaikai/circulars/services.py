"""Use cases for circulars: write, correct, list, read, acknowledge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import notify
from ..database import after_rollback
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..live.counts import Audience
from ..models import (
    Attachment,
    Block,
    Circular,
    Household,
    MemberRole,
    Membership,
    Receipt,
    User,
    utcnow,
)
from ..permissions import circular_reaches, has_role, require_member, require_role
from . import attachments as files
from .reader import INBOX_LIMIT, own_receipt_target, reaches_block
from .receipts import insert_first_read, upsert_receipt
from .rendering import render_markdown

MAX_TITLE = 200
MAX_BODY = 20_000


@dataclass(frozen=True)
class CircularInput:
    """What a leader submits; the same for the web form and the API."""

    title: str
    body_md: str
    audience_all: bool = True
    block_ids: tuple[int, ...] = ()
    publish_at: datetime | None = None
    deadline_at: datetime | None = None
    ack_required: bool = False


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def text_errors(title: str, body_md: str) -> dict[str, str]:
    """Title and body checks, shared by circulars and their translations."""
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = _("入力してください")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("%(n)d文字以内にしてください。", n=MAX_TITLE)
    if not body_md.strip():
        errors["body"] = _("入力してください")
    elif len(body_md) > MAX_BODY:
        errors["body"] = _("%(n)d文字以内にしてください。", n=MAX_BODY)
    return errors


def _validate(association_id: int, data: CircularInput) -> list[Block]:
    errors = text_errors(data.title, data.body_md)
    for field in ("publish_at", "deadline_at"):
        value = getattr(data, field)
        if value is not None and value.tzinfo is None:
            errors[field] = _("タイムゾーンを指定してください。")
    if data.deadline_at and data.deadline_at <= (data.publish_at or utcnow()):
        errors["deadline_at"] = _("締め切りは公開日時より後にしてください。")
    blocks: list[Block] = []
    if not data.audience_all:
        blocks = list(db.session.scalars(select(Block).where(
            Block.id.in_(data.block_ids), Block.association_id == association_id)))
        if not blocks or len(blocks) != len(set(data.block_ids)):
            errors["block_ids"] = _("この町内会の班を1つ以上選んでください。")
    if errors:
        raise ValidationFailed(fields=errors)
    return blocks


def _attach(circular: Circular, uploads: list[Upload]) -> None:
    from flask import current_app

    limit = current_app.config["ATTACHMENTS_PER_CIRCULAR"]
    if len(circular.attachments) + len(uploads) > limit:
        raise ValidationFailed(_("添付できるファイルは%(n)d個までです。", n=limit))
    checked = [files.check_upload(upload.filename, upload.data) for upload in uploads]
    for item in checked:
        stored_name = files.store(item)
        after_rollback(lambda name=stored_name: files.path_of(name).unlink(missing_ok=True))
        circular.attachments.append(Attachment(
            original_name=item.original_name, stored_name=stored_name,
            content_type=item.content_type, size=len(item.data)))


def create_circular(*, actor: User, association_id: int, data: CircularInput,
                    uploads: list[Upload] = ()) -> Circular:  # type: ignore[assignment]
    """A leader writes a circular; raises ValidationFailed / PermissionDenied."""
    require_role(actor, association_id, MemberRole.LEADER)
    blocks = _validate(association_id, data)
    circular = Circular(
        association_id=association_id, author_id=actor.id, title=data.title.strip(),
        body_md=data.body_md, body_html=render_markdown(data.body_md),
        audience_all=data.audience_all, blocks=blocks, publish_at=data.publish_at or utcnow(),
        deadline_at=data.deadline_at, ack_required=data.ack_required)
    db.session.add(circular)
    _attach(circular, list(uploads))
    db.session.flush()
    notify.circular_published(circular)
    return circular


def correct_circular(*, actor: User, circular_id: int, data: CircularInput,
                     uploads: list[Upload] = ()) -> Circular:  # type: ignore[assignment]
    """Edit a circular; once published, the edit is shown to residents as a correction (訂正).

    Receipts are kept: people who read the first version still count as read.
    """
    circular = _circular(circular_id)
    require_role(actor, circular.association_id, MemberRole.LEADER)
    blocks = _validate(circular.association_id, data)
    if circular.is_published(utcnow()):
        circular.revision += 1
        circular.corrected_at = utcnow()
        publish_at = circular.publish_at  # a published circular keeps its date
    else:
        publish_at = data.publish_at or utcnow()
    circular.title = data.title.strip()
    circular.body_md = data.body_md
    circular.body_html = render_markdown(data.body_md)
    circular.audience_all = data.audience_all
    circular.blocks = blocks
    circular.publish_at = publish_at
    circular.deadline_at = data.deadline_at
    circular.ack_required = data.ack_required
    _attach(circular, list(uploads))
    db.session.flush()
    return circular


def _circular(circular_id: int) -> Circular:
    circular = db.session.get(Circular, circular_id)
    if circular is None:
        raise NotFound()
    return circular


def _visible(user: User, circular_id: int) -> tuple[Circular, Membership]:
    """The circular and the reader's membership, if ``user`` may read the circular."""
    circular = _circular(circular_id)
    membership = require_member(user, circular.association_id)
    if has_role(membership, MemberRole.LEADER):
        return circular, membership
    if not circular.is_published(utcnow()) or not circular_reaches(circular, membership):
        raise NotFound()
    return circular, membership


def visible_circular(*, user: User, circular_id: int) -> Circular:
    """The circular if ``user`` may read it: published and in its audience, or a leader."""
    return _visible(user, circular_id)[0]


def readable_attachment(*, user: User, attachment_id: int) -> Attachment:
    """An attachment whose circular ``user`` may read and whose file exists; else NotFound."""
    item = db.session.get(Attachment, attachment_id)
    if item is None:
        raise NotFound()
    visible_circular(user=user, circular_id=item.circular_id)
    if not files.path_of(item.stored_name).is_file():
        raise NotFound()
    return item


@dataclass(frozen=True)
class InboxItem:
    circular: Circular
    read_at: datetime | None
    acknowledged_at: datetime | None


def inbox(*, user: User, association_id: int) -> list[InboxItem]:
    """Published circulars for the member, newest first, with their own receipt times
    (whole circulars, for the API; the web page reads :mod:`.reader`)."""
    membership = require_member(user, association_id)
    # The member's block in SQL, so listing does not lazy-load the household row.
    member_block = (select(Household.block_id)
                    .where(Household.id == membership.household_id).scalar_subquery())
    rows = db.session.execute(
        select(Circular, Receipt.read_at, Receipt.acknowledged_at)
        .outerjoin(Receipt, (Receipt.circular_id == Circular.id) & (Receipt.user_id == user.id))
        .where(Circular.association_id == association_id, Circular.publish_at <= utcnow(),
               reaches_block(member_block))
        .order_by(Circular.publish_at.desc(), Circular.id.desc())
        .limit(INBOX_LIMIT))
    return [InboxItem(circular, read_at, ack_at) for circular, read_at, ack_at in rows]


def unread_count(items: list[InboxItem]) -> int:
    return sum(1 for item in items if item.read_at is None)


def receipt_for(*, user: User, circular_id: int) -> Receipt | None:
    return db.session.scalar(select(Receipt).where(
        Receipt.circular_id == circular_id, Receipt.user_id == user.id))


@dataclass(frozen=True)
class OwnReceipt:
    """A member's receipt of one circular, as :func:`mark_read` leaves it."""

    circular_id: int
    user_id: int
    household_id: int
    read_at: datetime
    acknowledged_at: datetime | None


def mark_read(*, user: User, circular_id: int) -> OwnReceipt:
    """Record that ``user`` opened the circular.  Safe to repeat: one row per member.

    The first read of a circular is written and announced; a repeat (a retry, another
    tab, a request that lost the race) writes and announces nothing.
    """
    target = own_receipt_target(user=user, circular_id=circular_id)
    read_at, acknowledged_at = target.read_at, target.acknowledged_at
    if read_at is None:
        read_at = insert_first_read(circular_id=circular_id, user_id=user.id,
                                    household_id=target.household_id)
        if read_at is None:  # their other request was first, since we looked
            target = own_receipt_target(user=user, circular_id=circular_id)
            read_at, acknowledged_at = target.read_at, target.acknowledged_at
        else:
            notify.receipt_recorded(target.audience, user_id=user.id, acknowledged=False)
    assert read_at is not None
    return OwnReceipt(circular_id, user.id, target.household_id, read_at, acknowledged_at)


def acknowledge(*, user: User, circular_id: int) -> Receipt:
    """確認しました: records read and acknowledged; repeating keeps the first time."""
    circular, membership = _visible(user, circular_id)
    receipt = upsert_receipt(circular_id=circular.id, user_id=user.id,
                             household_id=membership.household_id, acknowledge=True)
    notify.receipt_recorded(Audience.of(circular), user_id=user.id, acknowledged=True)
    return receipt


@dataclass(frozen=True)
class LeaderListItem:
    circular: Circular
    households_read: int


def leader_list(*, actor: User, association_id: int) -> list[LeaderListItem]:
    """Every circular of the association (scheduled ones too) with read-household counts."""
    require_role(actor, association_id, MemberRole.BLOCK_LEADER)
    read_households = (
        select(func.count(func.distinct(Receipt.household_id)))
        .where(Receipt.circular_id == Circular.id).scalar_subquery())
    rows = db.session.execute(
        select(Circular, read_households)
        .where(Circular.association_id == association_id)
        .options(selectinload(Circular.blocks))
        .order_by(Circular.publish_at.desc(), Circular.id.desc()).limit(200))
    return [LeaderListItem(circular, count) for circular, count in rows]

"""What a member reads on the web: their list of circulars and a circular's page.

These are the pages residents open most.  They read columns on the session's
connection, not ORM objects (the ORM layer costs three to five times as much per
query on a small server), and ask for everything about the member in one go: the
list in three statements, a circular in one to three.  The API (:mod:`.services`)
returns whole circulars and shares the audience rule with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, request
from markupsafe import Markup
from sqlalchemy import ColumnElement, Row, Select, bindparam, exists, func, or_, select

from ..errors import NotFound
from ..extensions import db
from ..formatting import wants_furigana
from ..i18n import DEFAULT_LOCALE, current_language
from ..live.counts import Audience
from ..models import (
    Association,
    Attachment,
    Circular,
    CircularTranslation,
    Household,
    MemberRole,
    Membership,
    Receipt,
    SafetyRound,
    User,
    circular_blocks,
    utcnow,
)
from ..permissions import role_at_least

INBOX_LIMIT = 200  # newest circulars a member's list shows


def reaches_block(block_id: Any) -> ColumnElement[bool]:
    """SQL: the circular goes to everyone, or to the block ``block_id`` (a value or SQL)."""
    return or_(Circular.audience_all,
               exists().where(circular_blocks.c.circular_id == Circular.id,
                              circular_blocks.c.block_id == block_id))


@dataclass(frozen=True)
class InboxRow:
    """One line of the list: everything it shows, and nothing else (it is a memo key)."""

    id: int
    title: str
    title_language: str  # "ja" for the original, else the reader's translation
    publish_at: datetime
    deadline_at: datetime | None
    corrected_at: datetime | None
    ack_required: bool
    read_at: datetime | None
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class InboxPage:
    association_id: int
    association_name: str
    role: MemberRole
    rows: list[InboxRow]
    safety_round_open: bool
    next_publication: datetime | None  # when the list changes by itself

    @property
    def unread(self) -> int:
        return sum(1 for row in self.rows if row.read_at is None)


# The statements are built once and bound per call: building a SELECT costs more here
# than running it.
_MEMBER = (
    select(Membership.role, Household.block_id, Association.name,
           exists().where(SafetyRound.association_id == bindparam("association_id"),
                          SafetyRound.closed_at.is_(None)).label("round_open"),
           select(func.min(Circular.publish_at))
           .where(Circular.association_id == bindparam("association_id"),
                  Circular.publish_at > bindparam("now"))
           .scalar_subquery().label("next_publication"))
    .join(Household, Household.id == Membership.household_id)
    .join(Association, Association.id == Membership.association_id)
    .where(Membership.user_id == bindparam("user_id"),
           Membership.association_id == bindparam("association_id")))
_LISTED = (
    select(Circular.id, Circular.title, Circular.publish_at, Circular.deadline_at,
           Circular.corrected_at, Circular.ack_required, Receipt.read_at,
           Receipt.acknowledged_at)
    .outerjoin(Receipt, (Receipt.circular_id == Circular.id)
               & (Receipt.user_id == bindparam("user_id")))
    .where(Circular.association_id == bindparam("association_id"),
           Circular.publish_at <= bindparam("now"), reaches_block(bindparam("block_id")))
    .order_by(Circular.publish_at.desc(), Circular.id.desc())
    .limit(INBOX_LIMIT))
_TITLES = (select(CircularTranslation.circular_id, CircularTranslation.title)
           .where(CircularTranslation.circular_id.in_(bindparam("ids", expanding=True)),
                  CircularTranslation.language == bindparam("language")))


def inbox_page(*, user: User, association_id: int, language: str) -> InboxPage:
    """The member's list, newest first; NotFound for anyone who is not a member."""
    connection = db.session.connection()
    params = {"user_id": user.id, "association_id": association_id, "now": utcnow()}
    member = connection.execute(_MEMBER, params).one_or_none()
    if member is None:
        raise NotFound()
    circulars = connection.execute(_LISTED, {**params, "block_id": member.block_id}).all()
    titles: dict[int, str] = {}
    if circulars and language != DEFAULT_LOCALE:
        titles = dict(connection.execute(_TITLES, {
            "ids": [c.id for c in circulars], "language": language}).all())
    rows = [InboxRow(c.id, titles.get(c.id, c.title),
                     language if c.id in titles else DEFAULT_LOCALE, c.publish_at,
                     c.deadline_at, c.corrected_at, c.ack_required, c.read_at,
                     c.acknowledged_at) for c in circulars]
    return InboxPage(association_id, member.name, member.role, rows, member.round_open,
                     member.next_publication)


@dataclass(frozen=True)
class ShownText:
    """What a reader sees of a circular: its title and body in one language."""

    title: str
    body_html: str
    language: str  # interface-language code of this text ("ja" for the original)
    untranslated: bool  # the reader wanted another language and none exists


def choose_text(title: str, body_html: str, language: str,
                translation: tuple[str, str] | None) -> ShownText:
    """The translation (title, body) into ``language`` if there is one, else the original
    (flagged as untranslated for a reader of another language)."""
    if translation is not None:
        return ShownText(translation[0], translation[1], language, False)
    return ShownText(title, body_html, DEFAULT_LOCALE, language != DEFAULT_LOCALE)


@dataclass(frozen=True)
class AttachmentLine:
    id: int
    original_name: str
    size: int


@dataclass(frozen=True)
class CircularPage:
    id: int
    association_id: int
    shown: ShownText
    publish_at: datetime
    deadline_at: datetime | None
    corrected_at: datetime | None
    ack_required: bool
    attachments: list[AttachmentLine]
    read_at: datetime | None  # the reader's own receipt
    acknowledged_at: datetime | None


def _readable_select(*columns: Any) -> Select[Any]:
    """``columns`` of one circular, with what decides whether the member may read it."""
    return (
        select(Circular.publish_at, Membership.role,
               reaches_block(Household.block_id).label("reaches"),
               Receipt.read_at, Receipt.acknowledged_at, *columns)
        .join(Membership, (Membership.association_id == Circular.association_id)
              & (Membership.user_id == bindparam("user_id")))
        .join(Household, Household.id == Membership.household_id)
        .outerjoin(Receipt, (Receipt.circular_id == Circular.id)
                   & (Receipt.user_id == bindparam("user_id")))
        .where(Circular.id == bindparam("circular_id")))


_RECEIPT = _readable_select()
_PAGE = _readable_select(
    Circular.id, Circular.association_id, Circular.title, Circular.body_html,
    Circular.deadline_at, Circular.corrected_at, Circular.ack_required,
    exists().where(Attachment.circular_id == Circular.id).label("attached"))
_TARGET = _readable_select(Circular.association_id, Circular.audience_all,
                           Membership.household_id)
_AUDIENCE_BLOCKS = (select(circular_blocks.c.block_id)
                    .where(circular_blocks.c.circular_id == bindparam("circular_id"))
                    .order_by(circular_blocks.c.block_id))
_TRANSLATION = (select(CircularTranslation.title, CircularTranslation.body_html)
                .where(CircularTranslation.circular_id == bindparam("circular_id"),
                       CircularTranslation.language == bindparam("language")))
_ATTACHMENTS = (select(Attachment.id, Attachment.original_name, Attachment.size)
                .where(Attachment.circular_id == bindparam("circular_id"))
                .order_by(Attachment.id))


def _readable(statement: Select[Any], user: User, circular_id: int) -> Row[Any]:
    """The row of a circular ``user`` may read: published and in their audience, or they
    lead the association (the rule of :func:`.services.visible_circular`); else NotFound."""
    row = db.session.connection().execute(
        statement, {"user_id": user.id, "circular_id": circular_id}).one_or_none()
    if row is None or not (role_at_least(row.role, MemberRole.LEADER)
                           or (row.publish_at <= utcnow() and row.reaches)):
        raise NotFound()
    return row


def own_read_at(*, user: User, circular_id: int) -> datetime | None:
    """When ``user`` read a circular they may read (None: not yet); else NotFound."""
    return _readable(_RECEIPT, user, circular_id).read_at


@dataclass(frozen=True)
class ReceiptTarget:
    audience: Audience
    household_id: int
    read_at: datetime | None
    acknowledged_at: datetime | None


def own_receipt_target(*, user: User, circular_id: int) -> ReceiptTarget:
    """What writing ``user``'s receipt of a circular they may read needs; else NotFound."""
    row = _readable(_TARGET, user, circular_id)
    blocks = None
    if not row.audience_all:
        blocks = tuple(db.session.connection().execute(
            _AUDIENCE_BLOCKS, {"circular_id": circular_id}).scalars())
    return ReceiptTarget(Audience(circular_id, row.association_id, blocks), row.household_id,
                         row.read_at, row.acknowledged_at)


def circular_page(*, user: User, circular_id: int, language: str) -> CircularPage:
    """A circular as ``user`` may read it; NotFound when they may not."""
    connection = db.session.connection()
    row = _readable(_PAGE, user, circular_id)
    translation = None
    if language != DEFAULT_LOCALE:
        translation = connection.execute(_TRANSLATION, {
            "circular_id": circular_id, "language": language}).one_or_none()
    attachments: list[AttachmentLine] = []
    if row.attached:
        attachments = [AttachmentLine(*a) for a in connection.execute(
            _ATTACHMENTS, {"circular_id": circular_id})]
    return CircularPage(row.id, row.association_id,
                        choose_text(row.title, row.body_html, language,
                                    tuple(translation) if translation else None),
                        row.publish_at, row.deadline_at, row.corrected_at, row.ack_required,
                        attachments, row.read_at, row.acknowledged_at)


ROW_TEMPLATE = "circulars/_inbox_item.html"
MEMBER_PARTS_TEMPLATE = "circulars/_inbox_member.html"
_MAX_ROWS_KEPT = 20_000  # about 600 bytes each
_row_html: dict[tuple[object, ...], Markup] = {}


def rows_html(rows: list[InboxRow]) -> list[Markup]:
    """The lines of the list.  A line's HTML is a function of the row, the reader's
    language and furigana choice alone, so each is rendered once per process, not per
    page."""
    reader = (current_language().code, wants_furigana(), request.script_root)
    lines = []
    for row in rows:
        key = (*reader, row)
        html = _row_html.get(key)
        if html is None:
            macro = _module(ROW_TEMPLATE).item
            html = Markup(macro(row))  # noqa: S704 - the macro's output, autoescaped
            if len(_row_html) >= _MAX_ROWS_KEPT:
                _row_html.clear()  # rare; costs one render per line
            _row_html[key] = html
        lines.append(html)
    return lines


def member_parts(page: InboxPage) -> dict[str, Callable[[], str]]:
    """The parts of the list page that are the member's own (unread count, read marks),
    for :func:`chounaikai.sharedpages.render`; the rest is the same for every member of
    the association with their role and language."""
    module = _module(MEMBER_PARTS_TEMPLATE)
    return {"member_summary": lambda: module.summary(page),
            "member_list": lambda: module.rows(page, rows_html(page.rows))}


def _module(template: str) -> Any:
    return current_app.jinja_env.get_template(template).module  # type: ignore[attr-defined]

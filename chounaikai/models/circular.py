"""Circulars (回覧), their attachments, audiences and read receipts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .association import Association, Block, Household
from .types import UTCDateTime, utcnow
from .user import User

circular_blocks = Table(
    "circular_blocks",
    db.metadata,
    Column("circular_id", ForeignKey("circulars.id", ondelete="CASCADE"), primary_key=True),
    Column("block_id", ForeignKey("blocks.id", ondelete="CASCADE"), primary_key=True),
)


class Circular(db.Model):
    """A circular.  ``audience_all`` false means only the linked blocks see it."""

    __tablename__ = "circulars"
    __table_args__ = (Index("ix_circulars_association_publish", "association_id", "publish_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(
        ForeignKey("associations.id", ondelete="CASCADE")
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text)
    # Sanitized HTML rendered once on write, so the read path does no Markdown work.
    body_html: Mapped[str] = mapped_column(Text)
    audience_all: Mapped[bool] = mapped_column(Boolean, default=True)
    publish_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_required: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    association: Mapped[Association] = relationship()
    author: Mapped[User | None] = relationship()
    blocks: Mapped[list[Block]] = relationship(secondary=circular_blocks, order_by=Block.name)
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="circular", cascade="all, delete-orphan", order_by="Attachment.id"
    )

    translations: Mapped[list[CircularTranslation]] = relationship(
        back_populates="circular", cascade="all, delete-orphan",
        order_by="CircularTranslation.language")

    def is_published(self, now: datetime) -> bool:
        return self.publish_at <= now


class CircularTranslation(db.Model):
    """A leader's translation of a circular into one interface language.

    The circular itself is the Japanese original; receipts belong to the circular, so a
    resident who read the English version has read the circular.
    """

    __tablename__ = "circular_translations"
    __table_args__ = (UniqueConstraint("circular_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(
        ForeignKey("circulars.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(16))  # an i18n.LANGUAGES code, never "ja"
    title: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)  # sanitized, like Circular.body_html
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    circular: Mapped[Circular] = relationship(back_populates="translations")


class Attachment(db.Model):
    """A file stored under a random name outside ``static/``."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(
        ForeignKey("circulars.id", ondelete="CASCADE"), index=True
    )
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    circular: Mapped[Circular] = relationship(back_populates="attachments")


class Receipt(db.Model):
    """One member's read / acknowledgement of one circular.

    The unique constraint makes retried and double-tapped requests harmless;
    ``proxy_by_id`` marks a receipt a leader recorded for a paper household.
    """

    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("circular_id", "user_id"),
        Index("ix_receipts_circular_household", "circular_id", "household_id"),
        # A paper household gets at most one proxy receipt per circular.
        Index(
            "uq_receipts_proxy_household",
            "circular_id",
            "household_id",
            unique=True,
            sqlite_where=text("user_id IS NULL"),
            postgresql_where=text("user_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proxy_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    household: Mapped[Household] = relationship()

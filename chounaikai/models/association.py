"""Neighborhood associations (町内会・自治会), their blocks (班), households (世帯) and members."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:
    from .user import User


class MemberRole(enum.StrEnum):
    """A member's role inside one association, ordered by what it may do."""

    RESIDENT = "resident"
    BLOCK_LEADER = "block_leader"  # 班長
    LEADER = "leader"  # 会長・役員


class Association(db.Model):
    """One association in one district of the city."""

    __tablename__ = "associations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    district: Mapped[str] = mapped_column(String(80))
    # 安否確認 starts by itself when an alert of Level 4 or higher targets the association.
    auto_safety_check: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    blocks: Mapped[list[Block]] = relationship(
        back_populates="association", order_by="Block.name", cascade="all, delete-orphan"
    )


class Block(db.Model):
    """A block (班): the unit a paper board walked around."""

    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("association_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(
        ForeignKey("associations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))

    association: Mapped[Association] = relationship(back_populates="blocks")
    households: Mapped[list[Household]] = relationship(back_populates="block")


class Household(db.Model):
    """A household (世帯).  Read status is counted per household.

    ``has_smartphone`` false marks a paper household whose receipts a leader
    records by proxy, so everyone stays in one ledger.
    """

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(
        ForeignKey("associations.id", ondelete="CASCADE"), index=True
    )
    block_id: Mapped[int | None] = mapped_column(
        ForeignKey("blocks.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    # Given to other members of the same household so they can join it.
    join_code: Mapped[str] = mapped_column(String(16), unique=True)
    has_smartphone: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    association: Mapped[Association] = relationship()
    block: Mapped[Block | None] = relationship(back_populates="households")
    members: Mapped[list[Membership]] = relationship(back_populates="household")


class Membership(db.Model):
    """A user's membership of one association, in one household, with one role."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "association_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    association_id: Mapped[int] = mapped_column(
        ForeignKey("associations.id", ondelete="CASCADE"), index=True
    )
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="RESTRICT"), index=True
    )
    role: Mapped[MemberRole] = mapped_column(enum_column(MemberRole), default=MemberRole.RESIDENT)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    association: Mapped[Association] = relationship()
    household: Mapped[Household] = relationship(back_populates="members")

    @property
    def block_id(self) -> int | None:
        """The member's block is their household's block."""
        return self.household.block_id

    @property
    def is_leader(self) -> bool:
        return self.role == MemberRole.LEADER

    @property
    def is_block_leader(self) -> bool:
        return self.role == MemberRole.BLOCK_LEADER


class Invite(db.Model):
    """An invite code a leader prints as a QR flyer.  ``max_uses`` 1 is single-use."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(
        ForeignKey("associations.id", ondelete="CASCADE"), index=True
    )
    block_id: Mapped[int | None] = mapped_column(ForeignKey("blocks.id", ondelete="CASCADE"))
    role: Mapped[MemberRole] = mapped_column(enum_column(MemberRole), default=MemberRole.RESIDENT)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    max_uses: Mapped[int | None] = mapped_column()  # None: unlimited until expiry
    uses: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    association: Mapped[Association] = relationship()
    block: Mapped[Block | None] = relationship()

"""Safety confirmation (安否確認): rounds per association and one answer per household."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .association import Association, Household
from .types import UTCDateTime, enum_column, utcnow


class SafetyStatus(enum.StrEnum):
    SAFE = "safe"  # 無事
    NEEDS_HELP = "needs_help"  # 助けが必要
    AT_SHELTER = "at_shelter"  # 避難所にいる


class SafetyRound(db.Model):
    __tablename__ = "safety_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(
        ForeignKey("associations.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    association: Mapped[Association] = relationship()


class SafetyAnswer(db.Model):
    """A household's answer; answering again replaces it (one row per household)."""

    __tablename__ = "safety_answers"
    __table_args__ = (UniqueConstraint("round_id", "household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("safety_rounds.id", ondelete="CASCADE"),
                                          index=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True)
    status: Mapped[SafetyStatus] = mapped_column(enum_column(SafetyStatus))
    # Sensitive (health, need): leaders of the association only; purged after N days.
    note: Mapped[str | None] = mapped_column(String(500))
    shelter_id: Mapped[int | None] = mapped_column(ForeignKey("shelters.id", ondelete="SET NULL"))
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    proxy: Mapped[bool] = mapped_column(Boolean, default=False)  # a block leader answered
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    household: Mapped[Household] = relationship()

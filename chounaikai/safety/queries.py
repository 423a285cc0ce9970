"""Reading rounds: the open one, or the latest (shared by the services and the reports)."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import SafetyRound


def current_round(association_id: int) -> SafetyRound | None:
    """The association's open round, if any."""
    return db.session.scalar(
        select(SafetyRound).where(SafetyRound.association_id == association_id,
                                  SafetyRound.closed_at.is_(None))
        .order_by(SafetyRound.started_at.desc(), SafetyRound.id.desc()).limit(1))


def latest_round(association_id: int) -> SafetyRound | None:
    """The open round, else the most recently started one (its results stay readable)."""
    return current_round(association_id) or db.session.scalar(
        select(SafetyRound).where(SafetyRound.association_id == association_id)
        .order_by(SafetyRound.started_at.desc(), SafetyRound.id.desc()).limit(1))

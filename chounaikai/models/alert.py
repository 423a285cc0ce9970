"""Emergency alerts issued by city staff (or imported as CAP), and what they target.

A sent alert is never edited.  An update or a cancel is a new row whose
``references_id`` points at the message it replaces; only the newest message
of a chain is ``active``, so residents always see the current state.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, enum_column, utcnow
from .user import User


class AlertKind(enum.StrEnum):
    """The composer's templates: Japan's evacuation levels, lifting, shelter opened, free text."""

    LEVEL3 = "level3"  # 高齢者等避難
    LEVEL4 = "level4"  # 避難指示
    LEVEL5 = "level5"  # 緊急安全確保
    LIFTED = "lifted"  # 解除
    SHELTER_OPENED = "shelter_opened"
    FREE = "free"


class AlertMessageType(enum.StrEnum):
    """CAP msgType."""

    ALERT = "alert"
    UPDATE = "update"
    CANCEL = "cancel"


class Hazard(enum.StrEnum):
    """The eight hazards Japanese shelters are designated for (指定緊急避難場所)."""

    FLOOD = "flood"  # 洪水
    LANDSLIDE = "landslide"  # 崖崩れ、土石流及び地滑り
    STORM_SURGE = "storm_surge"  # 高潮
    EARTHQUAKE = "earthquake"  # 地震
    TSUNAMI = "tsunami"  # 津波
    FIRE = "fire"  # 大規模な火事
    INLAND_FLOODING = "inland_flooding"  # 内水氾濫
    VOLCANO = "volcano"  # 火山現象


class AlertTarget(enum.StrEnum):
    CITY = "city"
    DISTRICTS = "districts"
    ASSOCIATIONS = "associations"


class Alert(db.Model):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(200), unique=True)  # CAP identifier
    sender: Mapped[str] = mapped_column(String(200))  # CAP sender
    message_type: Mapped[AlertMessageType] = mapped_column(enum_column(AlertMessageType))
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind))
    hazard: Mapped[Hazard | None] = mapped_column(enum_column(Hazard))
    # Texts per interface language: {"ja": {"headline", "description", "instruction"}}.
    # Empty for template alerts, whose texts come from the translation catalogs.
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    target: Mapped[AlertTarget] = mapped_column(enum_column(AlertTarget))
    districts: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Resolved when sent (a district's associations at that moment); the audience.
    association_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    references_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    source: Mapped[str] = mapped_column(String(16), default="staff")  # "staff" | "cap"
    cap_xml: Mapped[str | None] = mapped_column(Text)  # an imported document, verbatim
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL"))
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # devices targeted at fan-out

    references: Mapped[Alert | None] = relationship(remote_side=[id])
    issued_by: Mapped[User | None] = relationship()

    @property
    def level(self) -> int | None:
        return {AlertKind.LEVEL3: 3, AlertKind.LEVEL4: 4, AlertKind.LEVEL5: 5}.get(self.kind)

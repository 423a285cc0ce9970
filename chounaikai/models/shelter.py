"""Evacuation sites (指定避難所 / 指定緊急避難場所) and their live status.

Imported from the GSI GeoJSON (one file per kind, merged per site) or the
Digital Agency CSV layout; ``source_key`` identifies a site across imports so a
re-import updates it instead of adding a duplicate.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, enum_column, utcnow
from .user import User


class Congestion(enum.StrEnum):
    """Four steps, as shown to residents: 空いています / やや混雑 / 混雑 / 満."""

    EMPTY = "empty"
    SOMEWHAT = "somewhat"
    CROWDED = "crowded"
    FULL = "full"


# Leaders named as a shelter's contact may update its status, like staff.
shelter_contacts = Table(
    "shelter_contacts",
    db.metadata,
    Column("shelter_id", ForeignKey("shelters.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Shelter(db.Model):
    __tablename__ = "shelters"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_kana: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    district: Mapped[str | None] = mapped_column(String(80), index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    is_evacuation_shelter: Mapped[bool] = mapped_column(Boolean, default=False)  # 指定避難所
    is_emergency_site: Mapped[bool] = mapped_column(Boolean, default=False)  # 指定緊急避難場所
    hazards: Mapped[list[str]] = mapped_column(JSON, default=list)  # Hazard values
    capacity: Mapped[int | None] = mapped_column(Integer)  # people indoors
    capacity_text: Mapped[str | None] = mapped_column(String(200))  # as published
    welfare: Mapped[bool] = mapped_column(Boolean, default=False)  # 福祉避難所 (要配慮者)
    # Live status.
    is_open: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    congestion: Mapped[Congestion] = mapped_column(enum_column(Congestion),
                                                   default=Congestion.EMPTY)
    evacuees: Mapped[int] = mapped_column(Integer, default=0)
    status_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contacts: Mapped[list[User]] = relationship(secondary=shelter_contacts)


class ShelterStatusUpdate(db.Model):
    """History: every status change, with who made it."""

    __tablename__ = "shelter_status_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    shelter_id: Mapped[int] = mapped_column(
        ForeignKey("shelters.id", ondelete="CASCADE"), index=True)
    is_open: Mapped[bool] = mapped_column(Boolean)
    congestion: Mapped[Congestion] = mapped_column(enum_column(Congestion))
    evacuees: Mapped[int] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

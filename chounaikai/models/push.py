"""Web Push: subscriptions, the notification outbox and per-device deliveries.

Publishing writes a :class:`Notification` in the same transaction as the
circular or alert (the outbox); senders later fan it out into one
:class:`PushDelivery` per device and send those.  Nothing is sent for a
transaction that rolled back, and a crashed sender's claimed deliveries are
taken up again once their lease runs out.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, enum_column, utcnow
from .user import User


class PushSubscription(db.Model):
    """One device's ``PushSubscription`` (endpoint and keys), several per member."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048))
    # SHA-256 of the endpoint: a unique key short enough for every index type.
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # scheme://host[:port] of the push service: connections and 429 pauses are per origin.
    origin: Mapped[str] = mapped_column(String(255), index=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    expiration_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Priority(enum.StrEnum):
    """Which queue a notification goes through; emergencies overtake everything."""

    NORMAL = "normal"
    EMERGENCY = "emergency"


class Notification(db.Model):
    """The outbox row written with the change it announces.

    ``payload`` holds ids and a title key only: no names or addresses ever pass
    through the push services.  ``audience`` says who gets it, resolved to
    devices when the notification is fanned out.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_pending", "fanned_out_at", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "circular", "alert", "digest", ...
    priority: Mapped[Priority] = mapped_column(enum_column(Priority), default=Priority.NORMAL)
    association_id: Mapped[int | None] = mapped_column(
        ForeignKey("associations.id", ondelete="CASCADE"), index=True
    )
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # RFC 8030: a newer message with the same Topic replaces an undelivered one.
    topic: Mapped[str | None] = mapped_column(String(32))
    ttl_seconds: Mapped[int] = mapped_column(Integer, default=86400)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    GONE = "gone"  # 404/410: the subscription was deleted
    EXPIRED = "expired"  # TTL passed before the push service took it
    FAILED = "failed"  # 400/413 (our bug) or 401/403 (configuration)


class PushDelivery(db.Model):
    """One notification to one device.  Unique per pair, so fan-out is idempotent."""

    __tablename__ = "push_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "subscription_id"),
        Index("ix_push_deliveries_due", "status", "priority", "not_before"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority), default=Priority.NORMAL)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    # Not sent before this time: quiet hours, retry back-off, an origin's Retry-After.
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender that claims a batch holds it until then; after a crash others take it.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    notification: Mapped[Notification] = relationship()
    subscription: Mapped[PushSubscription | None] = relationship()


class PushOriginPause(db.Model):
    """A push service that answered 429: nothing goes to it before ``paused_until``."""

    __tablename__ = "push_origin_pauses"

    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    paused_until: Mapped[datetime] = mapped_column(UTCDateTime)


class LiveEvent(db.Model):
    """What Socket.IO announced, kept so a reconnecting client can fetch what it missed.

    Socket.IO is the doorbell; this table is the record.  ``seq`` only grows, so
    "events after N" is an index range scan.
    """

    __tablename__ = "live_events"
    __table_args__ = (Index("ix_live_events_room_seq", "room", "seq"),)

    seq: Mapped[int] = mapped_column(primary_key=True)
    room: Mapped[str] = mapped_column(String(64))  # e.g. "user:12", "leaders:3"
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LiveCountsDue(db.Model):
    """A receipt whose circular's counters have not been announced since it was written.

    Written in the receipt's own transaction (an outbox: durable, announced after
    commit); :mod:`chounaikai.live.counters` recounts each due circular once,
    however many receipts arrived meanwhile.  One row per receipt, not one per
    circular: on PostgreSQL a recount can run while a receipt is still uncommitted,
    and a shared row the recount takes would carry that receipt's mark away with it.
    """

    __tablename__ = "live_counts_due"

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(
        ForeignKey("circulars.id", ondelete="CASCADE"), index=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

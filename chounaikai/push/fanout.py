"""Fan-out: turn an outbox :class:`Notification` into one PushDelivery per device.

Set-based: one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per chunk of
subscription ids, so 100,000 devices are a handful of statements and a
repeated or concurrent fan-out adds nothing twice.  Each chunk commits on its
own, so senders start on the first devices while later chunks are written.

Who is reached:

* ``circular``: read from the circular at fan-out time (a scheduled circular
  corrected before it goes out is pushed as corrected): the association's
  members, or only households in its blocks; not before ``publish_at``; never
  its author; not members who chose the daily digest (unless emergency).
* otherwise by ``audience``: ``user_ids``, ``block_ids`` (of the
  association), ``association_ids`` (members of any of them: an alert to districts),
  the association's members, or ``{"all": true}`` (every subscription).

Normal deliveries created inside a member's quiet hours (Asia/Tokyo) get
``not_before`` = the end of those hours; emergencies never wait.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, false, func, literal, or_, select, text, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.sql import Select

from ..config import TIMEZONE
from ..database import insert_for
from ..extensions import db
from ..models import (
    Circular,
    DeliveryStatus,
    Household,
    Membership,
    Notification,
    Priority,
    PushDelivery,
    PushSubscription,
    User,
    circular_blocks,
)

log = logging.getLogger(__name__)
TOKYO = ZoneInfo(TIMEZONE)
_D = PushDelivery.__table__
_S = PushSubscription
_LOCK_KEY = 0x707573  # advisory-lock namespace of fan-outs ("pus")


@dataclass
class FanoutResult:
    notifications: int = 0  # fanned out completely in this call
    deliveries: int = 0  # deliveries of the notifications fanned out
    waiting: int = 0  # circulars whose publish time has not come


def tokyo_minute(now: datetime) -> int:
    local = now.astimezone(TOKYO)
    return local.hour * 60 + local.minute


def quiet_end(now: datetime, end_minute: int) -> datetime:
    """The next moment (after ``now``) the Tokyo clock shows ``end_minute``."""
    local = now.astimezone(TOKYO)
    end = datetime.combine(local.date(), time(0), TOKYO) + timedelta(minutes=end_minute)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


def in_quiet_hours(start: int | None, end: int | None, minute: int) -> bool:
    """Python twin of :func:`_in_quiet` (used by tests and the digest)."""
    if start is None or end is None or start == end:
        return False
    return start <= minute < end if start < end else minute >= start or minute < end


def _in_quiet(minute: int):
    start, end = User.quiet_start_minute, User.quiet_end_minute
    return and_(start.is_not(None), end.is_not(None), or_(
        and_(start < end, start <= minute, end > minute),
        and_(start > end, or_(start <= minute, end > minute))))


def _timing(conn: Connection, note: Row, now: datetime) -> tuple[Any, Any]:
    """SQL expressions for (not_before, expires_at) of each recipient row."""
    ttl = timedelta(seconds=note.ttl_seconds)
    dt = PushDelivery.not_before.type
    if note.priority == Priority.EMERGENCY:
        return literal(now, dt), literal(now + ttl, dt)
    minute = tokyo_minute(now)
    ends = sorted(e for e in conn.scalars(
        select(User.quiet_end_minute).where(_in_quiet(minute)).distinct()) if e is not None)
    if not ends:
        return literal(now, dt), literal(now + ttl, dt)
    # A CASE over the few distinct quiet-hour ends keeps this one set-based statement.
    not_before = case(*((and_(_in_quiet(minute), User.quiet_end_minute == e),
                         literal(quiet_end(now, e), dt)) for e in ends), else_=literal(now, dt))
    expires = case(*((and_(_in_quiet(minute), User.quiet_end_minute == e),
                      literal(quiet_end(now, e) + ttl, dt)) for e in ends),
                   else_=literal(now + ttl, dt))
    return not_before, expires


def _audience(conn: Connection, note: Row, now: datetime) -> Select | None:
    """The recipients' subscriptions (joined to users), or None when nobody is targeted."""
    audience = note.audience or {}
    query = (select(_S.id, _S.user_id).join(User, User.id == _S.user_id)
             .where(or_(_S.expiration_time.is_(None), _S.expiration_time > now)))
    members = select(Membership.user_id)
    if "circular_id" in audience:
        circular = conn.execute(select(Circular.association_id, Circular.audience_all,
                                       Circular.author_id)
                                .where(Circular.id == audience["circular_id"])).first()
        if circular is None:
            return None
        members = members.where(Membership.association_id == circular.association_id)
        if not circular.audience_all:
            members = members.join(Household, Household.id == Membership.household_id).where(
                Household.block_id.in_(select(circular_blocks.c.block_id).where(
                    circular_blocks.c.circular_id == audience["circular_id"])))
        if circular.author_id is not None:  # the author needs no push about their own circular
            members = members.where(Membership.user_id != circular.author_id)
        if note.kind == "circular" and note.priority != Priority.EMERGENCY:
            query = query.where(User.daily_digest == false())
        return query.where(_S.user_id.in_(members))
    if "user_ids" in audience:
        ids = [int(i) for i in audience["user_ids"]]
        return query.where(_S.user_id.in_(ids)) if ids else None
    if "association_ids" in audience:
        ids = [int(i) for i in audience["association_ids"]]
        return query.where(_S.user_id.in_(
            members.where(Membership.association_id.in_(ids)))) if ids else None
    if "block_ids" in audience and note.association_id is not None:
        members = members.join(Household, Household.id == Membership.household_id).where(
            Membership.association_id == note.association_id,
            Household.block_id.in_([int(b) for b in audience["block_ids"]]))
        return query.where(_S.user_id.in_(members))
    if note.association_id is not None:
        return query.where(_S.user_id.in_(
            members.where(Membership.association_id == note.association_id)))
    return query if audience.get("all") else None


def _publish_at(conn: Connection, note: Row) -> datetime | None:
    circular_id = (note.audience or {}).get("circular_id")
    if circular_id is None:
        return None
    return conn.scalar(select(Circular.publish_at).where(Circular.id == circular_id))


def _chunk_end(conn: Connection, recipients: Select, after: int, chunk: int) -> int | None:
    """The subscription id that ends the next chunk (None: the rest fits in one)."""
    sub = recipients.where(_S.id > after).order_by(_S.id).offset(chunk - 1).limit(1).subquery()
    return conn.scalar(select(sub.c.id))


def fan_out(engine: Engine, notification_id: int, now: datetime,
            chunk: int = 50_000) -> int | None:
    """Create the deliveries of one notification; returns its number of deliveries.

    Commits per chunk and marks the notification fanned out at the end; running
    it again (after a crash, or in two workers at once) inserts nothing twice.
    Returns None, doing nothing, for a circular whose publish time is ahead or
    (PostgreSQL) while another worker is fanning it out.
    """
    with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        # Correct without it (ON CONFLICT), but a second worker should not redo the work.
        if postgres and not conn.scalar(text("SELECT pg_try_advisory_lock(:k, :n)"),
                                        {"k": _LOCK_KEY, "n": notification_id}):
            conn.rollback()
            return None
        try:
            devices = _fan_out(conn, notification_id, now, chunk)
        finally:
            if postgres:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k, :n)"),
                             {"k": _LOCK_KEY, "n": notification_id})
                conn.commit()
    if isinstance(devices, tuple):  # a scheduled circular just went public
        devices, circular_id = devices
        _announce_live(circular_id)
    return devices


def _announce_live(circular_id: int) -> None:
    """Live updates skip a scheduled circular at publish time; announce it now it is out.

    Best effort in its own transaction: pushes never wait for, or fail with, it.
    """
    try:
        from ..live import announcements
    except ImportError:  # live updates not installed
        return
    try:
        circular = db.session.get(Circular, circular_id)
        if circular is not None:
            announcements.circular_published(circular)
        db.session.commit()  # always end it: an open SQLite transaction holds the lock
    except Exception:
        db.session.rollback()
        log.exception("push: live announcement of circular %s failed", circular_id)


def _fan_out(conn: Connection, notification_id: int, now: datetime,
             chunk: int) -> int | tuple[int, int] | None:
    """The fan-out itself; (devices, circular id) when a scheduled circular went public."""
    note = conn.execute(select(Notification.__table__)
                        .where(Notification.id == notification_id)).first()
    if note is None or note.fanned_out_at is not None:
        conn.commit()
        return 0
    publish_at = _publish_at(conn, note)
    if publish_at is not None and publish_at > now:
        conn.commit()
        return None
    recipients = _audience(conn, note, now)
    not_before, expires_at = _timing(conn, note, now)
    conn.commit()
    after = 0
    while recipients is not None:
        end = _chunk_end(conn, recipients, after, chunk)
        rows = recipients.where(_S.id > after)
        if end is not None:
            rows = rows.where(_S.id <= end)
        rows = rows.with_only_columns(
            literal(note.id), _S.id, _S.user_id, literal(note.priority, _D.c.priority.type),
            literal(DeliveryStatus.PENDING, _D.c.status.type), not_before, literal(0),
            expires_at)  # its WHERE also keeps SQLite's INSERT…SELECT…ON CONFLICT unambiguous
        stmt = insert_for(conn.dialect.name)(_D).from_select(
            ["notification_id", "subscription_id", "user_id", "priority", "status",
             "not_before", "attempts", "expires_at"], rows
        ).on_conflict_do_nothing(index_elements=["notification_id", "subscription_id"])
        conn.execute(stmt)
        conn.commit()
        if end is None:
            break
        after = end
    conn.execute(update(Notification).where(Notification.id == note.id)
                 .values(fanned_out_at=now))
    # (INSERT … SELECT reports no reliable rowcount through every driver.)
    devices = conn.scalar(select(func.count()).where(
        PushDelivery.notification_id == note.id)) or 0
    conn.commit()
    log.info("push: notification %s fanned out to %d devices", notification_id, devices)
    if publish_at is not None and publish_at > note.created_at:
        return devices, note.audience["circular_id"]
    return devices


def fan_out_due(engine: Engine, now: datetime, chunk: int = 50_000) -> FanoutResult:
    """Fan out every notification not yet fanned out (emergencies first)."""
    result = FanoutResult()
    with engine.connect() as conn:
        pending = conn.execute(
            select(Notification.id).where(Notification.fanned_out_at.is_(None))
            .order_by(case((Notification.priority == Priority.EMERGENCY, 0), else_=1),
                      Notification.id)).scalars().all()
    for notification_id in pending:
        devices = fan_out(engine, notification_id, now, chunk)
        if devices is None:
            result.waiting += 1
        else:
            result.notifications += 1
            result.deliveries += devices
    return result


def next_publish_at(conn: Connection) -> datetime | None:
    """When the earliest scheduled circular with a pending push goes out."""
    times = [_publish_at(conn, note) for note in conn.execute(
        select(Notification.__table__).where(Notification.fanned_out_at.is_(None)))]
    return min((t for t in times if t is not None), default=None)

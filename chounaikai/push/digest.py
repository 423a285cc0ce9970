"""The daily digest: one morning push per member who chose it, instead of one per circular.

At ``PUSH_DIGEST_HOUR`` (Asia/Tokyo) the members with ``daily_digest`` and a
device get one notification counting the circulars of the past 24 hours
that reached them.  Members with the same count share one outbox row
(``audience = {"user_ids": [...]}``).  The day's rows, all with the Topic
``digest-YYYYMMDD``, double as the marker that the day is done, so running
the job again (or in two workers at once) sends nothing twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, time, timedelta

from flask import Flask
from sqlalchemy import distinct, exists, func, insert, or_, select, text
from sqlalchemy.engine import Connection

from ..extensions import db
from ..models import (
    Circular,
    Household,
    Membership,
    Notification,
    Priority,
    PushSubscription,
    User,
    circular_blocks,
)
from .fanout import TOKYO
from .settings import setting

log = logging.getLogger(__name__)
DIGEST_TTL_SECONDS = 12 * 3600


def digest_moment(app: Flask, now: datetime) -> datetime:
    """Today's digest time (Tokyo) as an aware datetime."""
    local = now.astimezone(TOKYO)
    hour = int(setting(app, "PUSH_DIGEST_HOUR"))
    return datetime.combine(local.date(), time(hour), TOKYO).astimezone(now.tzinfo)


def next_digest_at(app: Flask, now: datetime) -> datetime:
    moment = digest_moment(app, now)
    return moment if moment > now else moment + timedelta(days=1)


def topic_for(moment: datetime) -> str:
    return f"digest-{moment.astimezone(TOKYO):%Y%m%d}"


def digest_counts(conn: Connection, start: datetime, end: datetime) -> dict[int, int]:
    """Circulars published in [start, end) that reached each digest member with a device."""
    reaches = or_(Circular.audience_all, exists().where(
        circular_blocks.c.circular_id == Circular.id,
        circular_blocks.c.block_id == Household.block_id))
    rows = conn.execute(
        select(Membership.user_id, func.count(distinct(Circular.id)))
        .join(User, User.id == Membership.user_id)
        .join(Household, Household.id == Membership.household_id)
        .join(Circular, Circular.association_id == Membership.association_id)
        .where(User.daily_digest, Circular.publish_at >= start, Circular.publish_at < end,
               reaches, or_(Circular.author_id.is_(None), Circular.author_id != User.id),
               exists().where(PushSubscription.user_id == User.id))
        .group_by(Membership.user_id))
    totals: dict[int, int] = defaultdict(int)
    for user_id, count in rows:  # a member of two associations gets one sum
        totals[user_id] += count
    return dict(totals)


def run_digest(app: Flask, now: datetime) -> int:
    """Write today's digest notifications once it is time; returns members reached."""
    moment = digest_moment(app, now)
    if now < moment:
        return 0
    topic = topic_for(moment)
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serializes
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('chounaikai-push-digest'))"))
        done = conn.scalar(select(Notification.id).where(
            Notification.kind == "digest", Notification.topic == topic).limit(1))
        if done is not None:
            return 0
        counts = digest_counts(conn, moment - timedelta(days=1), moment)
        by_count: dict[int, list[int]] = defaultdict(list)
        for user_id, count in counts.items():
            by_count[count].append(user_id)
        rows = [{"kind": "digest", "priority": Priority.NORMAL, "association_id": None,
                 "audience": {"user_ids": sorted(users)},
                 "payload": {"count": count, "url": "/"}, "topic": topic,
                 "ttl_seconds": DIGEST_TTL_SECONDS, "created_at": now}
                for count, users in sorted(by_count.items())]
        if not rows:  # nothing to say today: an empty, finished row marks the day as done
            rows = [{"kind": "digest", "priority": Priority.NORMAL, "association_id": None,
                     "audience": {"user_ids": []}, "payload": {"count": 0}, "topic": topic,
                     "ttl_seconds": DIGEST_TTL_SECONDS, "created_at": now,
                     "fanned_out_at": now}]
        conn.execute(insert(Notification), rows)
    log.info("push: digest %s for %d members", topic, len(counts))
    return len(counts)

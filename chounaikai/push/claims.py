"""The sender's database side: claim due deliveries with a lease, record results.

Claiming is ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (concurrent
senders take disjoint batches) and a ``BEGIN IMMEDIATE`` single writer on
SQLite; either way the claimed rows get ``lease_until``, and a crashed
sender's rows become claimable again when it passes.  Emergencies are always
claimed before normal deliveries.  Results are written set-based, a few
statements per batch, never one ORM object per message.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Connection, Row

from ..database import insert_for
from ..models import DeliveryStatus, Priority, PushDelivery, PushOriginPause, PushSubscription, User
from .responses import Outcome, backoff, jitter

log = logging.getLogger(__name__)
D = PushDelivery
S = PushSubscription
PENDING = DeliveryStatus.PENDING
# Refreshing last_success_at on every message would double the writes of a broadcast.
SUCCESS_REFRESH = timedelta(hours=6)

# One claimed delivery: D.id, notification_id, subscription_id, user_id, priority,
# expires_at, attempts, endpoint, origin, p256dh, auth, locale (a SQLAlchemy Row).
Job = Row


def active_pauses(conn: Connection, now: datetime) -> dict[str, datetime]:
    return dict(conn.execute(select(PushOriginPause.origin, PushOriginPause.paused_until)
                             .where(PushOriginPause.paused_until > now)).all())


def claim(conn: Connection, now: datetime, limit: int, lease_seconds: float) -> list[Job]:
    """Lease up to ``limit`` due deliveries, emergencies first (caller commits)."""
    paused = list(active_pauses(conn, now))
    lease_until = now + timedelta(seconds=lease_seconds)
    jobs: list[Job] = []
    for priority in (Priority.EMERGENCY, Priority.NORMAL):
        wanted = limit - len(jobs)
        if wanted <= 0:
            break
        query = (
            select(D.id, D.notification_id, D.subscription_id, D.user_id, D.priority,
                   D.expires_at, D.attempts, S.endpoint, S.origin, S.p256dh, S.auth, User.locale)
            .join(S, S.id == D.subscription_id).join(User, User.id == D.user_id)
            .where(D.status == PENDING, D.priority == priority, D.not_before <= now,
                   or_(D.lease_until.is_(None), D.lease_until <= now))
            .order_by(D.not_before).limit(wanted)
            .with_for_update(skip_locked=True, of=D.__table__))
        if paused:
            query = query.where(S.origin.not_in(paused))
        rows = conn.execute(query).all()
        if rows:
            conn.execute(update(D).where(D.id.in_([r.id for r in rows]))
                         .values(lease_until=lease_until))
            jobs.extend(rows)
    return jobs


def _ids(jobs: list[Job]) -> list[int]:
    return [job.id for job in jobs]


def _finish(conn: Connection, jobs: list[Job], status: DeliveryStatus, code: int | None,
            now: datetime, attempted: bool = True) -> None:
    if not jobs:
        return
    values = {"status": status, "lease_until": None, "last_status": code}
    if status == DeliveryStatus.SENT:
        values["sent_at"] = now
    if attempted:
        values["attempts"] = D.attempts + 1
    conn.execute(update(D).where(D.id.in_(_ids(jobs))).values(**values))


def _requeue(conn: Connection, rows: list[tuple[Job, datetime, int | None, bool]]) -> None:
    """Back to PENDING with a per-row not_before (one executemany)."""
    if not rows:
        return
    stmt = (update(D).where(D.id == bindparam("_id"))
            .values(lease_until=None, not_before=bindparam("_nb"),
                    last_status=bindparam("_status"), attempts=bindparam("_attempts")))
    conn.execute(stmt, [{"_id": job.id, "_nb": when, "_status": code,
                         "_attempts": job.attempts + int(attempted)}
                        for job, when, code, attempted in rows])


def _pause(conn: Connection, origin: str, until: datetime) -> None:
    stmt = insert_for(conn.dialect.name)(PushOriginPause).values(origin=origin, paused_until=until)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["origin"], set_={"paused_until": stmt.excluded.paused_until},
        where=PushOriginPause.paused_until < stmt.excluded.paused_until))


def delete_subscriptions(conn: Connection, subscription_ids: list[int]) -> None:
    """Delete subscriptions, first marking their pending deliveries GONE."""
    if not subscription_ids:
        return
    conn.execute(update(D).where(D.subscription_id.in_(subscription_ids), D.status == PENDING)
                 .values(status=DeliveryStatus.GONE, lease_until=None))
    conn.execute(delete(S).where(S.id.in_(subscription_ids)))


def record(conn: Connection, results: list[tuple[Job, Outcome, int | None, float | None]],
           now: datetime, retry_base: float, retry_max: float) -> dict[str, int]:
    """Write a batch's results (caller commits).  Returns counts per outcome.

    ``results`` are ``(job, outcome, http_status, seconds)`` where seconds is the
    Retry-After of a PAUSE or the not-before delay of a DEFER.
    """
    by_outcome: dict[Outcome, list] = defaultdict(list)
    for item in results:
        by_outcome[item[1]].append(item)
    sent_by_code: dict[int, list[Job]] = defaultdict(list)
    for job, _o, code, _s in by_outcome[Outcome.SENT]:
        sent_by_code[code or 201].append(job)
    for code, jobs in sent_by_code.items():
        _finish(conn, jobs, DeliveryStatus.SENT, code, now)
    sent_subs = [job.subscription_id for job, *_ in by_outcome[Outcome.SENT]]
    if sent_subs:
        conn.execute(update(S).where(S.id.in_(sent_subs), or_(
            S.last_success_at.is_(None), S.last_success_at < now - SUCCESS_REFRESH))
            .values(last_success_at=now))
    gone = by_outcome[Outcome.GONE]
    for code in {code for _j, _o, code, _s in gone}:
        _finish(conn, [j for j, _o, c, _s in gone if c == code], DeliveryStatus.GONE, code, now)
    delete_subscriptions(conn, sorted({job.subscription_id for job, *_ in gone}))
    for outcome in (Outcome.AUTH, Outcome.BUG):
        items = by_outcome[outcome]
        for code in {code for _j, _o, code, _s in items}:
            _finish(conn, [j for j, _o, c, _s in items if c == code], DeliveryStatus.FAILED,
                    code, now)
    # (job, attempted) pairs: a TTL that ran out before sending was no attempt.
    expired = [(job, False) for job, *_ in by_outcome[Outcome.EXPIRED]]
    requeue: list[tuple[Job, datetime, int | None, bool]] = []
    for job, _o, code, _s in by_outcome[Outcome.RETRY]:
        when = now + timedelta(seconds=backoff(job.attempts + 1, retry_base, retry_max))
        if when >= job.expires_at:
            expired.append((job, True))
        else:
            requeue.append((job, when, code, True))
    pauses: dict[str, datetime] = {}
    for job, _o, code, seconds in by_outcome[Outcome.PAUSE]:
        until = pauses.get(job.origin) or now + timedelta(seconds=jitter(seconds or 60.0))
        pauses[job.origin] = until
        if until >= job.expires_at:
            expired.append((job, True))
        else:
            requeue.append((job, until, code, True))
    for origin, until in pauses.items():
        _pause(conn, origin, until)
    for job, _o, _code, seconds in by_outcome[Outcome.DEFER]:
        requeue.append((job, now + timedelta(seconds=seconds or 0), None, False))
    for attempted in (True, False):
        _finish(conn, [job for job, a in expired if a == attempted], DeliveryStatus.EXPIRED,
                None, now, attempted)
    _requeue(conn, requeue)
    counts = {outcome.value: len(items) for outcome, items in by_outcome.items() if items}
    if expired:
        counts["expired"] = len(expired)
    return counts


def sweep(conn: Connection, now: datetime) -> int:
    """Expire pending deliveries past their TTL, settle orphans, drop ended pauses."""
    expired = conn.execute(update(D).where(D.status == PENDING, D.expires_at <= now)
                           .values(status=DeliveryStatus.EXPIRED, lease_until=None)).rowcount
    conn.execute(update(D).where(D.status == PENDING, D.subscription_id.is_(None))
                 .values(status=DeliveryStatus.GONE, lease_until=None))
    conn.execute(delete(PushOriginPause).where(PushOriginPause.paused_until <= now))
    return max(expired, 0)


def next_due(conn: Connection, now: datetime) -> datetime | None:
    """When the next pending delivery may become claimable (None: nothing pending)."""
    paused = active_pauses(conn, now)
    free = select(func.min(D.not_before)).join(S, S.id == D.subscription_id).where(
        D.status == PENDING, D.lease_until.is_(None))
    if paused:
        free = free.where(S.origin.not_in(list(paused)))
    leased = select(func.min(D.lease_until)).where(D.status == PENDING,
                                                   D.lease_until.is_not(None))
    times = [conn.scalar(free), conn.scalar(leased), min(paused.values(), default=None)]
    return min((t for t in times if t is not None), default=None)

"""Delete subscriptions that cannot or no longer seem to receive anything.

A subscription goes when its ``expirationTime`` has passed, or when it has had
no successful delivery (or, never used, no creation) for ``PUSH_STALE_DAYS``.
Push services answer 404/410 for most dead subscriptions (handled by the
sender); this catches those that silently stopped or expired.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import and_, func, or_, select

from ..extensions import db
from ..models import PushSubscription as S
from .claims import delete_subscriptions
from .settings import setting

log = logging.getLogger(__name__)
CHUNK = 1000


def prune_stale(app: Flask, now: datetime, stale_days: int | None = None) -> int:
    """Delete expired and stale subscriptions; returns how many were deleted."""
    days = stale_days if stale_days is not None else int(setting(app, "PUSH_STALE_DAYS"))
    cutoff = now - timedelta(days=days)
    stale = or_(and_(S.expiration_time.is_not(None), S.expiration_time <= now),
                func.coalesce(S.last_success_at, S.created_at) < cutoff)
    deleted = 0
    while True:
        with app.app_context(), db.engine.begin() as conn:
            ids = list(conn.scalars(select(S.id).where(stale).order_by(S.id).limit(CHUNK)))
            delete_subscriptions(conn, ids)
        deleted += len(ids)
        if len(ids) < CHUNK:
            break
    if deleted:
        log.info("push: pruned %d expired or stale subscriptions", deleted)
    return deleted

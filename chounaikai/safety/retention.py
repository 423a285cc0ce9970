"""Notes about health or need are kept SAFETY_NOTE_RETENTION_DAYS (default 30), then erased.

:func:`purge_notes` runs from ``flask safety purge-notes`` (cron, daily) and also
each time a page or API call that would show notes is opened, so a note past
its retention is never shown even where nobody set up the cron job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update

from .. import audit
from ..extensions import db
from ..models import SafetyAnswer, utcnow

DEFAULT_DAYS = 30


def retention_days() -> int:
    return int(current_app.config.get("SAFETY_NOTE_RETENTION_DAYS") or DEFAULT_DAYS)


def purge_notes(now: datetime | None = None) -> int:
    """Erase notes written more than the retention ago; returns how many.

    Counted from ``answered_at`` (when the note was last written) rather than from
    the round's close: a round a leader forgets to close must not keep health
    information forever.  Sets ``note_purged_at`` so leaders see that a note was
    erased.  Flushes, never commits.
    """
    now = now or utcnow()
    days = retention_days()
    result = db.session.execute(
        update(SafetyAnswer)
        .where(SafetyAnswer.note.is_not(None),
               SafetyAnswer.answered_at < now - timedelta(days=days))
        .values(note=None, note_purged_at=now)
        .execution_options(synchronize_session=False))
    purged = result.rowcount or 0
    if purged:
        audit.record(actor=None, action="safety.notes_purge",
                     detail={"count": purged, "retention_days": days})
    return purged

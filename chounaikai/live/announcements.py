"""What is announced live when circulars are published and receipts are written.

Called from :mod:`chounaikai.notify` inside the change's transaction.  Rooms:

* ``user:<id>`` — the member's own events: ``circular`` (a new circular: id, title,
  unread count) and ``receipt`` (they read or acknowledged: id, unread count);
* ``leaders:<association_id>`` — ``receipts``: a circular's counters (totals and
  per block), for leaders and block leaders.  Counts only, never who.
"""

from __future__ import annotations

from ..models import Alert, Circular, utcnow
from . import counters, counts
from .rooms import ALERTS_ROOM, user_room
from .service import Event, lock_rooms, record

TITLE_LIMIT = 200


def circular_published(circular: Circular) -> None:
    """A circular went out: every member it reaches gets its id, title and unread count.

    A scheduled circular (``publish_at`` in the future) is not announced now; the code
    that notices it going public (e.g. the push sender's tick) calls this then.
    """
    if not circular.is_published(utcnow()):
        return
    user_ids = counts.audience_user_ids(circular)
    if not user_ids:
        return
    rooms = [user_room(uid) for uid in user_ids]
    lock_rooms(rooms)  # before counting: the counts then include every earlier commit
    unread = counts.unread_counts(circular.association_id, user_ids)
    record([Event(user_room(uid), "circular", {
        "association_id": circular.association_id, "circular_id": circular.id,
        "title": circular.title[:TITLE_LIMIT], "url": f"/circulars/{circular.id}",
        "ack_required": circular.ack_required, "unread": unread[uid],
        "own": uid == circular.author_id}) for uid in user_ids])


def receipt_recorded(audience: counts.Audience, *, user_id: int | None,
                     acknowledged: bool) -> None:
    """A member (or a leader for a paper household, ``user_id`` None) read or acknowledged
    the circular of ``audience``."""
    # The leaders' counters: now, or (LIVE_COUNTS_SECONDS) once per tick for all reads.
    counters.receipts_changed(audience)
    if user_id is not None:
        room = user_room(user_id)
        lock_rooms([room])
        unread = counts.unread_counts(audience.association_id, [user_id])
        record([Event(room, "receipt", {
            "association_id": audience.association_id, "circular_id": audience.circular_id,
            "acknowledged": acknowledged, "unread": unread[user_id]})])



def alert_changed(alert: Alert) -> None:
    """An alert was issued, updated or cancelled: every open page shows (or drops) a banner.

    Ids and the level only: each page fetches the words in its own language.
    """
    record([Event(ALERTS_ROOM, "alert", {
        "alert_id": alert.id, "references": alert.references_id,
        "message_type": alert.message_type.value, "active": alert.active,
        "level": alert.level, "url": f"/portal#alert-{alert.id}"})])

"""Write notifications to the outbox in the caller's transaction.

Nothing is sent here: a sender drains the outbox after commit, so a rolled
back publication never reaches a phone.
"""

from __future__ import annotations

from ..extensions import db
from ..models import Circular, Notification, Priority, SafetyRound

CIRCULAR_TTL_SECONDS = 3 * 86400
# A safety check is answered within hours, or the leaders knock on doors instead.
SAFETY_TTL_SECONDS = 12 * 3600
TITLE_LIMIT = 80


def enqueue_circular(circular: Circular) -> Notification:
    """A push for a newly published (or scheduled) circular to its audience.

    Fan-out reads the audience (blocks) and publish time from the circular
    itself, so a scheduled circular corrected before it goes out is pushed as
    corrected, and members who subscribe before the publish time are reached.
    """
    notification = Notification(
        kind="circular",
        priority=Priority.NORMAL,
        association_id=circular.association_id,
        audience={"circular_id": circular.id},
        # Ids and the circular's own title only: never names or addresses.
        payload={"circular_id": circular.id, "title": circular.title[:TITLE_LIMIT],
                 "url": f"/circulars/{circular.id}"},
        topic=f"circular-{circular.id}",
        ttl_seconds=CIRCULAR_TTL_SECONDS,
    )
    db.session.add(notification)
    return notification



def enqueue_safety_round(round_: SafetyRound) -> Notification:
    """An urgent push asking every member of the association to answer a new round.

    Only for rounds a leader or city staff start by hand: a round started by an
    alert rides on that alert's own push, which already rang every phone.
    """
    notification = Notification(
        kind="safety",
        priority=Priority.EMERGENCY,  # bypasses quiet hours and the daily digest
        association_id=round_.association_id,
        audience={"association_ids": [round_.association_id]},
        payload={"url": f"/a/{round_.association_id}/safety"},
        topic=f"safety-{round_.id}",
        ttl_seconds=SAFETY_TTL_SECONDS,
    )
    db.session.add(notification)
    return notification

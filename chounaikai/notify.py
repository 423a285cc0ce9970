"""What happens around a change besides the change itself: pushes and live events.

Services call these inside their transaction.  Push notifications go to the
outbox table (sent after commit by the senders); live events are recorded and
announced over Socket.IO only after commit.
"""

from __future__ import annotations

from .live import announcements as live
from .live.counts import Audience
from .models import Circular
from .push.outbox import enqueue_circular


def circular_published(circular: Circular) -> None:
    """A new circular: push to its audience, and a live toast and unread count."""
    enqueue_circular(circular)
    live.circular_published(circular)


def receipt_recorded(audience: Audience, *, user_id: int | None, acknowledged: bool) -> None:
    """A member (``user_id``) read or acknowledged a circular, or a leader recorded a paper
    household's receipt (no user): live counters for the leaders' status pages and the
    member's own unread count."""
    live.receipt_recorded(audience, user_id=user_id, acknowledged=acknowledged)

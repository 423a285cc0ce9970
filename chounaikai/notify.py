"""What happens around a change besides the change itself: pushes and live events.

Services call these inside their transaction.  Push notifications go to the
outbox table (sent after commit by the senders); live events are recorded and
announced over Socket.IO only after commit.
"""

from __future__ import annotations

from .models import Circular
from .push.outbox import enqueue_circular


def circular_published(circular: Circular) -> None:
    """A new circular: push to its audience."""
    enqueue_circular(circular)

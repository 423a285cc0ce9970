"""What a push service's answer means for the delivery (RFC 8030 practice).

| answer                 | outcome                                                   |
|------------------------|-----------------------------------------------------------|
| 2xx                    | SENT; the subscription's ``last_success_at`` is refreshed |
| 404, 410               | GONE: the subscription is deleted                         |
| 429                    | PAUSE the origin for Retry-After (+ jitter), then resend  |
| 5xx, timeout, network  | RETRY with exponential back-off until the TTL runs out    |
| 401, 403               | AUTH: FAILED, nothing deleted, the sender raises          |
| 400, 413, other 4xx    | BUG: FAILED and logged as our bug                         |
"""

from __future__ import annotations

import enum
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

DEFAULT_RETRY_AFTER = 60.0
MAX_RETRY_AFTER = 24 * 3600.0


class Outcome(enum.Enum):
    SENT = "sent"
    GONE = "gone"
    RETRY = "retry"
    PAUSE = "pause"
    AUTH = "auth"
    BUG = "bug"
    EXPIRED = "expired"  # the TTL ran out before it could be sent
    DEFER = "defer"  # not attempted (origin paused, sender stopping): back to the queue


class PushAuthError(RuntimeError):
    """A push service refused our VAPID credentials (401/403): an operator must act.

    Raised by the sender after the batch's results are recorded; the affected
    deliveries are FAILED and no subscription is deleted.
    """

    def __init__(self, origins: dict[str, int]):
        self.origins = origins
        listed = ", ".join(f"{origin} ({status})" for origin, status in sorted(origins.items()))
        super().__init__(
            f"push service refused our VAPID credentials: {listed}; check "
            "CHOUNAIKAI_VAPID_PRIVATE_KEY / CHOUNAIKAI_VAPID_SUBJECT (`flask push status`)")


def classify(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.SENT
    if status in (404, 410):
        return Outcome.GONE
    if status == 429:
        return Outcome.PAUSE
    if status in (401, 403):
        return Outcome.AUTH
    if status >= 500 or status == 408:
        return Outcome.RETRY
    return Outcome.BUG


def retry_after_seconds(value: str | None, now: datetime) -> float:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date.

    A missing or unreadable value waits :data:`DEFAULT_RETRY_AFTER`; absurd
    values are capped at a day.
    """
    if not value:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return DEFAULT_RETRY_AFTER
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def jitter(seconds: float, spread: float = 0.1) -> float:
    """``seconds`` plus up to ``spread`` of it (at least a second) at random.

    So that many senders, or many deliveries, do not return at the same instant.
    """
    return seconds + random.uniform(0, max(1.0, seconds * spread))  # noqa: S311 - not security


def backoff(attempts: int, base: float, ceiling: float) -> float:
    """Exponential back-off after the ``attempts``-th failed try, with jitter."""
    return jitter(min(base * 2 ** max(attempts - 1, 0), ceiling), 0.25)

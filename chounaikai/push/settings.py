"""Delivery settings with their defaults, and the clock the engine reads.

``chounaikai/config.py`` maps the ``CHOUNAIKAI_*`` variables operators set;
everything else falls back to :data:`DEFAULTS`.  Tests override any key in
``create_app(config)``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask

from ..models import utcnow

DEFAULTS: dict[str, Any] = {
    # Deliveries claimed per round trip; a crash re-sends at most two batches.
    "PUSH_BATCH_SIZE": 500,
    # Requests in flight in one sender, and connections to one push-service origin
    # (more workers than that would only queue on the origin's limit).
    "PUSH_CONCURRENCY": 128,
    "PUSH_PER_ORIGIN_CONCURRENCY": 128,
    "PUSH_TIMEOUT_SECONDS": 30,
    # A claimed batch is retaken by another sender after this long (crash recovery).
    "PUSH_LEASE_SECONDS": 120,
    # Subscription rows inserted per fan-out statement (each chunk commits).
    "PUSH_FANOUT_CHUNK": 50_000,
    # 5xx / network errors: exponential back-off from BASE up to MAX seconds.
    "PUSH_RETRY_BASE_SECONDS": 15,
    "PUSH_RETRY_MAX_SECONDS": 3600,
    # The VAPID JWT lives this long (RFC 8292 allows 24 h) and is re-signed at half-life.
    "PUSH_VAPID_JWT_SECONDS": 12 * 3600,
    # Subscriptions with no success (or creation) for this many days are deleted.
    "PUSH_STALE_DAYS": 90,
    # Local hour (Asia/Tokyo) of the daily digest for members who chose it.
    "PUSH_DIGEST_HOUR": 7,
    # thread | rq | off; None picks: off when testing, rq with REDIS_URL, else thread.
    "PUSH_WORKER": None,
    # Prefix of the RQ queue names ("emergency", "default"): lets tests share a Redis.
    "PUSH_QUEUE_PREFIX": "",
    # Idle workers look for due deliveries (quiet hours ending, retries) this often.
    "PUSH_TICK_SECONDS": 15,
    # One RQ job drains for at most this long, then rings again so others get a turn.
    "PUSH_JOB_SECONDS": 120,
    # After a 401/403 the worker waits this long before trying again.
    "PUSH_AUTH_ERROR_PAUSE_SECONDS": 300,
    # A callable returning the current aware UTC datetime (tests move time with it).
    "PUSH_CLOCK": None,
}


def setting(app: Flask, name: str) -> Any:
    """The configured value of ``name`` or its default (None in config means default)."""
    value = app.config.get(name)
    return DEFAULTS[name] if value is None else value


def clock(app: Flask) -> Callable[[], datetime]:
    """The engine's notion of "now": ``PUSH_CLOCK`` if configured, else real UTC time."""
    return app.config.get("PUSH_CLOCK") or utcnow


def worker_mode(app: Flask) -> str:
    """``thread``, ``rq`` or ``off`` (see ``PUSH_WORKER``)."""
    mode = app.config.get("PUSH_WORKER")
    if mode:
        if mode not in ("thread", "rq", "off"):
            raise ValueError(f"PUSH_WORKER must be thread, rq or off, not {mode!r}")
        return str(mode)
    if app.config.get("TESTING") or app.config.get("ENV_NAME") == "test":
        return "off"
    return "rq" if app.config.get("REDIS_URL") else "thread"


def queue_names(app: Flask) -> tuple[str, str]:
    """The RQ queues, emergency first: workers always listen to it before the other."""
    prefix = setting(app, "PUSH_QUEUE_PREFIX") or ""
    return f"{prefix}emergency", f"{prefix}default"

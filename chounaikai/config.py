"""Settings read from the environment (``CHOUNAIKAI_*``, ``DATABASE_URL``, ``REDIS_URL``).

The embedded default (no variables set) is SQLite in the instance folder with
in-process workers.  Outside development and testing a missing secret is an
error, never a silent fallback.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from .sqlite_writer import QueuedWriterConnection

DEFAULT_LOCALE = "ja"
TIMEZONE = "Asia/Tokyo"


class ConfigError(RuntimeError):
    """Raised at start-up when a required setting is missing."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CHOUNAIKAI_{name}", default)


def _instance_secret(instance_path: Path) -> str:
    """Return a secret key kept in the instance folder, creating it on first run.

    Only used in the embedded development mode so a newcomer needs no set-up;
    production must pass ``CHOUNAIKAI_SECRET_KEY``.
    """
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgres://`` / ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def engine_options(database_url: str) -> dict[str, Any]:
    """SQLAlchemy engine options; SQLite connections queue their writers (sqlite_writer.py)."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if database_url.startswith("sqlite"):
        options["connect_args"] = {"factory": QueuedWriterConnection}
    return options


# Push services whose endpoints a browser's PushSubscription may name (see
# chounaikai/push/subscription_json.py for the pattern syntax); anything else is refused so
# a member cannot make the server POST to an arbitrary URL.
DEFAULT_PUSH_ALLOWED_HOSTS = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
)


def _push_allowed_hosts() -> tuple[str, ...]:
    """The defaults plus ``CHOUNAIKAI_PUSH_ALLOWED_HOSTS`` (comma-separated, e.g. for tests)."""
    extra = [part.strip() for part in (_env("PUSH_ALLOWED_HOSTS") or "").split(",")]
    return DEFAULT_PUSH_ALLOWED_HOSTS + tuple(part for part in extra if part)


def build_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble the Flask config mapping from environment and ``overrides``."""
    overrides = dict(overrides or {})
    env = _env("ENV", "development")
    testing = bool(overrides.get("TESTING"))
    database_url = overrides.pop("DATABASE_URL", None) or os.environ.get("DATABASE_URL")
    if not database_url:
        database_url = f"sqlite:///{instance_path / 'chounaikai.sqlite3'}"
    secret = overrides.get("SECRET_KEY") or _env("SECRET_KEY")
    if not secret:
        if env in ("development", "test") or testing:
            secret = _instance_secret(instance_path)
        else:
            raise ConfigError("CHOUNAIKAI_SECRET_KEY must be set outside development.")
    redis_url = overrides.pop("REDIS_URL", None) or os.environ.get("REDIS_URL")
    config: dict[str, Any] = {
        "ENV_NAME": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "REDIS_URL": redis_url,
        "UPLOAD_FOLDER": str(instance_path / "uploads"),
        # Whole request bodies beyond this are refused before a view runs.
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
        "ATTACHMENTS_PER_CIRCULAR": 5,
        "BABEL_DEFAULT_LOCALE": DEFAULT_LOCALE,
        "BABEL_DEFAULT_TIMEZONE": TIMEZONE,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "10 per minute"),
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        # Reverse proxies in front (docs/deploy/nginx.conf: 1) whose X-Forwarded-For and
        # -Proto are trusted; 0 = none, so a client cannot pick its address for rate limits.
        "PROXY_HOPS": int(_env("PROXY_HOPS", "0") or 0),
        "PUSH_ALLOWED_HOSTS": _push_allowed_hosts(),
        # The city this deployment serves: alert texts, CAP <area> and <sender>.
        "CITY_NAME": _env("CITY_NAME", "町田市"),
        "CITY_CODE": _env("CITY_CODE", "132098"),  # 全国地方公共団体コード with check digit
        "CAP_SENDER": _env("CAP_SENDER", "bousai@city.machida.example.jp"),
        # Seconds each process reuses a rendered /portal page (per language).
        "PORTAL_CACHE_SECONDS": float(_env("PORTAL_CACHE_SECONDS", "5") or 5),
        # Leaders' live receipt counters are recounted once per this many seconds per
        # circular, however many reads came in (chounaikai/live/counters.py); 0: per read.
        "LIVE_COUNTS_SECONDS": float(_env("LIVE_COUNTS_SECONDS", "1") or 0),
        # Seconds a member's inbox or circular page may be replayed while nothing on it
        # changed (chounaikai/memberpages.py); 0 renders every request.
        "MEMBER_PAGE_CACHE_SECONDS": float(_env("MEMBER_PAGE_CACHE_SECONDS", "120") or 0),
        # Replayed answers kept per process (member pages; about 10 KB each).
        "REPLAY_MEMBER_ENTRIES": int(_env("REPLAY_MEMBER_ENTRIES", "4096") or 0),
        # How long a safety-check note about health or need is kept (then purged).
        "SAFETY_NOTE_RETENTION_DAYS": int(_env("SAFETY_NOTE_RETENTION_DAYS", "30") or 30),
        # Web Push delivery (docs/push-delivery.md); other PUSH_* keys default in
        # chounaikai/push/settings.py.  VAPID_PRIVATE_KEY: PEM or base64url raw scalar.
        "VAPID_PRIVATE_KEY": _env("VAPID_PRIVATE_KEY"),
        "VAPID_SUBJECT": _env("VAPID_SUBJECT"),
        "PUSH_WORKER": _env("PUSH_WORKER"),  # thread | rq | off
        "PUSH_QUEUE_PREFIX": _env("PUSH_QUEUE_PREFIX"),
        "PUSH_BATCH_SIZE": _env("PUSH_BATCH_SIZE"),
        "PUSH_CONCURRENCY": _env("PUSH_CONCURRENCY"),
        "PUSH_LEASE_SECONDS": _env("PUSH_LEASE_SECONDS"),
        "PUSH_TICK_SECONDS": _env("PUSH_TICK_SECONDS"),
        "PUSH_STALE_DAYS": _env("PUSH_STALE_DAYS"),
        "PUSH_DIGEST_HOUR": _env("PUSH_DIGEST_HOUR"),
    }
    config.update(overrides)
    return config

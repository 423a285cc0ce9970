"""Small helpers to read form fields the same way in every route."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import request
from flask_babel import gettext as _

from .config import TIMEZONE
from .errors import ValidationFailed
from .models import MAX_ID

_TOKYO = ZoneInfo(TIMEZONE)


def text(name: str) -> str:
    """A form field as text; NUL characters (which PostgreSQL refuses) are dropped."""
    return request.form.get(name, "").replace("\x00", "")


def same_site_path(target: str, default: str) -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects).

    Browsers drop tabs and newlines from URLs and read ``\\`` as ``/``, so
    ``/\\evil.example`` and ``/<TAB>/evil.example`` both mean ``//evil.example``.
    """
    cleaned = "".join(ch for ch in target if ch >= " " and ch != "\x7f").replace("\\", "/")
    if not cleaned.startswith("/") or cleaned.startswith("//"):
        return default
    return cleaned


def flag(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "true", "yes")


def optional_int(name: str) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > MAX_ID:
        raise ValidationFailed(fields={name: _("数字を入れてください。")})
    return int(raw)


def local_datetime(name: str) -> datetime | None:
    """An ``<input type=datetime-local>`` value, read as Tokyo time."""
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=_TOKYO)
    except ValueError as exc:
        raise ValidationFailed(fields={name: _("日付と時刻を入れてください。")}) from exc

"""Template filters: dates in Asia/Tokyo in the reader's locale; furigana on request."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import Flask, g, has_request_context, request
from flask_babel import format_datetime, get_locale
from flask_login import current_user
from markupsafe import Markup

from . import furigana
from .config import TIMEZONE
from .i18n import current_language

FURIGANA_COOKIE = "furigana"

_TOKYO = ZoneInfo(TIMEZONE)


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """Show an aware UTC datetime in Asia/Tokyo in the current locale."""
    if value is None:
        return ""
    return _formatted(value, fmt, str(get_locale()))


@lru_cache(maxsize=8192)
def _formatted(value: datetime, fmt: str, locale: str) -> str:
    """Babel formats a date in ~22 µs and a list page shows twenty: the same dates repeat
    on every page, so each (moment, format, locale) is formatted once per process.
    ``locale`` is in the key only; Flask-Babel formats in the request's own, which it is
    (the time zone is always Asia/Tokyo)."""
    return format_datetime(value, fmt)


def datetime_input_value(value: datetime | None) -> str:
    """The value for an ``<input type=datetime-local>``: Tokyo wall-clock time."""
    if value is None:
        return ""
    return value.astimezone(_TOKYO).strftime("%Y-%m-%dT%H:%M")


def wants_furigana() -> bool:
    """The member's saved choice, else the cookie, else on for Easy Japanese readers."""
    if not has_request_context():
        return False
    cached = g.get("_wants_furigana")
    if cached is None:
        saved = current_user.furigana if current_user.is_authenticated else None
        if saved is None:
            cookie = request.cookies.get(FURIGANA_COOKIE)
            saved = cookie == "1" if cookie in {"0", "1"} else None
        cached = g._wants_furigana = (saved if saved is not None
                                      else current_language().code == "ja-easy")
    return cached


def _ruby_for(language: str) -> bool:
    """Readings go on Japanese content only, and only for readers who want them."""
    return language in {"ja", "ja-easy"} and wants_furigana()


def ruby_html(fragment: str, language: str = "ja") -> Markup:
    """Sanitized Japanese HTML with readings when the reader asked for furigana."""
    if _ruby_for(language):
        return furigana.annotate_html(fragment)
    return Markup(fragment)  # noqa: S704 - callers pass sanitized HTML only


def ruby_text(value: str, language: str = "ja") -> Markup:
    """Plain Japanese text (escaped) with readings when the reader asked for furigana."""
    if _ruby_for(language):
        return furigana.annotate_text(value)
    return Markup.escape(value)


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["local_dt"] = local_datetime
    app.jinja_env.filters["input_dt"] = datetime_input_value
    app.jinja_env.filters["ruby_html"] = ruby_html
    app.jinja_env.filters["ruby_text"] = ruby_text
    app.jinja_env.globals["wants_furigana"] = wants_furigana

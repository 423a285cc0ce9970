"""Locale and time-zone selection for Flask-Babel.

Order: the member's saved preference, an explicit ``?lang=`` choice, the
``lang`` cookie, ``Accept-Language``, then Japanese.
"""

from __future__ import annotations

from flask import Flask, g, request
from flask_login import current_user

from .config import DEFAULT_LOCALE, TIMEZONE
from .extensions import babel

# Code -> name in its own language.  More arrive with the translation catalogs.
LANGUAGES: dict[str, str] = {
    "ja": "日本語",
    "en": "English",
}
LANG_COOKIE = "lang"


def select_locale() -> str:
    """Pick the UI language for this request."""
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGES:
        return current_user.locale
    explicit = request.args.get("lang")
    if explicit in LANGUAGES:
        g.lang_choice = explicit
        return explicit
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LOCALE


def select_timezone() -> str:
    return TIMEZONE


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.after_request
    def _remember_choice(response):
        choice = g.get("lang_choice")
        if choice:
            response.set_cookie(LANG_COOKIE, choice, max_age=365 * 86400, samesite="Lax")
        return response

"""Interface languages: which one a request gets, and its message catalog.

The ten choices are *interface languages*, not Babel locales: やさしい日本語
(Easy Japanese) has no CLDR locale, yet it needs its own catalog while it
formats dates and numbers exactly like Japanese.  So every choice names both:

* ``code``     what the switcher, the ``lang`` cookie, ``?lang=`` and
               ``User.locale`` store (``ja-easy`` for Easy Japanese);
* ``babel``    the CLDR locale Flask-Babel formats dates and numbers with;
* ``catalog``  the directory under ``chounaikai/translations`` (``None`` for
               Japanese: the msgids are Japanese, the source language);
* ``html``     the BCP 47 tag for ``<html lang>`` (Easy Japanese is ``ja``).

Flask-Babel keys its translations by Babel locale, which would give Easy
Japanese the Japanese catalog; :class:`LanguageDomain` keys them by
interface language instead.

Order of choice: the member's saved preference, an explicit ``?lang=``, the
``lang`` cookie, ``Accept-Language`` (with regional aliases), then Japanese.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from babel import Locale, support
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Domain, get_locale
from flask_login import current_user

from .config import DEFAULT_LOCALE, TIMEZONE
from .extensions import babel


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in the language itself: what a reader looks for in the switcher
    babel: str
    html: str
    catalog: str | None


LANGUAGE_LIST: tuple[Language, ...] = (
    Language("ja", "日本語", "ja", "ja", None),
    Language("ja-easy", "やさしい にほんご", "ja", "ja", "ja_EASY"),
    Language("en", "English", "en", "en", "en"),
    Language("zh-Hans", "简体中文", "zh_Hans_CN", "zh-Hans", "zh_Hans"),
    Language("zh-Hant", "繁體中文", "zh_Hant_TW", "zh-Hant", "zh_Hant"),
    Language("ko", "한국어", "ko", "ko", "ko"),
    Language("vi", "Tiếng Việt", "vi", "vi", "vi"),
    Language("fil", "Filipino", "fil", "fil", "fil"),
    Language("ne", "नेपाली", "ne", "ne", "ne"),
    Language("pt-BR", "Português (Brasil)", "pt_BR", "pt-BR", "pt_BR"),
)
LANGUAGES: dict[str, Language] = {language.code: language for language in LANGUAGE_LIST}
LANG_COOKIE = "lang"

# Accept-Language tags (lower case) that name one of our choices less directly.  Chinese
# goes by script: Taiwan, Hong Kong and Macau write Traditional characters.
_ALIASES: dict[str, str] = {
    "zh": "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans", "zh-hans": "zh-Hans",
    "zh-hans-cn": "zh-Hans", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-mo": "zh-Hant",
    "zh-hant": "zh-Hant", "zh-hant-tw": "zh-Hant", "zh-hant-hk": "zh-Hant",
    "tl": "fil", "pt": "pt-BR", "ja-jp": "ja",
}


def language_for_tag(tag: str) -> str | None:
    """Our language code for one BCP 47 tag, or None.

    Exact codes first, then the aliases, then the primary subtag (``en-GB`` → ``en``,
    ``ko-KR`` → ``ko``, ``pt-PT`` → ``pt-BR``: the nearest we have).
    """
    lowered = tag.strip().replace("_", "-").lower()
    for code in LANGUAGES:
        if code.lower() == lowered:
            return code
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    primary = lowered.split("-", 1)[0]
    if primary == "zh" and any(part in {"tw", "hk", "mo", "hant"} for part in lowered.split("-")):
        return "zh-Hant"
    return _ALIASES.get(primary) or (primary if primary in LANGUAGES else None)


def from_accept_language() -> str | None:
    for tag, _quality in request.accept_languages:  # sorted by quality, best first
        code = language_for_tag(tag)
        if code:
            return code
    return None


def negotiate() -> str:
    """The interface language code for this request."""
    saved = getattr(current_user, "locale", None) if current_user else None
    if getattr(current_user, "is_authenticated", False) and saved in LANGUAGES:
        return saved
    explicit = request.args.get("lang")
    if explicit in LANGUAGES:
        g.lang_choice = explicit
        return explicit
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return from_accept_language() or DEFAULT_LOCALE


def _babel_context():
    """Flask-Babel's per-context namespace (None outside an app context)."""
    from flask_babel import _get_current_context  # its cache lives there

    return _get_current_context()


def current_language() -> Language:
    """The interface language in force (Japanese outside a request)."""
    ctx = _babel_context()
    if ctx is None:
        return LANGUAGES[DEFAULT_LOCALE]
    code = getattr(ctx, "ui_language", None)
    if code is None:
        get_locale()  # runs select_locale, which records ui_language
        code = getattr(ctx, "ui_language", None) or DEFAULT_LOCALE
    return LANGUAGES[code]


def select_locale() -> str:
    """Flask-Babel's locale selector: the chosen language's CLDR locale."""
    ctx = _babel_context()
    code = getattr(ctx, "ui_language", None) if ctx is not None else None
    if code is None:
        code = negotiate() if has_request_context() else DEFAULT_LOCALE
        if ctx is not None:
            ctx.ui_language = code
    return LANGUAGES[code].babel


def refresh_language() -> None:
    """Forget this request's choice (after the member saves a new preference)."""
    ctx = _babel_context()
    for key in ("ui_language", "babel_locale", "babel_translations"):
        if ctx is not None and hasattr(ctx, key):
            delattr(ctx, key)


@contextmanager
def force_language(code: str | None) -> Iterator[Language]:
    """Render in ``code`` (unknown or None: Japanese), e.g. one push payload per language."""
    language = LANGUAGES.get(code or "", LANGUAGES[DEFAULT_LOCALE])
    ctx = _babel_context()
    if ctx is None:
        yield language
        return
    saved = {key: getattr(ctx, key, None) for key in ("ui_language", "babel_locale")}
    ctx.ui_language = language.code
    ctx.babel_locale = Locale.parse(language.babel)
    try:
        yield language
    finally:
        for key, value in saved.items():
            setattr(ctx, key, value)


_catalogs: dict[tuple[str, str], support.NullTranslations] = {}
_NULL_TRANSLATIONS = support.NullTranslations()


def catalog_directory(app: Flask) -> str:
    return os.path.join(app.root_path, "translations")


class LanguageDomain(Domain):
    """Translations keyed by interface language rather than by Babel locale."""

    def get_translations(self) -> support.NullTranslations:
        # A page asks for every message it shows: the catalog of the request's language
        # is looked up once (force_language and refresh_language change ui_language).
        ctx = _babel_context()
        chosen = getattr(ctx, "ui_language", None)
        cached = getattr(ctx, "chounaikai_catalog", None)
        if cached is not None and chosen is not None and cached[0] == chosen:
            return cached[1]
        translations = self._translations_for(current_language())
        if ctx is not None:
            ctx.chounaikai_catalog = (getattr(ctx, "ui_language", None), translations)
        return translations

    def _translations_for(self, language: Language) -> support.NullTranslations:
        if language.catalog is None:
            return _NULL_TRANSLATIONS
        directory = catalog_directory(current_app)
        key = (directory, language.catalog)
        translations = _catalogs.get(key)
        if translations is None:
            path = os.path.join(directory, language.catalog, "LC_MESSAGES", "messages.mo")
            try:
                with open(path, "rb") as handle:
                    translations = support.Translations(handle, domain="messages")
            except FileNotFoundError:
                # Catalogs are compiled by `make install`; without them the UI is Japanese.
                current_app.logger.warning("no compiled catalog at %s", path)
                translations = support.NullTranslations()
            _catalogs[key] = translations
        return translations


def select_timezone() -> str:
    return TIMEZONE


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Flask-Babel looks its domain up on the extension; ours replaces the default one.
    babel.domain_instance = LanguageDomain()

    @app.after_request
    def _remember_choice(response):
        choice = g.get("lang_choice")
        if choice:
            response.set_cookie(LANG_COOKIE, choice, max_age=365 * 86400, samesite="Lax")
        return response

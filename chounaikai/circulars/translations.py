"""Circulars in several languages: leaders add translations, readers get their own.

The circular is the Japanese original.  A reader whose interface language has a
translation sees it; anyone else sees the original, with a note in their own
language saying it has not been translated (so nobody wonders whether they
missed something).
"""

from __future__ import annotations

from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..i18n import DEFAULT_LOCALE, LANGUAGES
from ..models import Circular, CircularTranslation, MemberRole, User, utcnow
from ..permissions import require_role
from .rendering import render_markdown
from .services import text_errors

# Japanese is the original, so it is not a translation target.
TRANSLATABLE = tuple(code for code in LANGUAGES if code != DEFAULT_LOCALE)


def _translation(circular: Circular, language: str) -> CircularTranslation | None:
    return next((t for t in circular.translations if t.language == language), None)


def _leader_circular(actor: User, circular_id: int) -> Circular:
    circular = db.session.get(Circular, circular_id)
    if circular is None:
        raise NotFound()
    require_role(actor, circular.association_id, MemberRole.LEADER)
    return circular


def _check_language(language: str) -> None:
    if language not in TRANSLATABLE:
        raise NotFound()


def get_translation(*, actor: User, circular_id: int, language: str) -> CircularTranslation | None:
    """A leader's view of one translation (None when not written yet)."""
    _check_language(language)
    circular = _leader_circular(actor, circular_id)
    return _translation(circular, language)


def save_translation(*, actor: User, circular_id: int, language: str, title: str,
                     body_md: str) -> CircularTranslation:
    """Add or replace the ``language`` version of a circular (idempotent for retries)."""
    _check_language(language)
    circular = _leader_circular(actor, circular_id)
    errors = text_errors(title, body_md)
    if errors:
        raise ValidationFailed(fields=errors)
    translation = _translation(circular, language)
    if translation is None:
        translation = CircularTranslation(language=language)
        circular.translations.append(translation)
    translation.title = title.strip()
    translation.body_md = body_md
    translation.body_html = render_markdown(body_md)
    translation.updated_by_id = actor.id
    translation.updated_at = utcnow()
    db.session.flush()
    return translation


def delete_translation(*, actor: User, circular_id: int, language: str) -> bool:
    """Remove a translation; False when there was none (a repeated delete is fine)."""
    _check_language(language)
    circular = _leader_circular(actor, circular_id)
    translation = _translation(circular, language)
    if translation is None:
        return False
    circular.translations.remove(translation)
    db.session.flush()
    return True

"""Pages that are the same for many members but for their session's own tokens.

When a circular goes out, its whole audience opens it within minutes: hundreds of
members, each asking for a page that differs from the others' only in the
session's CSRF token and the live-update position in it.  :func:`render` renders
such a page once per everything it shows (the key its caller gives, the reader's
language, furigana choice, text size, role in the city, and the global page
version that every content change moves) with placeholders where those two
per-session values go, and fills them in per request.

The caller still reads and authorizes per request; only the HTML is shared.  A
request with flash messages to show is rendered as usual (they are its own).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime
from typing import Any

from flask import current_app, g, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from . import memberpages, pageversions
from .formatting import wants_furigana
from .i18n import current_language

# Random per process, of characters no escaping changes, so they cannot come from content.
_TOKEN_HOLE = f"chounaikai-session-token-{secrets.token_hex(8)}"
_ROOMS_HOLE = f"chounaikai-live-rooms-{secrets.token_hex(8)}"
_HOLE_SUFFIX = secrets.token_hex(8)
# Pages × languages × reader variants, kept while the global page version is unchanged.
_pages: pageversions.GlobalMemo[str] = pageversions.GlobalMemo(max_entries=2048)


def render(template: str, key: Hashable, *,
           personal: Mapping[str, Callable[[], str]] | None = None, **context: Any) -> str:
    """``render_template(template, **context)``, shared by every request whose ``key`` and
    reader (language, furigana, text size, staff or not) are the same.

    ``personal`` names the parts that are each member's own (a list's read marks): the
    template shows each as a variable, and its callable makes that part's HTML per
    request.  ``key`` and ``context`` must decide everything else the page shows.
    """
    personal = personal or {}
    if session.get("_flashes") or request.query_string or not g.get("live_rooms"):
        return render_template(template, **context,
                               **{name: Markup(make()) for name, make in personal.items()})  # noqa: S704 - templates' HTML
    full_key = (template, key, request.script_root, request.path, current_language().code,
                wants_furigana(), bool(current_user.large_text), current_user.is_staff)
    html, until = _pages.get(full_key, lambda: _render_with_holes(template, context, personal))
    # The copy kept for this member must not outlive what the shared page depends on.
    memberpages.valid_until(until)
    rooms = g.get("live_rooms")
    html = (html.replace(_TOKEN_HOLE, generate_csrf())
            .replace(_ROOMS_JSON, htmlsafe_json_dumps(rooms, dumps=current_app.json.dumps)))
    for name, make in personal.items():  # last: the member's parts are not searched
        html = html.replace(_personal_hole(name), make())
    return html


def _personal_hole(name: str) -> str:
    return f"chounaikai-personal-{name}-{_HOLE_SUFFIX}"


def _render_with_holes(template: str, context: dict[str, Any],
                       personal: Mapping[str, Callable[[], str]]) -> tuple[str, datetime | None]:
    recorder = memberpages.Until()
    holes = {name: _personal_hole(name) for name in personal}
    with memberpages.recording(recorder):
        html = render_template(template, **context, **holes, csrf_token=lambda: _TOKEN_HOLE,
                               live_rooms={_ROOMS_HOLE: 0})
    return html, recorder.until


_ROOMS_JSON = str(htmlsafe_json_dumps({_ROOMS_HOLE: 0}))

"""The public disaster portal (/portal): active alerts and shelters, no login.

During a disaster everyone opens this page at once, so it is built to be cheap:
it holds nothing personal (no CSRF token, no user menu; the language links are
plain GET links), which lets each process keep the rendered page per language
for a few seconds (:mod:`chounaikai.pagecache`) and answer most requests without the database.
The service worker keeps the last copy for offline use.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request

from .. import pagecache
from ..alerts import templates
from ..formatting import FURIGANA_COOKIE, wants_furigana
from ..i18n import current_language
from ..live.rooms import ALERTS_ROOM
from ..live.service import latest_seqs
from ..shelters import services as shelter_services
from . import services

bp = Blueprint("portal", __name__)


def _render(language: str, furigana: bool) -> str:
    # The live position is read with the data, so the page and its seq agree.
    g.live_rooms = latest_seqs([ALERTS_ROOM])
    g._wants_furigana = furigana
    data = services.portal_data(language)
    return render_template("portal/index.html", data=data, furigana=furigana,
                           hazard_names=templates.HAZARD_NAMES,
                           congestion_labels=shelter_services.CONGESTION_LABELS,
                           congestion_symbols=shelter_services.CONGESTION_SYMBOLS)


@bp.get("/portal")
def index():
    language = current_language().code
    ruby = request.args.get("ruby")  # the page's own furigana link (no form: no token)
    furigana = ruby == "1" if ruby in {"0", "1"} else wants_furigana()
    page = pagecache.get_or_render(("portal", language, furigana),
                                   lambda: _render(language, furigana),
                                   current_app.config.get("PORTAL_CACHE_SECONDS", 5))
    response = pagecache.respond(page, request, "text/html; charset=utf-8", "no-cache")
    # Personal choices pick the cached copy, so shared caches must not mix them up.
    response.vary.update(("Cookie", "Accept-Language"))
    if ruby in {"0", "1"}:
        response.set_cookie(FURIGANA_COOKIE, ruby, max_age=365 * 86400, samesite="Lax")
    return response

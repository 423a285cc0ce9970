"""Home page and personal settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..associations.services import associations_of
from ..extensions import db
from ..formatting import FURIGANA_COOKIE, wants_furigana
from ..forms import same_site_path
from ..i18n import LANG_COOKIE, LANGUAGES, refresh_language

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Residents go straight to their circulars; others see their choices."""
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    memberships = associations_of(current_user)
    if len(memberships) == 1 and not current_user.is_staff:
        return redirect(url_for("circulars.inbox", association_id=memberships[0].association_id))
    return render_template("main/home.html", memberships=memberships)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/settings")
@login_required
def settings():
    return render_template("main/settings.html")


@bp.post("/settings")
@login_required
def save_settings():
    locale = request.form.get("locale")
    if locale in LANGUAGES:
        current_user.locale = locale
        refresh_language()  # the confirmation below is in the newly chosen language
    current_user.large_text = request.form.get("large_text") == "1"
    db.session.flush()
    flash(_("設定を保存しました。"), "success")
    return redirect(url_for("main.settings"))


@bp.post("/furigana")
def toggle_furigana():
    """Turn readings over kanji on or off: saved for members, a cookie for everyone."""
    wanted = not wants_furigana()
    if current_user.is_authenticated:
        current_user.furigana = wanted
    response = redirect(same_site_path(request.form.get("next", ""), url_for("main.index")))
    response.set_cookie(FURIGANA_COOKIE, "1" if wanted else "0", max_age=365 * 86400,
                        samesite="Lax")
    return response


@bp.post("/language")
def choose_language():
    """The language switcher: saved for members, a cookie for everyone."""
    locale = request.form.get("locale", "")
    if locale not in LANGUAGES:
        return redirect(url_for("main.index"))
    if current_user.is_authenticated:
        current_user.locale = locale
    response = redirect(same_site_path(request.form.get("next", ""), url_for("main.index")))
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="Lax")
    return response

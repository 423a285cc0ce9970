"""Log in, log out, and join an association with an invite code."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..database import reads_first, start_writing
from ..errors import ValidationFailed
from ..extensions import limiter
from ..forms import same_site_path, text
from . import services

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(default: str) -> str:
    return same_site_path(request.values.get("next", ""), default)


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return render_template("auth/login.html")


@bp.post("/login")
@reads_first
@limiter.limit(_login_limit, methods=["POST"])
def login_submit():
    user = services.authenticate(login=text("login"), password=text("password"))
    if user is None:
        flash(_("ログインIDかパスワードが違います。"), "error")
        return render_template("auth/login.html", login=text("login")), 401
    start_writing()
    services.upgrade_hash(user, text("password"))
    login_user(user, remember=True)
    return redirect(_safe_next(url_for("main.index")))


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("ログアウトしました。"), "success")
    return redirect(url_for("auth.login"))


@bp.get("/join")
def join():
    """The page a flyer's QR code opens; the code is filled in from the URL."""
    return render_template("auth/join.html", form={"code": request.args.get("code", "")})


@bp.post("/join")
@limiter.limit(_login_limit, methods=["POST"])
def join_submit():
    form = request.form.to_dict()
    try:
        if current_user.is_authenticated:
            membership = services.redeem_invite(
                user=current_user, code=text("code"), household_name=text("household_name"),
                household_code=text("household_code"))
        else:
            membership = services.register(
                code=text("code"), display_name=text("display_name"), login_id=text("login_id"),
                email=text("email"), password=text("password"),
                household_name=text("household_name"), household_code=text("household_code"))
    except ValidationFailed as error:
        form.pop("password", None)
        return render_template("auth/join.html", form=form, error=error), 400
    if not current_user.is_authenticated:
        login_user(membership.user, remember=True)
    flash(_("ようこそ！%(name)sに参加しました。", name=membership.association.name), "success")
    return redirect(url_for("circulars.inbox", association_id=membership.association_id))


@bp.get("/account/household")
@login_required
def household_code():
    """Shows the household code so family members can join the same household."""
    from ..associations.services import associations_of

    return render_template("auth/household.html", memberships=associations_of(current_user))

"""chounaikai: a digital neighborhood association (デジタル町内会)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import database, errors, i18n, live, memberpages, security
from .config import build_config
from .extensions import csrf, db, limiter, login_manager, migrate
from .replay import ReplayPages

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application.  ``config`` overrides settings (tests pass theirs here)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(build_config(Path(app.instance_path), config))
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    _init_login(app)
    i18n.init_app(app)
    database.init_app(app)
    memberpages.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.url_value_preprocessor(_refuse_impossible_ids)
    _register_blueprints(app)
    # Socket.IO (app.extensions["socketio"]), GET /live/events, `flask live prune`.
    live.init_app(app)
    _register_template_helpers(app)
    # Cached public pages go back to anonymous visitors before Flask runs, and members'
    # unchanged inbox and circular pages to the same session.
    app.wsgi_app = ReplayPages(  # type: ignore[method-assign]
        app.wsgi_app, member_entries=app.config["REPLAY_MEMBER_ENTRIES"])
    if app.config["PROXY_HOPS"]:
        # Outermost, so the replay key sees the visitor's scheme and host.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    from .cli import register_cli

    register_cli(app)
    return app


def _refuse_impossible_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An id beyond the integer columns cannot exist: a 404 before any query fails on it.

    (A converter ``max`` would do, but werkzeug then answers 405 when another
    method's rule shares the path.)
    """
    from werkzeug.exceptions import NotFound

    from .models import MAX_ID

    if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
        raise NotFound()


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from .auth.sessions import load_user

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("このページを見るにはログインしてください。")
    login_manager.user_loader(load_user)


def _register_blueprints(app: Flask) -> None:
    from .alerts.cap_routes import bp as cap_bp
    from .alerts.routes import bp as alerts_bp
    from .api import bp as api_bp
    from .associations.routes import bp as associations_bp
    from .auth.routes import bp as auth_bp
    from .circulars.routes import bp as circulars_bp
    from .main.routes import bp as main_bp
    from .portal.routes import bp as portal_bp
    from .push import routes as push_routes
    from .safety.routes import bp as safety_bp
    from .shelters.routes import bp as shelters_bp
    from .staff.routes import bp as staff_bp

    for blueprint in (main_bp, auth_bp, associations_bp, circulars_bp, staff_bp, api_bp,
                      alerts_bp, cap_bp, shelters_bp, safety_bp, portal_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(push_routes.bp)


def _register_template_helpers(app: Flask) -> None:
    from . import permissions
    from .alerts.banners import alert_banners
    from .formatting import register_filters

    register_filters(app)

    @app.context_processor
    def _locale_context() -> dict[str, Any]:
        from .models import utcnow

        language = i18n.current_language()
        return {"language": language, "html_lang": language.html, "now_utc": utcnow()}

    app.jinja_env.globals.update(
        can_lead=permissions.can_lead,
        can_see_block=permissions.can_see_block,
        languages=i18n.LANGUAGES,
        alert_banners=alert_banners,
    )

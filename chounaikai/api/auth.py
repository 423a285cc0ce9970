"""Bearer-token authentication for the API blueprint.

The API never reads the session cookie: every request's user comes from the
``Authorization: Bearer`` header alone, which is why the blueprint may be
exempt from CSRF.  Routes need a valid token unless marked :func:`public`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, current_app, g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete

from ..auth.sessions import token_digest, user_for_token
from ..errors import DomainError
from ..extensions import db, login_manager
from ..models import ApiToken, User

F = TypeVar("F", bound=Callable[..., Any])
MAX_TOKEN_LENGTH = 256


class Unauthorized(DomainError):
    """No valid bearer token (401); the response carries ``WWW-Authenticate``."""

    status = 401
    code = "unauthorized"
    default_message = _l("APIトークンが必要です。Authorization: Bearer ヘッダーを付けてください。")


class InvalidToken(Unauthorized):
    code = "invalid_token"
    default_message = _l("APIトークンが無効です。もう一度トークンを発行してください。")


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    default_message = _l("ログインIDかパスワードが違います。")


def public(view: F) -> F:
    """Mark a view that needs no token (token issue, registration, the OpenAPI document)."""
    view.api_public = True  # type: ignore[attr-defined]
    return view


def _bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def authenticate_request() -> None:
    """Set the request's user from its bearer token only; the session cookie is ignored.

    Raises Unauthorized (no token) or InvalidToken on a non-public view.
    """
    token = _bearer_token()
    user = None
    if token is not None and len(token) <= MAX_TOKEN_LENGTH:
        user = user_for_token(token)
    g.api_token = token if user is not None else None
    g.api_token_sent = token is not None
    # Flask-Login's own hook for "the user of this request": current_user becomes the
    # token's user (or anonymous) and is never loaded from the cookie.
    login_manager._update_request_context_with_user(user)
    view = current_app.view_functions.get(request.endpoint or "")
    if user is None and not getattr(view, "api_public", False):
        raise InvalidToken() if token is not None else Unauthorized()


def current_api_user() -> User:
    """The authenticated user of this request (only called from protected views)."""
    user = g.get("_login_user")
    if not isinstance(user, User):
        raise Unauthorized()
    return cast(User, user)


def finish_response(response: Response) -> Response:
    """401 gets ``WWW-Authenticate: Bearer``; personal data is never cached."""
    if response.status_code == 401:
        value = 'Bearer realm="chounaikai"'
        if g.get("api_token_sent"):
            value += ', error="invalid_token"'
        response.headers["WWW-Authenticate"] = value
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def revoke_current_token() -> None:
    """Delete the token this request was authenticated with."""
    token = g.get("api_token")
    if not token:
        raise Unauthorized()
    db.session.execute(delete(ApiToken).where(ApiToken.token_hash == token_digest(token)))


def login_limit() -> str:
    """The same limit as the web login form, for token issue and registration."""
    return current_app.config["LOGIN_RATE_LIMIT"]



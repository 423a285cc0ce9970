"""Session and token look-ups for Flask-Login and the API."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, select

from ..extensions import db
from ..models import ApiToken, User

# Every logged-in request runs this: built once (cheaper than Session.get's identity-map
# path for a request that starts with an empty session anyway).
_USER = select(User).where(User.id == bindparam("id"))


def load_user(session_id: str) -> User | None:
    """Flask-Login loader: ``"<id>:<session_version>"``; stale versions log out."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.execute(_USER, {"id": int(user_id)}).scalar_one_or_none()
    if user is None or user.session_version != int(version):
        return None
    return user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(*, user: User, name: str) -> str:
    """Create an API token and return it; only its digest is stored."""
    token = "cnk_" + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_digest(token),
            name=name[:80],
            session_version=user.session_version,
        )
    )
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    """The user a bearer token belongs to, if it is still valid."""
    row = db.session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    return user if api_token.session_version == user.session_version else None

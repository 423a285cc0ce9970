"""Tokens, registration with an invite code, and the caller's own profile."""

from __future__ import annotations

from flask import Response

from ..auth import services as auth_services
from ..auth.sessions import issue_token
from ..database import reads_first, start_writing
from ..extensions import limiter
from ..models import Membership, User
from . import bp, queries, serialize
from .auth import InvalidCredentials, current_api_user, login_limit, public, revoke_current_token
from .schemas import Fields, body_fields

MAX_PASSWORD = 1024
DEFAULT_CLIENT_NAME = "api"


def _token_name(fields: Fields) -> str:
    return fields.string("token_name", max_length=80, required=False) or DEFAULT_CLIENT_NAME


def _token_response(user: User, token: str, status: int = 201, **extra) -> tuple[dict, int]:
    body = {"token": token, "token_type": "Bearer",
            "user": {"id": user.id, "display_name": user.display_name}, **extra}
    return body, status


@bp.post("/tokens")
@reads_first
@public
@limiter.limit(login_limit, methods=["POST"])
def create_token():
    """Exchange login id (or e-mail) and password for a bearer token."""
    fields = body_fields(("login", "password", "token_name"))
    login = fields.string("login", max_length=254)
    password = fields.string("password", max_length=MAX_PASSWORD)
    name = _token_name(fields)
    fields.done()
    user = auth_services.authenticate(login=login, password=password)
    if user is None:
        raise InvalidCredentials()
    start_writing()
    auth_services.upgrade_hash(user, password)
    return _token_response(user, issue_token(user=user, name=name))


@bp.delete("/tokens/current")
def delete_token():
    """Revoke the token this request was made with."""
    revoke_current_token()
    return Response(status=204)


def _household_choice(fields: Fields) -> dict[str, str]:
    return {"household_name": fields.string("household_name", max_length=80, required=False),
            "household_code": fields.string("household_code", max_length=32, required=False)}


@bp.post("/register")
@public
@limiter.limit(login_limit, methods=["POST"])
def register():
    """Create an account and its membership from an invite code; returns a token.

    Only types and lengths are checked here; the service says what is missing
    (a bad invite code first) so web and API give the same messages.
    """
    fields = body_fields(("code", "display_name", "login_id", "email", "password",
                          "household_name", "household_code", "token_name"))
    values = {
        "code": fields.string("code", max_length=64, required=False),
        "display_name": fields.string("display_name", max_length=80, required=False),
        "login_id": fields.string("login_id", max_length=64, required=False),
        "email": fields.string("email", max_length=254, required=False),
        "password": fields.string("password", max_length=MAX_PASSWORD, required=False),
        **_household_choice(fields),
    }
    name = _token_name(fields)
    fields.done()
    membership = auth_services.register(**values)
    token = issue_token(user=membership.user, name=name)
    return _token_response(membership.user, token,
                           membership=serialize.own_membership(membership))


@bp.post("/invites/redeem")
@limiter.limit(login_limit, methods=["POST"])
def redeem_invite():
    """Join another association (or a household in it) with an invite code."""
    fields = body_fields(("code", "household_name", "household_code"))
    code = fields.string("code", max_length=64)
    choice = _household_choice(fields)
    fields.done()
    membership: Membership = auth_services.redeem_invite(user=current_api_user(), code=code,
                                                         **choice)
    return serialize.own_membership(membership), 201


@bp.get("/me")
def me():
    """The caller's profile and memberships (with the household code)."""
    user = current_api_user()
    return serialize.me(user, queries.memberships(user))

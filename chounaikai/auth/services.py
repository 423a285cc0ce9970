"""Log-in and registration with invite codes."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from ..codes import new_code, normalize_code
from ..errors import ValidationFailed
from ..extensions import db
from ..models import Household, Invite, Membership, User, utcnow
from .passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password


def authenticate(*, login: str, password: str) -> User | None:
    """The user whose login id or e-mail and password match, else None.  Reads only:
    views call it from :func:`~chounaikai.database.reads_first`, so argon2 runs outside
    SQLite's write lock, and then :func:`upgrade_hash` once they have started writing."""
    login = login.strip()
    user = db.session.scalar(
        select(User).where(or_(User.login_id == login, User.email == login.lower()))
    )
    if not verify_password(user.password_hash if user else None, password):
        return None
    return user


def upgrade_hash(user: User, password: str) -> None:
    """After a log-in: re-hash a password stored with older argon2 parameters (rare)."""
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)


def _already_used() -> ValidationFailed:
    return ValidationFailed(
        _("この招待コードはすでに使われています。役員に新しいコードをお願いしてください。"),
        fields={"code": _("使用済みです")})


def find_invite(code: str, *, now: datetime | None = None) -> Invite:
    """A usable invite for ``code``, or ValidationFailed saying why not."""
    now = now or utcnow()
    invite = db.session.scalar(select(Invite).where(Invite.code == normalize_code(code)))
    if invite is None or invite.revoked_at is not None:
        raise ValidationFailed(_("この招待コードは使えません。チラシのコードを確かめてください。"),
                               fields={"code": _("このコードはありません")})
    if invite.expires_at <= now:
        raise ValidationFailed(
            _("この招待コードは期限が切れています。役員に新しいコードをお願いしてください。"),
            fields={"code": _("期限切れです")})
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise _already_used()
    return invite


def _consume(invite: Invite) -> None:
    """Count one use atomically so two people cannot share a single-use code."""
    stmt = update(Invite).where(Invite.id == invite.id)
    if invite.max_uses is not None:
        stmt = stmt.where(Invite.uses < Invite.max_uses)
    if db.session.execute(stmt.values(uses=Invite.uses + 1)).rowcount != 1:
        raise _already_used()


def _household_for(invite: Invite, *, household_name: str, household_code: str) -> Household:
    if household_code.strip():
        household = db.session.scalar(
            select(Household).where(
                Household.join_code == normalize_code(household_code),
                Household.association_id == invite.association_id,
            )
        )
        if household is None:
            raise ValidationFailed(_("この世帯コードの世帯はありません。"),
                                   fields={"household_code": _("この世帯コードはありません")})
        return household
    name = household_name.strip()
    if not name:
        raise ValidationFailed(_("世帯の名前か、家族から聞いた世帯コードを入れてください。"),
                               fields={"household_name": _("入力してください")})
    household = Household(association_id=invite.association_id, block_id=invite.block_id,
                          name=name[:80], join_code=new_code(8))
    db.session.add(household)
    return household


def redeem_invite(*, user: User, code: str, household_name: str = "",
                  household_code: str = "") -> Membership:
    """Make ``user`` a member through an invite; raises ValidationFailed."""
    invite = find_invite(code)
    if db.session.scalar(select(Membership.id).where(
            Membership.user_id == user.id, Membership.association_id == invite.association_id)):
        raise ValidationFailed(_("すでにこの町内会の会員です。"))
    household = _household_for(invite, household_name=household_name,
                               household_code=household_code)
    _consume(invite)
    membership = Membership(user=user, association_id=invite.association_id,
                            household=household, role=invite.role)
    db.session.add(membership)
    db.session.flush()
    return membership


def register(*, code: str, display_name: str, login_id: str, email: str, password: str,
             household_name: str = "", household_code: str = "") -> Membership:
    """Create an account and its membership in one step; raises ValidationFailed."""
    # argon2 (~0.1 s) before the first query: on SQLite a POST's first query takes the
    # single write lock, and every other writer would wait for the hash.
    password_hash = hash_password(password) if len(password) >= MIN_PASSWORD_LENGTH else ""
    find_invite(code)  # a bad code is the first thing to tell people
    errors: dict[str, str] = {}
    login_id = login_id.strip()
    email = email.strip().lower()
    if not display_name.strip():
        errors["display_name"] = _("入力してください")
    if not (3 <= len(login_id) <= 64):
        errors["login_id"] = _("3文字以上64文字以下にしてください。")
    if len(email) > 254:
        errors["email"] = _("%(n)d文字以内にしてください。", n=254)
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = _("%(n)d文字以上にしてください。", n=MIN_PASSWORD_LENGTH)
    if login_id and db.session.scalar(select(User.id).where(
            or_(User.login_id == login_id, User.email == login_id.lower()))):
        errors["login_id"] = _("このログインIDはすでに使われています。")
    if email and db.session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = _("このメールアドレスはすでに登録されています。")
    if errors:
        raise ValidationFailed(fields=errors)
    user = User(login_id=login_id, email=email or None, display_name=display_name.strip()[:80],
                password_hash=password_hash)
    db.session.add(user)
    db.session.flush()
    return redeem_invite(user=user, code=code, household_name=household_name,
                         household_code=household_code)

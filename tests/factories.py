"""Build committed test data quickly.

Passwords are hashed once per run: argon2id is deliberately slow, and tests
that create hundreds of members should not pay for it each time.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from chounaikai.auth.passwords import hash_password
from chounaikai.auth.sessions import token_digest
from chounaikai.circulars.rendering import render_markdown
from chounaikai.codes import new_code
from chounaikai.models import (
    ApiToken,
    Association,
    Block,
    Circular,
    CircularTranslation,
    GlobalRole,
    Household,
    Invite,
    MemberRole,
    Membership,
    Shelter,
    User,
    utcnow,
)

PASSWORD = "correct horse battery"
_HASH: str | None = None
_seq = itertools.count(1)


def password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    return _HASH


class Factory:
    """Each method adds rows in its own short session, commits, and returns the object.

    Objects come back detached with their attributes loaded, so a test can hold
    them while the app serves requests in its own app context; nothing here
    keeps an app context (or a database lock) open during a test.
    """

    def __init__(self, engine: Engine):
        self._engine = engine

    def _save(self, *objects: object) -> None:
        with Session(self._engine, expire_on_commit=False) as session:
            session.add_all(objects)
            session.commit()

    def user(self, *, login_id: str | None = None, role: GlobalRole = GlobalRole.NONE,
             name: str | None = None, locale: str | None = None) -> User:
        n = next(_seq)
        user = User(login_id=login_id or f"user{n}", display_name=name or f"住民{n}",
                    email=f"user{n}@example.test", password_hash=password_hash(),
                    global_role=role, locale=locale)
        self._save(user)
        return user

    def association(self, *, name: str | None = None, blocks: tuple[str, ...] = ("1班", "2班"),
                    district: str = "原町田") -> Association:
        association = Association(name=name or f"町内会{next(_seq)}", district=district)
        association.blocks = [Block(name=b) for b in blocks]
        self._save(association)
        return association

    def household(self, association: Association, *, block: Block | None = None,
                  name: str | None = None, has_smartphone: bool = True) -> Household:
        household = Household(association_id=association.id, block=block,
                              name=name or f"世帯{next(_seq)}", join_code=new_code(8),
                              has_smartphone=has_smartphone)
        self._save(household)
        return household

    def member(self, association: Association, *, role: MemberRole = MemberRole.RESIDENT,
               block: Block | None = None, household: Household | None = None,
               user: User | None = None) -> Membership:
        """A user in a household of ``association`` (a new one in ``block`` unless given)."""
        if household is None:
            block = block if block is not None else association.blocks[0]
            household = self.household(association, block=block)
        membership = Membership(user=user or self.user(), association_id=association.id,
                                household=household, role=role)
        self._save(membership)
        return membership

    def circular(self, association: Association, *, title: str = "防災訓練のお知らせ",
                 body: str = "日曜日の9時から訓練です。", blocks: list[Block] | None = None,
                 publish_at: datetime | None = None, ack_required: bool = False,
                 author: User | None = None) -> Circular:
        circular = Circular(association_id=association.id, title=title, body_md=body,
                            body_html=render_markdown(body), audience_all=blocks is None,
                            blocks=blocks or [], publish_at=publish_at or utcnow(),
                            ack_required=ack_required, author_id=author.id if author else None)
        self._save(circular)
        return circular

    def translation(self, circular: Circular, language: str, title: str,
                    body: str) -> CircularTranslation:
        translation = CircularTranslation(circular_id=circular.id, language=language,
                                          title=title, body_md=body,
                                          body_html=render_markdown(body))
        self._save(translation)
        return translation

    def shelter(self, name: str = "つくし野小学校", **fields) -> Shelter:
        n = next(_seq)
        values = {"source_key": f"test:{n}", "name": name, "address": f"町田市つくし野{n}",
                  "district": "つくし野", "latitude": 35.52, "longitude": 139.48,
                  "is_evacuation_shelter": True, "hazards": ["flood", "earthquake"],
                  "capacity": 480, **fields}
        shelter = Shelter(**values)
        self._save(shelter)
        return shelter

    def invite(self, association: Association, *, role: MemberRole = MemberRole.RESIDENT,
               block: Block | None = None, max_uses: int | None = 1,
               expires_in: timedelta = timedelta(days=7)) -> Invite:
        invite = Invite(association_id=association.id, block=block, role=role,
                        code=new_code(10), max_uses=max_uses, expires_at=utcnow() + expires_in)
        self._save(invite)
        return invite

    def bulk_members(self, association: Association, count: int, *, per_household: int = 1,
                     role: MemberRole = MemberRole.RESIDENT) -> list[tuple[int, str]]:
        """``count`` members spread over the blocks, ``per_household`` to a household,
        each with an API token; returns ``(user_id, token)`` pairs.

        A few bulk INSERTs instead of one session per row, for tests with hundreds.
        """
        tag = secrets.token_hex(3)
        blocks = association.blocks
        households = -(-count // per_household)
        with Session(self._engine) as db:
            household_ids = list(db.scalars(
                insert(Household).returning(Household.id, sort_by_parameter_order=True),
                [{"association_id": association.id, "block_id": blocks[i % len(blocks)].id,
                  "name": f"世帯{tag}-{i}", "join_code": new_code(12), "has_smartphone": True}
                 for i in range(households)]))
            user_ids = list(db.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [{"login_id": f"b{tag}-{i}", "display_name": f"住民{i}",
                  "email": f"b{tag}-{i}@example.test", "password_hash": password_hash(),
                  "global_role": GlobalRole.NONE, "session_version": 1}
                 for i in range(count)]))
            db.execute(insert(Membership), [
                {"user_id": uid, "association_id": association.id,
                 "household_id": household_ids[i // per_household], "role": role}
                for i, uid in enumerate(user_ids)])
            tokens = ["cnk_" + secrets.token_urlsafe(32) for _ in user_ids]
            db.execute(insert(ApiToken), [
                {"user_id": uid, "token_hash": token_digest(tok), "name": "bulk",
                 "session_version": 1} for uid, tok in zip(user_ids, tokens, strict=True)])
            db.commit()
        return list(zip(user_ids, tokens, strict=True))

    def token(self, user: User, name: str = "test") -> str:
        """An API token for ``user`` (stored as its digest, as the app does)."""
        token = "cnk_" + secrets.token_urlsafe(32)
        self._save(ApiToken(user_id=user.id, token_hash=token_digest(token), name=name,
                            session_version=user.session_version))
        return token

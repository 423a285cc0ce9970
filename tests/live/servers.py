"""Bulk test data for the live tests (server processes: :mod:`tests.servers`)."""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from chounaikai.auth.sessions import token_digest
from chounaikai.codes import new_code
from chounaikai.models import ApiToken, GlobalRole, Household, MemberRole, Membership, User
from tests.factories import password_hash


def bulk_residents(engine: Engine, association, count: int,
                   role: MemberRole = MemberRole.RESIDENT) -> list[tuple[int, str]]:
    """``count`` members, one household each across the blocks, with an API token each.

    Returns ``(user_id, token)`` pairs (a few statements, not one session per row).
    """
    tag = secrets.token_hex(3)
    blocks = association.blocks
    with Session(engine) as db:
        household_ids = list(db.scalars(
            insert(Household).returning(Household.id, sort_by_parameter_order=True),
            [{"association_id": association.id, "block_id": blocks[i % len(blocks)].id,
              "name": f"世帯{tag}-{i}", "join_code": new_code(12), "has_smartphone": True}
             for i in range(count)]))
        user_ids = list(db.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [{"login_id": f"l{tag}-{i}", "display_name": f"住民{i}",
              "email": f"l{tag}-{i}@example.test", "password_hash": password_hash(),
              "global_role": GlobalRole.NONE, "session_version": 1} for i in range(count)]))
        db.execute(insert(Membership), [
            {"user_id": uid, "association_id": association.id, "household_id": hid,
             "role": role} for uid, hid in zip(user_ids, household_ids, strict=True)])
        tokens = ["cnk_" + secrets.token_urlsafe(32) for _ in user_ids]
        db.execute(insert(ApiToken), [
            {"user_id": uid, "token_hash": token_digest(tok), "name": "live-test",
             "session_version": 1} for uid, tok in zip(user_ids, tokens, strict=True)])
        db.commit()
    return list(zip(user_ids, tokens, strict=True))

"""Read-only queries the API needs and no service offers; each checks permission first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Block, Circular, Household, MemberRole, Membership, User
from ..permissions import require_member, require_role


def load_summaries(circulars: list[Circular]) -> None:
    """Load the blocks and attachments a list of circular summaries shows, two queries in
    all instead of two per circular (the circulars were already loaded by a service)."""
    if circulars:
        list(db.session.scalars(
            select(Circular).where(Circular.id.in_([c.id for c in circulars]))
            .options(selectinload(Circular.blocks), selectinload(Circular.attachments))))


def memberships(user: User) -> list[Membership]:
    """The user's memberships with association and household loaded."""
    return list(db.session.scalars(
        select(Membership).where(Membership.user_id == user.id)
        .options(selectinload(Membership.association), selectinload(Membership.household))
        .order_by(Membership.id)))


def blocks(*, actor: User, association_id: int) -> list[Block]:
    """Blocks of an association, for any member.  Raises NotFound for non-members."""
    require_member(actor, association_id)
    return list(db.session.scalars(
        select(Block).where(Block.association_id == association_id).order_by(Block.name)))


def households(*, actor: User, association_id: int) -> list[Household]:
    """Households of an association, for leaders.

    Raises NotFound for non-members and PermissionDenied for lower roles.
    """
    require_role(actor, association_id, MemberRole.LEADER)
    return list(db.session.scalars(
        select(Household).where(Household.association_id == association_id)
        .order_by(Household.block_id, Household.name, Household.id)))


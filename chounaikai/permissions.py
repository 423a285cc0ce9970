"""Who may do what: pure predicates plus ``require_*`` helpers that raise.

Rules are checked per association: a person may lead one association and be
a plain resident of another.  Anyone who is not a member of an association
gets :class:`NotFound` for its objects (we do not confirm they exist); a
member whose role is too low gets :class:`PermissionDenied`.
"""

from __future__ import annotations

from sqlalchemy import select

from .errors import NotFound, PermissionDenied
from .extensions import db
from .models import Circular, MemberRole, Membership, User

_ROLE_RANK = {MemberRole.RESIDENT: 0, MemberRole.BLOCK_LEADER: 1, MemberRole.LEADER: 2}


def membership_of(user: User | None, association_id: int) -> Membership | None:
    """The user's membership of the association, read fresh so a removal counts at once."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.association_id == association_id
        )
    )


def role_at_least(held: MemberRole, role: MemberRole) -> bool:
    return _ROLE_RANK[held] >= _ROLE_RANK[role]


def has_role(membership: Membership | None, role: MemberRole) -> bool:
    """True when the membership's role is ``role`` or higher."""
    return membership is not None and role_at_least(membership.role, role)


def can_lead(user: User, association_id: int) -> bool:
    return has_role(membership_of(user, association_id), MemberRole.LEADER)


def can_see_block(user: User, association_id: int, block_id: int | None) -> bool:
    """Leaders see every block; a block leader sees their own block."""
    membership = membership_of(user, association_id)
    if has_role(membership, MemberRole.LEADER):
        return True
    return (
        membership is not None
        and membership.role == MemberRole.BLOCK_LEADER
        and block_id is not None
        and membership.block_id == block_id
    )


def circular_reaches(circular: Circular, membership: Membership) -> bool:
    """Whether the member is in the circular's audience."""
    if circular.audience_all:
        return True
    return membership.block_id in {block.id for block in circular.blocks}


def require_member(user: User, association_id: int) -> Membership:
    """Return the membership or raise NotFound."""
    membership = membership_of(user, association_id)
    if membership is None:
        raise NotFound()
    return membership


def require_role(user: User, association_id: int, role: MemberRole) -> Membership:
    """Return the membership when its role is at least ``role``.

    Raises NotFound for non-members and PermissionDenied for lower roles.
    """
    membership = require_member(user, association_id)
    if not has_role(membership, role):
        raise PermissionDenied()
    return membership


def require_staff(user: User) -> None:
    """City staff or administrators only."""
    if not getattr(user, "is_authenticated", False) or not user.is_staff:
        raise PermissionDenied()

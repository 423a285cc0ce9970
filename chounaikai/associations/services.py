"""Use cases for associations, blocks, households, members and invites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import audit
from ..codes import new_code
from ..errors import Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..models import (
    Association,
    Block,
    Household,
    Invite,
    MemberRole,
    Membership,
    User,
    utcnow,
)
from ..permissions import require_role, require_staff


def create_association(*, actor: User, name: str, district: str) -> Association:
    """Staff create an association; they then issue its first leader invite."""
    require_staff(actor)
    errors = {}
    if not name.strip():
        errors["name"] = _("入力してください")
    if not district.strip():
        errors["district"] = _("入力してください")
    if errors:
        raise ValidationFailed(fields=errors)
    association = Association(name=name.strip()[:120], district=district.strip()[:80])
    db.session.add(association)
    db.session.flush()
    audit.record(actor=actor, action="association.create", association_id=association.id)
    return association


def get_association(association_id: int) -> Association:
    association = db.session.get(Association, association_id)
    if association is None:
        raise NotFound()
    return association


def _block_in(association_id: int, block_id: int | None) -> Block | None:
    if block_id is None:
        return None
    block = db.session.get(Block, block_id)
    if block is None or block.association_id != association_id:
        raise ValidationFailed(fields={"block_id": _("この班はありません")})
    return block


def create_block(*, actor: User, association_id: int, name: str) -> Block:
    require_role(actor, association_id, MemberRole.LEADER)
    name = name.strip()[:60]
    if not name:
        raise ValidationFailed(fields={"name": _("入力してください")})
    if db.session.scalar(select(Block.id).where(Block.association_id == association_id,
                                                Block.name == name)):
        raise ValidationFailed(fields={"name": _("同じ名前の班がすでにあります。")})
    block = Block(association_id=association_id, name=name)
    db.session.add(block)
    db.session.flush()
    return block


def delete_block(*, actor: User, block_id: int) -> int:
    """Remove an empty block and return its association's id.

    Raises Conflict while households are still in the block.
    """
    block = db.session.get(Block, block_id)
    if block is None:
        raise NotFound()
    require_role(actor, block.association_id, MemberRole.LEADER)
    if block.households:
        raise Conflict(_("先にこの班の世帯を別の班へ移してください。"))
    db.session.delete(block)
    return block.association_id


def create_household(*, actor: User, association_id: int, name: str, block_id: int | None,
                     has_smartphone: bool) -> Household:
    """Leaders add households, e.g. paper households whose reads they record."""
    require_role(actor, association_id, MemberRole.LEADER)
    if not name.strip():
        raise ValidationFailed(fields={"name": _("入力してください")})
    block = _block_in(association_id, block_id)
    household = Household(association_id=association_id, block=block, name=name.strip()[:80],
                          join_code=new_code(8), has_smartphone=has_smartphone)
    db.session.add(household)
    db.session.flush()
    return household


def move_household(*, actor: User, household_id: int, block_id: int | None) -> Household:
    household = db.session.get(Household, household_id)
    if household is None:
        raise NotFound()
    require_role(actor, household.association_id, MemberRole.LEADER)
    household.block = _block_in(household.association_id, block_id)
    db.session.flush()
    return household


def _member(membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        raise NotFound()
    return membership


def _leader_count(association_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.association_id == association_id, Membership.role == MemberRole.LEADER)) or 0


def change_role(*, actor: User, membership_id: int, role: MemberRole) -> Membership:
    membership = _member(membership_id)
    require_role(actor, membership.association_id, MemberRole.LEADER)
    if (membership.role == MemberRole.LEADER and role != MemberRole.LEADER
            and _leader_count(membership.association_id) <= 1):
        raise Conflict(_("会長（役員）が1人以上必要です。"))
    membership.role = role
    audit.record(actor=actor, action="member.role", association_id=membership.association_id,
                 target_type="membership", target_id=membership.id, detail={"role": role.value})
    return membership


def remove_member(*, actor: User, membership_id: int) -> int:
    """Remove a member, end all their sessions and API tokens at once; return the association id."""
    membership = _member(membership_id)
    require_role(actor, membership.association_id, MemberRole.LEADER)
    if membership.role == MemberRole.LEADER and _leader_count(membership.association_id) <= 1:
        raise Conflict(_("会長（役員）が1人以上必要です。"))
    membership.user.session_version += 1
    audit.record(actor=actor, action="member.remove", association_id=membership.association_id,
                 target_type="user", target_id=membership.user_id)
    db.session.delete(membership)
    return membership.association_id


@dataclass(frozen=True)
class Roster:
    association: Association
    blocks: list[Block]
    households: list[Household]


def roster(*, actor: User, association_id: int) -> Roster:
    """Households and members for leaders; the view is audit-logged."""
    require_role(actor, association_id, MemberRole.LEADER)
    association = get_association(association_id)
    households = list(db.session.scalars(
        select(Household).where(Household.association_id == association_id)
        .options(selectinload(Household.members).selectinload(Membership.user))
        .order_by(Household.block_id, Household.name)))
    audit.record(actor=actor, action="roster.view", association_id=association_id)
    return Roster(association, list(association.blocks), households)


def create_invite(*, actor: User, association_id: int, role: MemberRole, block_id: int | None,
                  max_uses: int | None, valid_days: int) -> Invite:
    """Leaders invite anyone; staff may only invite an association's leaders."""
    if actor.is_staff and role == MemberRole.LEADER:
        get_association(association_id)
    else:
        require_role(actor, association_id, MemberRole.LEADER)
    if max_uses is not None and not 1 <= max_uses <= 1000:
        raise ValidationFailed(fields={"max_uses": _("1から1000までの数字にしてください。")})
    if not 1 <= valid_days <= 365:
        raise ValidationFailed(fields={"valid_days": _("1から365までの数字にしてください。")})
    invite = Invite(association_id=association_id, block=_block_in(association_id, block_id),
                    role=role, code=new_code(10), max_uses=max_uses, created_by_id=actor.id,
                    expires_at=utcnow() + timedelta(days=valid_days))
    db.session.add(invite)
    db.session.flush()
    return invite


def get_invite(*, actor: User, invite_id: int) -> Invite:
    invite = db.session.get(Invite, invite_id)
    if invite is None:
        raise NotFound()
    if not (actor.is_staff and invite.role == MemberRole.LEADER):
        require_role(actor, invite.association_id, MemberRole.LEADER)
    return invite


def list_invites(*, actor: User, association_id: int) -> list[Invite]:
    require_role(actor, association_id, MemberRole.LEADER)
    return list(db.session.scalars(select(Invite).where(Invite.association_id == association_id)
                                   .order_by(Invite.created_at.desc())))


def revoke_invite(*, actor: User, invite_id: int) -> Invite:
    invite = get_invite(actor=actor, invite_id=invite_id)
    invite.revoked_at = invite.revoked_at or utcnow()
    return invite


def associations_of(user: User) -> list[Membership]:
    """The user's memberships, for the home page's association picker."""
    return list(db.session.scalars(
        select(Membership).where(Membership.user_id == user.id)
        .options(selectinload(Membership.association)).order_by(Membership.id)))


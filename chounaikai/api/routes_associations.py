"""Associations, blocks, households, members, invites and the staff counts."""

from __future__ import annotations

import segno
from flask import Response, url_for

from ..associations import services
from ..database import writes_on_get
from ..models import MemberRole
from ..staff import services as staff_services
from . import bp, queries, serialize
from .auth import current_api_user
from .schemas import body_fields


def _no_content() -> Response:
    return Response(status=204)


# -- associations -------------------------------------------------------------

@bp.get("/associations")
def list_associations():
    """Associations the caller is a member of, with their role there."""
    return {"items": [{**serialize.association(m.association), "role": m.role.value}
                      for m in queries.memberships(current_api_user())]}


@bp.post("/associations")
def create_association():
    """City staff register an association."""
    fields = body_fields(("name", "district"))
    name = fields.string("name", max_length=120)
    district = fields.string("district", max_length=80)
    fields.done()
    association = services.create_association(actor=current_api_user(), name=name,
                                              district=district)
    return serialize.association(association), 201


@bp.get("/staff/associations")
@writes_on_get
def staff_counts():
    """City staff: aggregate counts per association (audit-logged)."""
    rows = staff_services.association_counts(actor=current_api_user())
    return {"items": [serialize.counts(row) for row in rows]}


# -- blocks -------------------------------------------------------------------

@bp.get("/associations/<int:association_id>/blocks")
def list_blocks(association_id: int):
    items = queries.blocks(actor=current_api_user(), association_id=association_id)
    return {"items": [serialize.block(b) for b in items]}


@bp.post("/associations/<int:association_id>/blocks")
def create_block(association_id: int):
    fields = body_fields(("name",))
    name = fields.string("name", max_length=60)
    fields.done()
    block = services.create_block(actor=current_api_user(), association_id=association_id,
                                  name=name)
    return serialize.block(block), 201


@bp.delete("/blocks/<int:block_id>")
def delete_block(block_id: int):
    services.delete_block(actor=current_api_user(), block_id=block_id)
    return _no_content()


# -- households ---------------------------------------------------------------

@bp.get("/associations/<int:association_id>/households")
def list_households(association_id: int):
    items = queries.households(actor=current_api_user(), association_id=association_id)
    return {"items": [serialize.household(h) for h in items]}


@bp.post("/associations/<int:association_id>/households")
def create_household(association_id: int):
    fields = body_fields(("name", "block_id", "has_smartphone"))
    name = fields.string("name", max_length=80)
    block_id = fields.integer("block_id")
    has_smartphone = fields.boolean("has_smartphone", default=False)
    fields.done()
    household = services.create_household(
        actor=current_api_user(), association_id=association_id, name=name, block_id=block_id,
        has_smartphone=has_smartphone)
    return serialize.household(household), 201


@bp.put("/households/<int:household_id>/block")
def move_household(household_id: int):
    """Move a household to another block (``block_id`` null: no block)."""
    fields = body_fields(("block_id",))
    fields.require("block_id")
    block_id = fields.integer("block_id")
    fields.done()
    household = services.move_household(actor=current_api_user(), household_id=household_id,
                                        block_id=block_id)
    return serialize.household(household)


# -- members ------------------------------------------------------------------

@bp.get("/associations/<int:association_id>/members")
@writes_on_get
def list_members(association_id: int):
    """The roster for leaders: display name, role and household only (audit-logged)."""
    return serialize.roster(services.roster(actor=current_api_user(),
                                            association_id=association_id))


@bp.put("/members/<int:membership_id>/role")
def change_role(membership_id: int):
    fields = body_fields(("role",))
    fields.require("role")
    role = fields.choice("role", MemberRole, default=MemberRole.RESIDENT)
    fields.done()
    membership = services.change_role(actor=current_api_user(), membership_id=membership_id,
                                      role=role)
    return serialize.roster_member(membership)


@bp.delete("/members/<int:membership_id>")
def remove_member(membership_id: int):
    """Remove a member; their sessions and API tokens stop working at once."""
    services.remove_member(actor=current_api_user(), membership_id=membership_id)
    return _no_content()


# -- invites ------------------------------------------------------------------

@bp.get("/associations/<int:association_id>/invites")
def list_invites(association_id: int):
    items = services.list_invites(actor=current_api_user(), association_id=association_id)
    return {"items": [serialize.invite(i) for i in items]}


@bp.post("/associations/<int:association_id>/invites")
def create_invite(association_id: int):
    """Leaders invite anyone; city staff may invite an association's leaders."""
    fields = body_fields(("role", "block_id", "max_uses", "valid_days"), optional=True)
    role = fields.choice("role", MemberRole, default=MemberRole.RESIDENT)
    block_id = fields.integer("block_id")
    max_uses = fields.integer("max_uses", maximum=1000, default=None) if fields.present(
        "max_uses") else 1
    valid_days = fields.integer("valid_days", maximum=365, default=30)
    fields.done()
    invite = services.create_invite(
        actor=current_api_user(), association_id=association_id, role=role, block_id=block_id,
        max_uses=max_uses, valid_days=valid_days or 30)
    return serialize.invite(invite), 201


@bp.post("/invites/<int:invite_id>/revoke")
def revoke_invite(invite_id: int):
    invite = services.revoke_invite(actor=current_api_user(), invite_id=invite_id)
    return serialize.invite(invite)


@bp.get("/invites/<int:invite_id>/qr.svg")
def invite_qr(invite_id: int):
    """The invite's join URL as a QR code (SVG) for flyers."""
    invite = services.get_invite(actor=current_api_user(), invite_id=invite_id)
    join_url = url_for("auth.join", code=invite.code, _external=True)
    svg = segno.make(join_url, error="m").svg_inline(scale=8, dark="#000", light="#fff",
                                                     border=2)
    return Response(svg, mimetype="image/svg+xml")

"""Models to JSON-ready dicts.  Datetimes are ISO 8601 in UTC with an offset.

Other people's contact data (e-mail, login id) never leaves through these
functions: only :func:`me` shows them, and only the caller's own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import url_for

from ..associations.services import Roster
from ..circulars.receipts import BlockStatus, HouseholdStatus, StatusReport
from ..circulars.services import InboxItem, LeaderListItem
from ..models import (
    Association,
    Attachment,
    Block,
    Circular,
    CircularTranslation,
    Household,
    Invite,
    Membership,
    Receipt,
    User,
)
from ..staff.services import AssociationCounts

Json = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def association(item: Association) -> Json:
    return {"id": item.id, "name": item.name, "district": item.district}


def block(item: Block) -> Json:
    return {"id": item.id, "association_id": item.association_id, "name": item.name}


def household(item: Household) -> Json:
    return {"id": item.id, "association_id": item.association_id, "block_id": item.block_id,
            "name": item.name, "has_smartphone": item.has_smartphone}


def own_membership(item: Membership) -> Json:
    """The caller's own membership, with the household code family members join with."""
    return {
        "id": item.id,
        "association": association(item.association),
        "role": item.role.value,
        "household": {"id": item.household.id, "name": item.household.name,
                      "block_id": item.household.block_id,
                      "join_code": item.household.join_code},
        "joined_at": iso(item.joined_at),
    }


def me(user: User, memberships: list[Membership]) -> Json:
    return {
        "id": user.id,
        "login_id": user.login_id,
        "email": user.email,
        "display_name": user.display_name,
        "global_role": user.global_role.value,
        "is_staff": user.is_staff,
        "locale": user.locale,
        "large_text": user.large_text,
        "memberships": [own_membership(m) for m in memberships],
    }


def roster_member(item: Membership) -> Json:
    """A member as leaders see them: name, role and household only."""
    return {"id": item.id, "display_name": item.user.display_name, "role": item.role.value,
            "household": {"id": item.household.id, "name": item.household.name,
                          "block_id": item.household.block_id}}


def roster(item: Roster) -> Json:
    return {
        "association": association(item.association),
        "blocks": [block(b) for b in item.blocks],
        "members": [roster_member(m) for h in item.households for m in h.members],
    }


def invite(item: Invite) -> Json:
    return {
        "id": item.id, "association_id": item.association_id, "code": item.code,
        "role": item.role.value, "block_id": item.block_id, "max_uses": item.max_uses,
        "uses": item.uses, "expires_at": iso(item.expires_at),
        "revoked_at": iso(item.revoked_at), "created_at": iso(item.created_at),
        "join_url": url_for("auth.join", code=item.code, _external=True),
    }


def counts(item: AssociationCounts) -> Json:
    return {"association": association(item.association), "households": item.households,
            "members": item.members, "circulars": item.circulars,
            "household_reads": item.household_reads}


def attachment(item: Attachment) -> Json:
    return {"id": item.id, "name": item.original_name, "content_type": item.content_type,
            "size": item.size,
            "url": url_for("api.attachment", attachment_id=item.id, _external=False)}


def circular_summary(item: Circular) -> Json:
    return {
        "id": item.id, "association_id": item.association_id, "title": item.title,
        "audience_all": item.audience_all, "block_ids": [b.id for b in item.blocks],
        "publish_at": iso(item.publish_at), "deadline_at": iso(item.deadline_at),
        "ack_required": item.ack_required, "revision": item.revision,
        "corrected_at": iso(item.corrected_at), "attachment_count": len(item.attachments),
    }


def circular_detail(item: Circular, receipt: Receipt | None) -> Json:
    data = circular_summary(item)
    data.update({
        "body_md": item.body_md, "body_html": item.body_html,
        "attachments": [attachment(a) for a in item.attachments],
        "translations": [translation(t) for t in item.translations],
        "read_at": iso(receipt.read_at) if receipt else None,
        "acknowledged_at": iso(receipt.acknowledged_at) if receipt else None,
    })
    return data


def translation(item: CircularTranslation) -> Json:
    return {"language": item.language, "title": item.title, "body_md": item.body_md,
            "body_html": item.body_html, "updated_at": iso(item.updated_at)}


def inbox(items: list[InboxItem], unread: int) -> Json:
    return {"unread": unread, "items": [
        {**circular_summary(i.circular), "read_at": iso(i.read_at),
         "acknowledged_at": iso(i.acknowledged_at)} for i in items]}


def leader_list(items: list[LeaderListItem]) -> Json:
    return {"items": [{**circular_summary(i.circular), "households_read": i.households_read}
                      for i in items]}


def receipt(item: Receipt) -> Json:
    return {"circular_id": item.circular_id, "household_id": item.household_id,
            "read_at": iso(item.read_at), "acknowledged_at": iso(item.acknowledged_at),
            "proxy": item.user_id is None}


def _household_status(item: HouseholdStatus) -> Json:
    paper = item.paper
    return {
        "id": item.household.id, "name": item.household.name,
        "has_smartphone": item.household.has_smartphone,
        "read": item.read, "acknowledged": item.acknowledged,
        "paper": None if paper is None else {
            "read_at": iso(paper.read_at), "acknowledged_at": iso(paper.acknowledged_at)},
        "members": [{"id": m.membership.id, "display_name": m.membership.user.display_name,
                     "role": m.membership.role.value, "read_at": iso(m.read_at),
                     "acknowledged_at": iso(m.acknowledged_at)} for m in item.members],
    }


def _block_status(item: BlockStatus) -> Json:
    return {"id": item.block.id if item.block else None,
            "name": item.block.name if item.block else None,
            "household_count": len(item.households), "households_read": item.read,
            "households_acknowledged": item.acknowledged,
            "households": [_household_status(h) for h in item.households]}


def status_report(report: StatusReport) -> Json:
    return {
        "circular": circular_summary(report.circular),
        "totals": {"households": report.households, "households_read": report.households_read,
                   "households_acknowledged": report.households_acknowledged,
                   "members": report.members, "members_read": report.members_read},
        "blocks": [_block_status(b) for b in report.blocks],
    }

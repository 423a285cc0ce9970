"""The numbers live events carry: unread counts and a circular's receipt counters.

Ids and counts only: no names, no per-household rows.  The semantics are those
of the pages the numbers update: :func:`unread_counts` counts like the inbox
(published circulars in the member's audience without the member's own receipt)
and :func:`receipt_counts` like ``receipts.status_report`` (a household is read
when a current member or a paper receipt read it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, func, or_, select

from ..extensions import db
from ..models import Circular, Household, Membership, Receipt, circular_blocks, utcnow

COUNTERS = ("households", "households_read", "households_acknowledged", "members",
            "members_read")
_IN_CHUNK = 500


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start:start + _IN_CHUNK]


def audience_user_ids(circular: Circular) -> list[int]:
    """Members the circular reaches (leaders included), in id order."""
    query = (select(Membership.user_id).join(Household, Household.id == Membership.household_id)
             .where(Membership.association_id == circular.association_id))
    if not circular.audience_all:
        query = query.where(Household.block_id.in_([b.id for b in circular.blocks]))
    return sorted(set(db.session.scalars(query)))


def unread_counts(association_id: int, user_ids: Iterable[int]) -> dict[int, int]:
    """``{user_id: unread circulars}`` of the association, as the inbox counts them."""
    ids = sorted(set(user_ids))
    result = dict.fromkeys(ids, 0)
    now = utcnow()
    in_audience = or_(
        Circular.audience_all,
        exists().where(circular_blocks.c.circular_id == Circular.id,
                       circular_blocks.c.block_id == Household.block_id))
    unread = ~exists().where(Receipt.circular_id == Circular.id,
                             Receipt.user_id == Membership.user_id)
    for chunk in _chunks(ids):
        rows = db.session.execute(
            select(Membership.user_id, func.count(Circular.id))
            .join(Household, Household.id == Membership.household_id)
            .join(Circular, Circular.association_id == Membership.association_id)
            .where(Membership.association_id == association_id,
                   Membership.user_id.in_(chunk), Circular.publish_at <= now,
                   in_audience, unread)
            .group_by(Membership.user_id)).all()
        result.update(rows)
    return result


def receipt_counts(circular: Circular) -> dict[str, Any]:
    """Totals and per-block counters of the circular's read status.

    ``{"circular_id", "households", "households_read", "households_acknowledged",
    "members", "members_read", "blocks": [{"block_id", ...the same five...}]}``.
    Block leaders get the same event as leaders; their page shows their block's line.
    """
    households_q = select(Household.id, Household.block_id).where(
        Household.association_id == circular.association_id)
    if not circular.audience_all:
        households_q = households_q.where(
            Household.block_id.in_([b.id for b in circular.blocks]))
    block_of: dict[int, int | None] = dict(db.session.execute(households_q).all())
    audience = households_q.with_only_columns(Household.id).scalar_subquery()
    members = db.session.execute(select(Membership.user_id, Membership.household_id).where(
        Membership.household_id.in_(audience))).all()
    receipts = db.session.execute(
        select(Receipt.user_id, Receipt.household_id, Receipt.acknowledged_at).where(
            Receipt.circular_id == circular.id, Receipt.household_id.in_(audience)))
    by_user: dict[int, bool] = {}  # user id -> acknowledged
    paper: dict[int, bool] = {}  # household id -> acknowledged
    for user_id, household_id, acknowledged_at in receipts:
        if user_id is None:
            paper[household_id] = acknowledged_at is not None
        else:
            by_user[user_id] = acknowledged_at is not None

    read: dict[int, bool] = {h: h in paper for h in block_of}
    acknowledged: dict[int, bool] = {h: paper.get(h, False) for h in block_of}
    blocks: dict[int | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for user_id, household_id in members:
        counters = blocks[block_of[household_id]]
        counters["members"] += 1
        if user_id in by_user:
            counters["members_read"] += 1
            read[household_id] = True
            acknowledged[household_id] = acknowledged[household_id] or by_user[user_id]
    for household_id, block_id in block_of.items():
        counters = blocks[block_id]
        counters["households"] += 1
        counters["households_read"] += read[household_id]
        counters["households_acknowledged"] += acknowledged[household_id]

    totals = {name: sum(b[name] for b in blocks.values()) for name in COUNTERS}
    ordered = sorted(blocks.items(), key=lambda item: (item[0] is None, item[0] or 0))
    return {"circular_id": circular.id, **totals,
            "blocks": [{"block_id": block_id, **counters} for block_id, counters in ordered]}

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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select

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
    connection = db.session.connection()
    params = {"association_id": association_id, "now": utcnow()}
    for chunk in _chunks(ids):
        result.update(connection.execute(_UNREAD, {**params, "users": chunk}).all())
    return result


# Built once: a first read runs it under the write lock.
_UNREAD = (
    select(Membership.user_id, func.count(Circular.id))
    .join(Household, Household.id == Membership.household_id)
    .join(Circular, Circular.association_id == Membership.association_id)
    .where(Membership.association_id == bindparam("association_id"),
           Membership.user_id.in_(bindparam("users", expanding=True)),
           Circular.publish_at <= bindparam("now"),
           or_(Circular.audience_all,
               exists().where(circular_blocks.c.circular_id == Circular.id,
                              circular_blocks.c.block_id == Household.block_id)),
           ~exists().where(Receipt.circular_id == Circular.id,
                           Receipt.user_id == Membership.user_id))
    .group_by(Membership.user_id))


@dataclass(frozen=True)
class Audience:
    """Who a circular goes to: its association, and its blocks (None: everyone)."""

    circular_id: int
    association_id: int
    block_ids: tuple[int, ...] | None

    @classmethod
    def of(cls, circular: Circular) -> Audience:
        return cls(circular.id, circular.association_id,
                   None if circular.audience_all else tuple(b.id for b in circular.blocks))

    @classmethod
    def load(cls, circular_id: int) -> Audience | None:
        """The same from the database in one statement, without loading the circular
        (the leaders' counters do this for every recount); None: no such circular."""
        rows = db.session.connection().execute(_AUDIENCE, {"circular_id": circular_id}).all()
        if not rows:
            return None
        association_id, audience_all, _block = rows[0]
        blocks = None if audience_all else tuple(sorted(
            block for _a, _all, block in rows if block is not None))
        return cls(circular_id, association_id, blocks)


_AUDIENCE = (select(Circular.association_id, Circular.audience_all, circular_blocks.c.block_id)
             .outerjoin(circular_blocks, circular_blocks.c.circular_id == Circular.id)
             .where(Circular.id == bindparam("circular_id")))


_HOUSEHOLDS = select(Household.id, Household.block_id).where(
    Household.association_id == bindparam("association_id"))
_BLOCK_HOUSEHOLDS = _HOUSEHOLDS.where(Household.block_id.in_(bindparam("blocks", expanding=True)))


def _audience_rows(audience: Audience) -> tuple[Any, Any, Any]:
    """(households, their members, the circular's receipts) as plain rows: one statement
    each, built once (this runs under the write lock on every first read)."""
    whole = audience.block_ids is None
    params = {"association_id": audience.association_id, "circular_id": audience.circular_id,
              "blocks": list(audience.block_ids or ())}
    connection = db.session.connection()
    return (connection.execute(_HOUSEHOLDS if whole else _BLOCK_HOUSEHOLDS, params).all(),
            connection.execute(_MEMBERS[whole], params).all(),
            connection.execute(_RECEIPTS[whole], params).all())


def _members(households: Any) -> Any:
    return select(Membership.user_id, Membership.household_id).where(
        Membership.household_id.in_(households.with_only_columns(Household.id).scalar_subquery()))


def _receipts(households: Any) -> Any:
    return select(Receipt.user_id, Receipt.household_id, Receipt.acknowledged_at).where(
        Receipt.circular_id == bindparam("circular_id"),
        Receipt.household_id.in_(households.with_only_columns(Household.id).scalar_subquery()))


# Keyed by "the whole association?": the two household selections above.
_MEMBERS = {True: _members(_HOUSEHOLDS), False: _members(_BLOCK_HOUSEHOLDS)}
_RECEIPTS = {True: _receipts(_HOUSEHOLDS), False: _receipts(_BLOCK_HOUSEHOLDS)}


def receipt_counts(audience: Audience) -> dict[str, Any]:
    """Totals and per-block counters of the circular's read status.

    ``{"circular_id", "households", "households_read", "households_acknowledged",
    "members", "members_read", "blocks": [{"block_id", ...the same five...}]}``.
    Block leaders get the same event as leaders; their page shows their block's line.
    """
    household_rows, members, receipts = _audience_rows(audience)
    block_of: dict[int, int | None] = dict(household_rows)
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
    return {"circular_id": audience.circular_id, **totals,
            "blocks": [{"block_id": block_id, **counters} for block_id, counters in ordered]}

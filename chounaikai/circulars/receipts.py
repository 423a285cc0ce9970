"""Read receipts: idempotent writes and the leader's per-household status report."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import audit, notify, pageversions
from ..database import insert_for
from ..errors import NotFound, PermissionDenied
from ..extensions import db
from ..live.counts import Audience
from ..models import Block, Circular, Household, MemberRole, Membership, Receipt, User, utcnow
from ..permissions import can_see_block, membership_of, require_role


def upsert_receipt(*, circular_id: int, user_id: int | None, household_id: int,
                   acknowledge: bool, proxy_by_id: int | None = None) -> Receipt:
    """Insert or update one receipt in a single statement.

    ``INSERT .. ON CONFLICT`` lets a retried or concurrent request meet the
    unique constraint without an error and without a second row; the first
    read and acknowledgement times win.
    """
    now = utcnow()
    stmt = insert_for()(Receipt).values(
        circular_id=circular_id, user_id=user_id, household_id=household_id, read_at=now,
        acknowledged_at=now if acknowledge else None, proxy_by_id=proxy_by_id)
    if user_id is None:
        target = {"index_elements": ["circular_id", "household_id"],
                  "index_where": Receipt.user_id.is_(None)}
    else:
        target = {"index_elements": ["circular_id", "user_id"]}
    if acknowledge:
        stmt = stmt.on_conflict_do_update(
            **target,
            set_={"acknowledged_at": func.coalesce(Receipt.acknowledged_at,
                                                    stmt.excluded.acknowledged_at)})
    else:
        stmt = stmt.on_conflict_do_nothing(**target)
    if user_id is not None:
        # The member's own row: their inbox and this circular's page change, nobody else's.
        pageversions.announce_user(user_id)
    db.session.execute(stmt)
    owner = Receipt.user_id == user_id if user_id is not None else (
        (Receipt.user_id.is_(None)) & (Receipt.household_id == household_id))
    receipt = db.session.scalar(
        select(Receipt).where(Receipt.circular_id == circular_id, owner)
        .execution_options(populate_existing=True))
    assert receipt is not None
    return receipt


def insert_first_read(*, circular_id: int, user_id: int, household_id: int) -> datetime | None:
    """Write a member's first read of a circular: its time, or None when a receipt was
    there already (a concurrent request of theirs won; the constraint keeps one row)."""
    pageversions.announce_user(user_id)  # their inbox and this page change, nobody else's
    stmt = (insert_for()(Receipt).values(circular_id=circular_id, user_id=user_id,
                                      household_id=household_id, read_at=utcnow())
            .on_conflict_do_nothing(index_elements=["circular_id", "user_id"])
            .returning(Receipt.read_at))
    return db.session.connection().execute(stmt).scalar_one_or_none()


def record_paper_receipt(*, actor: User, circular_id: int, household_id: int,
                         acknowledge: bool) -> Receipt:
    """A leader records that a household without a smartphone read the paper copy."""
    circular = db.session.get(Circular, circular_id)
    household = db.session.get(Household, household_id)
    if circular is None or household is None or household.association_id != circular.association_id:
        raise NotFound()
    require_role(actor, circular.association_id, MemberRole.BLOCK_LEADER)
    if not can_see_block(actor, circular.association_id, household.block_id):
        raise PermissionDenied()
    if not circular.audience_all and household.block_id not in {b.id for b in circular.blocks}:
        raise NotFound()  # the household is not in this circular's audience
    audit.record(actor=actor, action="receipt.proxy", association_id=circular.association_id,
                 target_type="household", target_id=household.id,
                 detail={"circular_id": circular.id})
    receipt = upsert_receipt(circular_id=circular.id, user_id=None, household_id=household.id,
                             acknowledge=acknowledge, proxy_by_id=actor.id)
    notify.receipt_recorded(Audience.of(circular), user_id=None,
                            acknowledged=receipt.acknowledged_at is not None)
    return receipt


@dataclass
class MemberStatus:
    membership: Membership
    read_at: datetime | None = None
    acknowledged_at: datetime | None = None


@dataclass
class HouseholdStatus:
    household: Household
    members: list[MemberStatus] = field(default_factory=list)
    paper: Receipt | None = None

    @property
    def read(self) -> bool:
        return self.paper is not None or any(m.read_at for m in self.members)

    @property
    def acknowledged(self) -> bool:
        paper_ack = self.paper is not None and self.paper.acknowledged_at is not None
        return paper_ack or any(m.acknowledged_at for m in self.members)


@dataclass
class BlockStatus:
    block: Block | None
    households: list[HouseholdStatus] = field(default_factory=list)

    @property
    def read(self) -> int:
        return sum(1 for h in self.households if h.read)

    @property
    def acknowledged(self) -> int:
        return sum(1 for h in self.households if h.acknowledged)


@dataclass
class StatusReport:
    circular: Circular
    blocks: list[BlockStatus]

    @property
    def households(self) -> int:
        return sum(len(b.households) for b in self.blocks)

    @property
    def households_read(self) -> int:
        return sum(b.read for b in self.blocks)

    @property
    def households_acknowledged(self) -> int:
        return sum(b.acknowledged for b in self.blocks)

    @property
    def members(self) -> int:
        return sum(len(h.members) for b in self.blocks for h in b.households)

    @property
    def members_read(self) -> int:
        return sum(1 for b in self.blocks for h in b.households for m in h.members if m.read_at)


def status_report(*, actor: User, circular_id: int) -> StatusReport:
    """Per block → household → member read status; block leaders see their own block.

    Three queries whatever the association's size.  The view is audit-logged.
    """
    circular = db.session.get(Circular, circular_id)
    if circular is None:
        raise NotFound()
    require_role(actor, circular.association_id, MemberRole.BLOCK_LEADER)
    mine = membership_of(actor, circular.association_id)
    assert mine is not None
    query = (select(Household).where(Household.association_id == circular.association_id)
             .options(selectinload(Household.block),
                      selectinload(Household.members).selectinload(Membership.user))
             .order_by(Household.block_id, Household.name, Household.id))
    if not circular.audience_all:
        query = query.where(Household.block_id.in_([b.id for b in circular.blocks]))
    if mine.role == MemberRole.BLOCK_LEADER:
        query = query.where(Household.block_id == mine.block_id)
    households = list(db.session.scalars(query))
    receipts = db.session.scalars(select(Receipt).where(
        Receipt.circular_id == circular.id,
        Receipt.household_id.in_([h.id for h in households])))
    by_user: dict[int, Receipt] = {}
    paper: dict[int, Receipt] = {}
    for receipt in receipts:
        if receipt.user_id is None:
            paper[receipt.household_id] = receipt
        else:
            by_user[receipt.user_id] = receipt
    grouped: dict[int | None, BlockStatus] = defaultdict(lambda: BlockStatus(None))
    for household in households:
        block_status = grouped[household.block_id]
        block_status.block = household.block
        status = HouseholdStatus(household, paper=paper.get(household.id))
        for membership in household.members:
            receipt = by_user.get(membership.user_id)
            status.members.append(MemberStatus(
                membership, receipt.read_at if receipt else None,
                receipt.acknowledged_at if receipt else None))
        block_status.households.append(status)
    audit.record(actor=actor, action="receipts.view", association_id=circular.association_id,
                 target_type="circular", target_id=circular.id)
    blocks = sorted(grouped.values(),
                    key=lambda b: (b.block is None, b.block.name if b.block else ""))
    return StatusReport(circular, blocks)


"""What leaders, block leaders and city staff see of a safety round.

* :func:`round_counts` — numbers only (live events, staff);
* :func:`status_report` — per block → household, with notes for leaders only;
* :func:`door_knock_list` / :func:`door_knock_csv` — unanswered households to visit;
* :func:`staff_counts` — per association numbers for city staff, never names.

Every view that shows households is audit-logged.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import false, func, select
from sqlalchemy.orm import selectinload

from .. import audit
from ..errors import NotFound
from ..extensions import db
from ..models import (
    Association,
    Block,
    Household,
    MemberRole,
    Membership,
    SafetyAnswer,
    SafetyRound,
    SafetyStatus,
    Shelter,
    User,
)
from ..permissions import require_role, require_staff
from .queries import latest_round
from .retention import purge_notes

COUNTERS = ("households", "answered", "safe", "needs_help", "at_shelter", "unanswered")


@dataclass
class Counts:
    households: int = 0
    safe: int = 0
    needs_help: int = 0
    at_shelter: int = 0

    @property
    def answered(self) -> int:
        return self.safe + self.needs_help + self.at_shelter

    @property
    def unanswered(self) -> int:
        return self.households - self.answered

    def add(self, status: SafetyStatus, n: int = 1) -> None:
        setattr(self, status.value, getattr(self, status.value) + n)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}


@dataclass
class RoundCounts:
    totals: Counts
    blocks: dict[int | None, Counts]

    def as_json(self) -> dict[str, Any]:
        ordered = sorted(self.blocks.items(), key=lambda item: (item[0] is None, item[0] or 0))
        return {**self.totals.as_dict(),
                "blocks": [{"block_id": b, **c.as_dict()} for b, c in ordered]}


def round_counts(round_: SafetyRound) -> RoundCounts:
    """Totals and per-block counters of one round (two queries)."""
    blocks: dict[int | None, Counts] = defaultdict(Counts)
    for block_id, n in db.session.execute(
            select(Household.block_id, func.count()).where(
                Household.association_id == round_.association_id)
            .group_by(Household.block_id)):
        blocks[block_id].households = n
    for block_id, status, n in db.session.execute(
            select(Household.block_id, SafetyAnswer.status, func.count())
            .join(Household, Household.id == SafetyAnswer.household_id)
            .where(SafetyAnswer.round_id == round_.id)
            .group_by(Household.block_id, SafetyAnswer.status)):
        blocks[block_id].add(status, n)
    totals = Counts()
    for counts in blocks.values():
        totals.households += counts.households
        for status in SafetyStatus:
            totals.add(status, getattr(counts, status.value))
    return RoundCounts(totals, dict(blocks))


# -- leaders and block leaders -----------------------------------------------------------------


@dataclass
class HouseholdLine:
    household: Household
    answer: SafetyAnswer | None


@dataclass
class BlockLines:
    block: Block | None
    households: list[HouseholdLine] = field(default_factory=list)

    @property
    def unanswered(self) -> list[HouseholdLine]:
        return [line for line in self.households if line.answer is None]


@dataclass
class StatusReport:
    association: Association
    membership: Membership
    round: SafetyRound | None
    blocks: list[BlockLines]
    counts: Counts
    show_notes: bool  # leaders only: never block leaders, never staff
    people: dict[int, User] = field(default_factory=dict)  # who answered
    shelters: dict[int, Shelter] = field(default_factory=dict)

    @property
    def block_id(self) -> int | None:
        """The one block a block leader sees (None: every block)."""
        return (self.membership.block_id
                if self.membership.role == MemberRole.BLOCK_LEADER else None)


def _viewer(actor: User, association_id: int) -> tuple[Association, Membership]:
    membership = require_role(actor, association_id, MemberRole.BLOCK_LEADER)
    association = db.session.get(Association, association_id)
    if association is None:  # pragma: no cover - a membership implies the association
        raise NotFound()
    return association, membership


def _lines(association_id: int, membership: Membership,
           round_: SafetyRound | None) -> list[BlockLines]:
    """Households grouped by block (a block leader: their block only), with answers."""
    query = (select(Household).where(Household.association_id == association_id)
             .options(selectinload(Household.block))
             .order_by(Household.block_id, Household.name, Household.id))
    if membership.role == MemberRole.BLOCK_LEADER:
        # A block leader without a block sees no household (as can_see_block), not the
        # households without a block (``== None`` would compile to IS NULL).
        query = query.where(Household.block_id == membership.block_id
                            if membership.block_id is not None else false())
    households = list(db.session.scalars(query))
    answers: dict[int, SafetyAnswer] = {}
    if round_ is not None:
        answers = {a.household_id: a for a in db.session.scalars(
            select(SafetyAnswer).where(SafetyAnswer.round_id == round_.id)
            # Fresh rows: purge_notes may just have erased notes with a bulk UPDATE.
            .execution_options(populate_existing=True))}
    grouped: dict[int | None, BlockLines] = {}
    for household in households:
        lines = grouped.setdefault(household.block_id, BlockLines(household.block))
        lines.households.append(HouseholdLine(household, answers.get(household.id)))
    return sorted(grouped.values(),
                  key=lambda b: (b.block is None, b.block.name if b.block else ""))


def _people_and_shelters(blocks: list[BlockLines]) -> tuple[dict[int, User],
                                                          dict[int, Shelter]]:
    """Who answered (for 代理回答 with who) and which shelter, in two queries."""
    answers = [line.answer for b in blocks for line in b.households if line.answer]
    user_ids = {a.answered_by_id for a in answers if a.answered_by_id}
    shelter_ids = {a.shelter_id for a in answers if a.shelter_id}
    people = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    shelters = {s.id: s for s in db.session.scalars(
        select(Shelter).where(Shelter.id.in_(shelter_ids)))} if shelter_ids else {}
    return people, shelters


_ORDER = {None: 0, SafetyStatus.NEEDS_HELP: 1, SafetyStatus.AT_SHELTER: 2, SafetyStatus.SAFE: 3}


def _urgency(line: HouseholdLine) -> int:
    return _ORDER[line.answer.status if line.answer else None]


def status_report(*, actor: User, association_id: int) -> StatusReport:
    """The open (else the latest) round, per block → household, for block leaders up.

    Notes are included for the association's leaders only.  Audit-logged: the
    action says whether notes (health information) were shown.
    """
    association, membership = _viewer(actor, association_id)
    # Before reading: a note past its retention is never shown, even where no one
    # runs `flask safety purge-notes` from cron.
    purge_notes()
    round_ = latest_round(association_id)
    blocks = _lines(association_id, membership, round_)
    people, shelters = _people_and_shelters(blocks)
    for block in blocks:  # who needs a visit first: unanswered, then those who need help
        block.households.sort(key=_urgency)
    counts = Counts()
    for block in blocks:
        for line in block.households:
            counts.households += 1
            if line.answer is not None:
                counts.add(line.answer.status)
    show_notes = membership.role == MemberRole.LEADER
    audit.record(actor=actor, action="safety.view_notes" if show_notes else "safety.view",
                 association_id=association_id, target_type="safety_round",
                 target_id=round_.id if round_ else None,
                 detail={"block_id": membership.block_id if not show_notes else None})
    return StatusReport(association, membership, round_, blocks, counts, show_notes, people,
                        shelters)


@dataclass
class DoorKnockList:
    association: Association
    round: SafetyRound | None
    blocks: list[BlockLines]

    @property
    def total(self) -> int:
        return sum(len(b.households) for b in self.blocks)


def door_knock_list(*, actor: User, association_id: int, export: bool = False) -> DoorKnockList:
    """Unanswered households of the open (else latest) round, by block; no notes.

    Block leaders get their block only.  Viewing and exporting are audit-logged.
    """
    association, membership = _viewer(actor, association_id)
    round_ = latest_round(association_id)
    blocks = []
    if round_ is not None:
        for block in _lines(association_id, membership, round_):
            if block.unanswered:
                blocks.append(BlockLines(block.block, block.unanswered))
    result = DoorKnockList(association, round_, blocks)
    audit.record(actor=actor, action="safety.export" if export else "safety.door_knock",
                 association_id=association_id, target_type="safety_round",
                 target_id=round_.id if round_ else None,
                 detail={"households": result.total})
    return result


def _cell(value: str) -> str:
    """Neutralize spreadsheet formulas: Excel runs a cell starting with = + - @ (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def door_knock_csv(listing: DoorKnockList, *, block_header: str, household_header: str,
                   no_block: str) -> str:
    """The list as CSV with a BOM, so Excel opens the Japanese correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([block_header, household_header])
    for block in listing.blocks:
        for line in block.households:
            writer.writerow([_cell(block.block.name if block.block else no_block),
                             _cell(line.household.name)])
    return "\ufeff" + out.getvalue()


# -- city staff --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffRow:
    association: Association
    round: SafetyRound | None
    counts: Counts


def staff_counts(*, actor: User) -> list[StaffRow]:
    """Per association: its open (else latest) round and counts only.  Audit-logged.

    Three queries whatever the number of associations.
    """
    require_staff(actor)
    associations = list(db.session.scalars(
        select(Association).order_by(Association.district, Association.name, Association.id)))
    chosen: dict[int, SafetyRound] = {}
    for round_ in db.session.scalars(select(SafetyRound).order_by(
            SafetyRound.association_id, SafetyRound.started_at.desc(), SafetyRound.id.desc())):
        best = chosen.get(round_.association_id)
        if best is None or (best.closed_at is not None and round_.closed_at is None):
            chosen[round_.association_id] = round_
    households = dict(db.session.execute(
        select(Household.association_id, func.count()).group_by(Household.association_id)).all())
    counts: dict[int, Counts] = {a.id: Counts(households=households.get(a.id, 0))
                                 for a in associations}
    by_round = {r.id: r.association_id for r in chosen.values()}
    if by_round:
        for round_id, status, n in db.session.execute(
                select(SafetyAnswer.round_id, SafetyAnswer.status, func.count())
                .where(SafetyAnswer.round_id.in_(list(by_round)))
                .group_by(SafetyAnswer.round_id, SafetyAnswer.status)):
            counts[by_round[round_id]].add(status, n)
    audit.record(actor=actor, action="safety.staff_counts")
    return [StaffRow(a, chosen.get(a.id), counts[a.id]) for a in associations]

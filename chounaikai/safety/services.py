"""Use cases for safety confirmation (安否確認): rounds, answers, settings, note purging.

A round is open until a leader (or city staff) closes it; an association has at
most one open round, whether it was started by an alert or by hand.  Each
household has at most one answer per round: answering again replaces it.
Services check permissions, flush and never commit (one transaction per request).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from .. import audit
from ..database import insert_for
from ..errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..models import (
    Alert,
    AlertMessageType,
    Association,
    Household,
    MemberRole,
    Membership,
    SafetyAnswer,
    SafetyRound,
    SafetyStatus,
    Shelter,
    User,
    utcnow,
)
from ..permissions import can_see_block, require_member, require_role
from ..push import outbox
from . import live
from .queries import current_round

MAX_NOTE = 500
AUTO_LEVEL = 4  # 避難指示 and above start a round by themselves


# -- rounds ------------------------------------------------------------------------------------


def _lock_associations(ids: list[int]) -> list[Association]:
    """Lock the associations' rows (PostgreSQL; SQLite writers are serialized already),
    so two requests cannot both see "no open round" and both open one."""
    if not ids:
        return []
    return list(db.session.scalars(
        select(Association).where(Association.id.in_(sorted(set(ids))))
        .order_by(Association.id).with_for_update()))


def _open(association: Association, *, actor_id: int | None, alert_id: int | None,
          reason: str) -> SafetyRound:
    round_ = SafetyRound(association_id=association.id, alert_id=alert_id,
                         started_by_id=actor_id, started_at=utcnow())
    db.session.add(round_)
    db.session.flush()
    audit.record(actor=db.session.get(User, actor_id) if actor_id else None,
                 action="safety.round_start", association_id=association.id,
                 target_type="safety_round", target_id=round_.id,
                 detail={"reason": reason, "alert_id": alert_id})
    live.round_changed(round_)
    return round_


def _chain_ids(alert: Alert) -> set[int]:
    """Ids of every message of the alert's update chain, back to the first."""
    ids: set[int] = set()
    current: Alert | None = alert
    while current is not None and current.id not in ids:
        ids.add(current.id)
        current = current.references
    return ids


def start_rounds_for_alert(alert: Alert) -> list[SafetyRound]:
    """Start a round in each targeted association that wants one, for Level 4 and up.

    Called by the alert services inside the issuing transaction.  Skips an
    association that already has an open round, or whose round for this alert
    chain was already started (an update does not start a second one, even if a
    leader closed the first: they can start one by hand).
    """
    if alert.message_type == AlertMessageType.CANCEL or (alert.level or 0) < AUTO_LEVEL:
        return []
    chain = _chain_ids(alert)
    started = []
    for association in _lock_associations(list(alert.association_ids or [])):
        if not association.auto_safety_check or current_round(association.id) is not None:
            continue
        if db.session.scalar(select(SafetyRound.id).where(
                SafetyRound.association_id == association.id,
                SafetyRound.alert_id.in_(chain)).limit(1)) is not None:
            continue
        started.append(_open(association, actor_id=alert.issued_by_id, alert_id=alert.id,
                             reason="alert"))
    return started


def _require_leader_or_staff(actor: User, association_id: int) -> Association:
    """City staff act on any association; otherwise the association's leaders only."""
    association = db.session.get(Association, association_id)
    if getattr(actor, "is_authenticated", False) and actor.is_staff:
        if association is None:
            raise NotFound()
        return association
    require_role(actor, association_id, MemberRole.LEADER)
    assert association is not None
    return association


def start_round(*, actor: User, association_id: int) -> tuple[SafetyRound, bool]:
    """Start a round by hand (a leader, or city staff for any association).

    Returns ``(round, created)``: when a round is already open it is returned
    unchanged, so a repeated tap or retry does not open a second one.
    """
    _require_leader_or_staff(actor, association_id)
    association = _lock_associations([association_id])[0]
    existing = current_round(association_id)
    if existing is not None:
        return existing, False
    round_ = _open(association, actor_id=actor.id, alert_id=None, reason="manual")
    outbox.enqueue_safety_round(round_)
    return round_, True


def close_round(*, actor: User, association_id: int,
                round_id: int | None = None) -> SafetyRound:
    """Close the open round (a leader, or city staff).

    With ``round_id`` (the round the caller was looking at) closing an already
    closed round is a no-op, so a retry succeeds; without it, Conflict when no
    round is open.
    """
    _require_leader_or_staff(actor, association_id)
    if round_id is not None:
        round_ = db.session.get(SafetyRound, round_id)
        if round_ is None or round_.association_id != association_id:
            raise NotFound()
    else:
        round_ = current_round(association_id)
        if round_ is None:
            raise Conflict(_("いまは安否確認をしていません。"))
    if round_.closed_at is None:
        round_.closed_at = utcnow()
        db.session.flush()
        audit.record(actor=actor, action="safety.round_close", association_id=association_id,
                     target_type="safety_round", target_id=round_.id)
        live.round_changed(round_)
    return round_


def set_auto_safety_check(*, actor: User, association_id: int, enabled: bool) -> Association:
    """Turn the automatic start on Level 4+ alerts on or off (the association's leaders)."""
    require_role(actor, association_id, MemberRole.LEADER)
    association = db.session.get(Association, association_id)
    assert association is not None
    if association.auto_safety_check != enabled:
        association.auto_safety_check = enabled
        audit.record(actor=actor, action="safety.auto_check", association_id=association_id,
                     detail={"enabled": enabled})
    return association


# -- answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerInput:
    """One tap: a status, with a note (助けが必要) or a shelter (避難所にいる)."""

    status: str
    note: str = ""
    shelter_id: int | None = None


def shelters_for(association: Association) -> list[Shelter]:
    """Shelters to choose from: open ones first, then those in the association's district."""
    return list(db.session.scalars(
        select(Shelter).order_by(Shelter.is_open.desc(),
                                 (Shelter.district == association.district).desc(),
                                 Shelter.name_kana, Shelter.name, Shelter.id)))


def _validate(data: AnswerInput) -> tuple[SafetyStatus, str | None, int | None]:
    try:
        status = SafetyStatus(data.status)
    except ValueError:
        raise ValidationFailed(fields={"status": _("選んでください。")}) from None
    note = None
    if status == SafetyStatus.NEEDS_HELP:
        note = data.note.replace("\x00", "").strip() or None
        if note is not None and len(note) > MAX_NOTE:
            raise ValidationFailed(fields={"note": _("%(n)d文字以内にしてください。", n=MAX_NOTE)})
    shelter_id = None
    if status == SafetyStatus.AT_SHELTER and data.shelter_id is not None:
        if db.session.get(Shelter, data.shelter_id) is None:
            raise ValidationFailed(fields={"shelter_id": _("この避難所はありません。")})
        shelter_id = data.shelter_id
    return status, note, shelter_id


def _upsert(round_id: int, household_id: int, values: dict) -> SafetyAnswer:
    """One statement: a retried or concurrent answer meets the unique constraint
    (round, household) and replaces the row instead of failing or adding one."""
    stmt = insert_for()(SafetyAnswer).values(round_id=round_id, household_id=household_id,
                                          **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["round_id", "household_id"],
        set_={name: getattr(stmt.excluded, name) for name in values})
    db.session.execute(stmt)
    answer = db.session.scalar(
        select(SafetyAnswer).where(SafetyAnswer.round_id == round_id,
                                   SafetyAnswer.household_id == household_id)
        .execution_options(populate_existing=True))
    assert answer is not None
    return answer


def _target_household(actor: User, mine: Membership, association_id: int,
                      household_id: int | None) -> tuple[Household, bool]:
    """The household answered for, and whether this is a proxy answer."""
    if household_id is None or household_id == mine.household_id:
        return mine.household, False
    household = db.session.get(Household, household_id)
    if household is None or household.association_id != association_id:
        raise NotFound()
    require_role(actor, association_id, MemberRole.BLOCK_LEADER)
    if not can_see_block(actor, association_id, household.block_id):
        raise PermissionDenied()  # a block leader answers only for their own block
    return household, True


def answer(*, actor: User, association_id: int, data: AnswerInput,
           household_id: int | None = None) -> SafetyAnswer:
    """Record a household's answer in the open round; answering again replaces it.

    Without ``household_id`` (or with the actor's own) any member answers for
    their household.  For another household it is a proxy answer by a block
    leader (their block) or a leader (any), marked ``proxy`` and audit-logged.
    Raises NotFound, PermissionDenied, ValidationFailed, or Conflict when no
    round is open.
    """
    mine = require_member(actor, association_id)
    household, proxy = _target_household(actor, mine, association_id, household_id)
    status, note, shelter_id = _validate(data)
    round_ = current_round(association_id)
    if round_ is None:
        raise Conflict(_("いまは安否確認をしていません。"))
    result = _upsert(round_.id, household.id, {
        "status": status, "note": note, "shelter_id": shelter_id, "answered_by_id": actor.id,
        "proxy": proxy, "answered_at": utcnow(), "note_purged_at": None})
    if proxy:
        # The note itself never goes into the audit log: it is health information.
        audit.record(actor=actor, action="safety.proxy_answer", association_id=association_id,
                     target_type="household", target_id=household.id,
                     detail={"round_id": round_.id, "status": status.value})
    live.answer_recorded(round_)
    return result


def proxy_target(*, actor: User, association_id: int, household_id: int) -> tuple[
        Household, bool, SafetyRound | None, SafetyAnswer | None]:
    """For the proxy page: the household (checked like :func:`answer`), whether answering
    for it is a proxy answer, the open round and the household's answer in it."""
    mine = require_member(actor, association_id)
    household, proxy = _target_household(actor, mine, association_id, household_id)
    round_ = current_round(association_id)
    found = None
    if round_ is not None:
        found = db.session.scalar(select(SafetyAnswer).where(
            SafetyAnswer.round_id == round_.id, SafetyAnswer.household_id == household.id))
    return household, proxy, round_, found


def own_answer(*, user: User, association_id: int) -> tuple[SafetyRound | None,
                                                            SafetyAnswer | None]:
    """The open round and the member's household's answer in it (for their own page)."""
    mine = require_member(user, association_id)
    round_ = current_round(association_id)
    if round_ is None:
        return None, None
    return round_, db.session.scalar(select(SafetyAnswer).where(
        SafetyAnswer.round_id == round_.id, SafetyAnswer.household_id == mine.household_id))

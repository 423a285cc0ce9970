"""API routes: safety confirmation (安否確認), described in openapi_safety.py."""

from __future__ import annotations

from typing import Any

from ..database import writes_on_get
from ..models import SafetyAnswer, SafetyRound, SafetyStatus
from ..safety import report, services
from . import bp
from .auth import current_api_user
from .schemas import body_fields
from .serialize import association, iso

Json = dict[str, Any]


def _round(item: SafetyRound | None) -> Json | None:
    if item is None:
        return None
    return {"id": item.id, "association_id": item.association_id, "alert_id": item.alert_id,
            "started_at": iso(item.started_at), "closed_at": iso(item.closed_at),
            "open": item.closed_at is None}


def _answer(item: SafetyAnswer | None) -> Json | None:
    """A household's answer without its note (notes are in the leaders' status only)."""
    if item is None:
        return None
    return {"round_id": item.round_id, "household_id": item.household_id,
            "status": item.status.value, "shelter_id": item.shelter_id, "proxy": item.proxy,
            "answered_at": iso(item.answered_at), "has_note": item.note is not None}


@bp.get("/associations/<int:association_id>/safety")
def my_safety(association_id: int):
    """The open round and the caller's household's answer in it."""
    round_, answer = services.own_answer(user=current_api_user(),
                                         association_id=association_id)
    return {"round": _round(round_), "answer": _answer(answer)}


@bp.post("/associations/<int:association_id>/safety/answer")
def answer_safety(association_id: int):
    """Answer for one's household, or (block leaders, leaders) for another one."""
    fields = body_fields(("status", "note", "shelter_id", "household_id"))
    status = fields.choice("status", SafetyStatus, default=SafetyStatus.SAFE)
    fields.require("status")
    note = fields.string("note", max_length=services.MAX_NOTE, required=False)
    shelter_id = fields.integer("shelter_id")
    household_id = fields.integer("household_id")
    fields.done()
    answer = services.answer(
        actor=current_api_user(), association_id=association_id, household_id=household_id,
        data=services.AnswerInput(status=status.value, note=note, shelter_id=shelter_id))
    return _answer(answer)


def _line(line: report.HouseholdLine, status: report.StatusReport) -> Json:
    answer = line.answer
    item: Json = {"id": line.household.id, "name": line.household.name,
                  "has_smartphone": line.household.has_smartphone, "answer": None}
    if answer is not None:
        by = status.people.get(answer.answered_by_id) if answer.answered_by_id else None
        item["answer"] = {
            **(_answer(answer) or {}),
            "answered_by": {"id": by.id, "display_name": by.display_name} if by else None,
            # Health information: the association's leaders only.
            "note": answer.note if status.show_notes else None,
            "note_purged_at": iso(answer.note_purged_at)}
    return item


@bp.get("/associations/<int:association_id>/safety/status")
@writes_on_get
def safety_status(association_id: int):
    """The open (else latest) round per block and household (audit-logged)."""
    status = report.status_report(actor=current_api_user(), association_id=association_id)
    blocks = []
    for block in status.blocks:
        answered = sum(1 for line in block.households if line.answer is not None)
        blocks.append({"id": block.block.id if block.block else None,
                       "name": block.block.name if block.block else None,
                       "household_count": len(block.households), "answered": answered,
                       "households": [_line(line, status) for line in block.households]})
    return {"round": _round(status.round), "notes_included": status.show_notes,
            "totals": status.counts.as_dict(), "blocks": blocks}


@bp.post("/associations/<int:association_id>/safety/rounds")
def start_safety_round(association_id: int):
    """Start a round (201), or get the one already open (200)."""
    round_, created = services.start_round(actor=current_api_user(),
                                           association_id=association_id)
    return _round(round_), 201 if created else 200


@bp.post("/associations/<int:association_id>/safety/close")
def close_safety_round(association_id: int):
    """Close the open round (or, with ``round_id``, that round; repeating is harmless)."""
    fields = body_fields(("round_id",), optional=True)
    round_id = fields.integer("round_id")
    fields.done()
    return _round(services.close_round(actor=current_api_user(),
                                       association_id=association_id, round_id=round_id))


@bp.put("/associations/<int:association_id>/safety/settings")
def safety_settings(association_id: int):
    """Turn the automatic start on Level 4+ alerts on or off."""
    fields = body_fields(("auto_safety_check",))
    fields.require("auto_safety_check")
    enabled = fields.boolean("auto_safety_check", default=True)
    fields.done()
    item = services.set_auto_safety_check(actor=current_api_user(),
                                          association_id=association_id, enabled=enabled)
    return {"association_id": item.id, "auto_safety_check": item.auto_safety_check}


@bp.get("/staff/safety")
@writes_on_get
def staff_safety_counts():
    """Per association counts only (audit-logged); never names or notes."""
    rows = report.staff_counts(actor=current_api_user())
    return {"items": [{"association": association(row.association), "round": _round(row.round),
                       **row.counts.as_dict()} for row in rows]}

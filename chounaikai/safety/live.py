"""Live events of safety confirmation, on ``leaders:<association_id>`` (leaders and block
leaders may join it).  Counts only, never a household's name, status or note:

* ``safety`` — a round's counters, totals and per block (an answer arrived);
* ``safety_round`` — a round started or closed (the page offers a reload).
"""

from __future__ import annotations

from ..live.rooms import leaders_room
from ..live.service import Event, lock_rooms, record
from ..models import SafetyRound
from . import report


def answer_recorded(round_: SafetyRound) -> None:
    """Announce the round's counters after an answer (in the answer's transaction)."""
    room = leaders_room(round_.association_id)
    lock_rooms([room])  # before counting: the counts then include every earlier commit
    counts = report.round_counts(round_)
    record([Event(room, "safety", {"association_id": round_.association_id,
                                   "round_id": round_.id, **counts.as_json()})])


def round_changed(round_: SafetyRound) -> None:
    """A round was started or closed."""
    record([Event(leaders_room(round_.association_id), "safety_round", {
        "association_id": round_.association_id, "round_id": round_.id,
        "open": round_.closed_at is None})])

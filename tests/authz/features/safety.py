"""Authorization cases: safety (see tests/authz/features/__init__.py).

Residents answer for their own household; block leaders (their block) and leaders
answer by proxy and see the status; leaders start and close rounds and change the
setting; city staff start and close rounds for any association and see counts only.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chounaikai.models import SafetyRound, utcnow
from tests.authz.web_routes import (
    BLOCK_LEADERS_GET,
    BLOCK_LEADERS_POST,
    LEADERS_POST,
    MEMBERS_GET,
    MEMBERS_POST,
    STAFF_GET,
    Case,
    expect,
)
from tests.authz.world import World


def _aid(w: World, s: str) -> int:
    return w.sides[s].association.id


def _hid(w: World, s: str) -> int:
    """A household in the block leader's block (1班), not the actor's own."""
    return w.sides[s].household.id


def _open_round(w: World, s: str) -> int:
    """Make sure side ``s`` has an open round (answers and closing need one)."""
    with Session(w.factory._engine) as session:
        found = session.scalar(select(SafetyRound.id).where(
            SafetyRound.association_id == _aid(w, s), SafetyRound.closed_at.is_(None)))
        if found is None:
            round_ = SafetyRound(association_id=_aid(w, s), started_at=utcnow())
            session.add(round_)
            session.commit()
            found = round_.id
    return found


def _no_open_round(w: World, s: str) -> None:
    """Close side ``s``'s round, so starting one creates it (201) for every allowed actor."""
    with Session(w.factory._engine) as session:
        session.execute(update(SafetyRound).where(
            SafetyRound.association_id == _aid(w, s), SafetyRound.closed_at.is_(None))
            .values(closed_at=utcnow()))
        session.commit()


def _base(w: World, s: str, *, round_: str = "") -> str:
    if round_ == "open":
        _open_round(w, s)
    elif round_ == "none":
        _no_open_round(w, s)
    return f"/a/{_aid(w, s)}/safety"


LEADERS_OR_STAFF_POST = expect(leader=302, staff=302)

WEB_CASES: list[Case] = [
    Case("safety.home", "GET", lambda w, s: _base(w, s), MEMBERS_GET),
    Case("safety.answer", "POST", lambda w, s: _base(w, s, round_="open") + "/answer",
         MEMBERS_POST, data=lambda w, s: {"status": "safe"}),
    Case("safety.proxy_form", "GET",
         lambda w, s: _base(w, s, round_="open") + f"/households/{_hid(w, s)}/answer",
         BLOCK_LEADERS_GET),
    Case("safety.proxy_answer", "POST",
         lambda w, s: _base(w, s, round_="open") + f"/households/{_hid(w, s)}/answer",
         BLOCK_LEADERS_POST, data=lambda w, s: {"status": "needs_help", "note": "薬が必要"}),
    Case("safety.manage", "GET", lambda w, s: _base(w, s, round_="open") + "/manage",
         BLOCK_LEADERS_GET),
    Case("safety.door_knock", "GET", lambda w, s: _base(w, s, round_="open") + "/door-knock",
         BLOCK_LEADERS_GET),
    Case("safety.door_knock_csv", "GET",
         lambda w, s: _base(w, s, round_="open") + "/door-knock.csv", BLOCK_LEADERS_GET),
    Case("safety.start_round", "POST", lambda w, s: _base(w, s, round_="none") + "/rounds",
         LEADERS_OR_STAFF_POST),
    Case("safety.close_round", "POST", lambda w, s: _base(w, s, round_="open") + "/close",
         LEADERS_OR_STAFF_POST),
    Case("safety.save_settings", "POST", lambda w, s: _base(w, s) + "/settings", LEADERS_POST,
         data=lambda w, s: {"auto_safety_check": "1"}),
    Case("safety.staff", "GET", lambda w, s: "/staff/safety", STAFF_GET),
]

_API = "/api/v1"


def api_expect(anon: int = 401, outsider: int = 404, resident: int = 403,
               block_leader: int = 403, leader: int = 200, staff: int = 404) -> dict:
    """As tests/authz/api_routes.expect (not imported: that module imports this one)."""
    return {"anon": anon, "outsider": outsider, "resident": resident,
            "block_leader": block_leader, "leader": leader, "staff": staff}


API_MEMBERS = api_expect(resident=200, block_leader=200)
API_BLOCK_LEADERS = api_expect(block_leader=200)


def _api(w: World, s: str, *, round_: str = "") -> str:
    return _API + _base(w, s, round_=round_).replace("/a/", "/associations/", 1)


API_CASES: list[Case] = [
    Case("api.my_safety", "GET", lambda w, s: _api(w, s), API_MEMBERS),
    Case("api.answer_safety", "POST", lambda w, s: _api(w, s, round_="open") + "/answer",
         API_MEMBERS, data=lambda w, s: {"status": "safe"}),
    # The same route for another household: a proxy answer.
    Case("api.answer_safety", "POST", lambda w, s: _api(w, s, round_="open") + "/answer",
         API_BLOCK_LEADERS,
         data=lambda w, s: {"status": "at_shelter", "household_id": _hid(w, s)}),
    Case("api.safety_status", "GET", lambda w, s: _api(w, s, round_="open") + "/status",
         API_BLOCK_LEADERS),
    Case("api.start_safety_round", "POST", lambda w, s: _api(w, s, round_="none") + "/rounds",
         api_expect(leader=201, staff=201)),
    Case("api.close_safety_round", "POST", lambda w, s: _api(w, s, round_="open") + "/close",
         api_expect(leader=200, staff=200)),
    Case("api.safety_settings", "PUT", lambda w, s: _api(w, s) + "/settings",
         api_expect(), data=lambda w, s: {"auto_safety_check": True}),
    Case("api.staff_safety_counts", "GET", lambda w, s: f"{_API}/staff/safety",
         api_expect(outsider=403, resident=403, block_leader=403, leader=403,
                    staff=200)),
]

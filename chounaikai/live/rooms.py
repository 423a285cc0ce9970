"""Room names and who may receive a room's events (Socket.IO joins and HTTP catch-up alike).

* ``user:<id>`` — only that user;
* ``leaders:<association_id>`` — leaders and block leaders of that association;
* ``alerts`` — public: emergency-alert banners for every open page, logged in or not
  (ids and levels only; the page fetches words in its own language).

Refusals follow the app's rule: not yours / not a member → :class:`NotFound`
(nothing is confirmed), a member whose role is too low → :class:`PermissionDenied`.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import NotFound
from ..extensions import db
from ..models import MAX_ID, Circular, MemberRole, User
from ..permissions import has_role, membership_of, require_role

_ROOM = re.compile(r"(user|leaders):([1-9][0-9]{0,9})")
MAX_ROOM_LENGTH = 32
ALERTS_ROOM = "alerts"
PUBLIC_ROOMS = frozenset({ALERTS_ROOM})


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def leaders_room(association_id: int) -> str:
    return f"leaders:{association_id}"


def parse(room: Any) -> tuple[str, int]:
    """``("user" | "leaders", id)``, ``("alerts", 0)``; NotFound for anything else."""
    if not isinstance(room, str) or len(room) > MAX_ROOM_LENGTH:
        raise NotFound()
    if room in PUBLIC_ROOMS:
        return room, 0
    match = _ROOM.fullmatch(room)
    if match is None or int(match.group(2)) > MAX_ID:
        raise NotFound()
    return match.group(1), int(match.group(2))


def authorize(user: User | None, room: Any) -> str:
    """Return ``room`` if ``user`` may receive its events; raise NotFound / PermissionDenied."""
    kind, ident = parse(room)
    if kind in PUBLIC_ROOMS:
        return kind
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotFound()
    if kind == "user":
        if user.id != ident:
            raise NotFound()
    else:
        require_role(user, ident, MemberRole.BLOCK_LEADER)
    return f"{kind}:{ident}"


def rooms_for_page(user: User, endpoint: str | None, view_args: dict[str, Any] | None) -> list[str]:
    """The rooms a page listens to: always the user's own, plus the leaders' room on a
    circular's status page, and on the leaders' safety-check page, when the user may
    see it."""
    rooms = [user_room(user.id)]
    association_id = None
    if endpoint == "circulars.status" and view_args and "circular_id" in view_args:
        circular = db.session.get(Circular, view_args["circular_id"])
        association_id = circular.association_id if circular is not None else None
    elif endpoint == "safety.manage" and view_args and "association_id" in view_args:
        association_id = view_args["association_id"]
    if association_id is not None and has_role(membership_of(user, association_id),
                                               MemberRole.BLOCK_LEADER):
        rooms.append(leaders_room(association_id))
    return rooms

"""HTTP side of live updates: the catch-up endpoint and each page's starting point.

``GET /live/events?room=<room>&after=<seq>[&limit=<n>]`` returns the room's
events after ``seq`` in order (authorized exactly like a Socket.IO join).  The
page script calls it on every (re)connect with the last ``seq`` it applied.

Every HTML page carries ``data-live-rooms`` (visitors: the public ``alerts`` room
only): ``{room: seq}`` read
*before* the view computes its counters, so an event committed while the page
renders is at worst applied twice (harmless: events carry absolute counts),
never skipped.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, abort, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import ValidationFailed
from . import rooms as live_rooms
from .service import MAX_PAGE_SIZE, PAGE_SIZE, events_after, latest_seqs

bp = Blueprint("live", __name__)

MAX_SEQ = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() accepts "１" and "²"
_NO_LIVE_BLUEPRINTS = frozenset({"api", "live"})
# The portal reads its room position when it renders (it caches whole pages).
# Not HTML pages (nothing listens), or pages that read their own position (the portal).
_NO_LIVE_ENDPOINTS = frozenset({"static", "main.healthz", "portal.index", "push.manifest",
                                "push.service_worker", "cap.cap_document", "cap.atom_feed"})


def _integer(args: Any, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise ValidationFailed(fields={name: _("%(low)d以上%(high)d以下の整数にしてください。",
                                                low=low, high=high)})
    return int(raw)


def catch_up(user: Any, args: Any) -> dict[str, Any]:
    """The JSON body of a catch-up request (shared by the web and the API route)."""
    room = live_rooms.authorize(user, args.get("room"))
    after = _integer(args, "after", 0, 0, MAX_SEQ)
    limit = _integer(args, "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return events_after(room, after, limit).as_json()


@bp.get("/live/events")
def events():
    """Missed events of one room, for the page script (session cookie)."""
    if not current_user.is_authenticated and request.args.get("room") not in \
            live_rooms.PUBLIC_ROOMS:
        abort(401)
    response = jsonify(catch_up(current_user, request.args))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _mark_page_position() -> None:
    """Before a logged-in page's view runs: the last seq of each room it listens to."""
    g.live_rooms = None
    if (request.method != "GET" or request.endpoint is None
            or request.endpoint in _NO_LIVE_ENDPOINTS
            or request.blueprint in _NO_LIVE_BLUEPRINTS):
        return
    # Every page shows new emergency alerts; members' pages also listen to their rooms.
    rooms = [live_rooms.ALERTS_ROOM]
    if current_user.is_authenticated:
        rooms = live_rooms.rooms_for_page(current_user, request.endpoint,
                                          request.view_args) + rooms
    g.live_rooms = latest_seqs(rooms)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_mark_page_position)

    @app.context_processor
    def _live_context() -> dict[str, Any]:
        return {"live_rooms": g.get("live_rooms")}

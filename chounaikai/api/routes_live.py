"""Live updates for API clients: the catch-up of a Socket.IO room.

A token client connects to Socket.IO with ``auth={"token": ...}``, joins its rooms
and, on every (re)connect, asks here for what it missed.  Authorized exactly like a
join (:func:`chounaikai.live.rooms.authorize`).
"""

from __future__ import annotations

from flask import request

from ..live.routes import catch_up
from . import bp
from .auth import current_api_user


@bp.get("/live/events")
def live_events():
    """Events of one room after a seq, in order (``room``, ``after``, ``limit`` in the query)."""
    return catch_up(current_api_user(), request.args)

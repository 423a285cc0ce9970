"""Socket.IO handlers: authenticated connections, authorized room joins.

A connection is authenticated when it opens: by the Flask-Login session cookie
of the handshake, or by ``auth={"token": "<API bearer token>"}``.  Anything else
is refused.  No room is joined implicitly; every ``join`` is authorized on the
server with :func:`chounaikai.live.rooms.authorize` (the same rule as the HTTP
catch-up), re-reading the user and membership, so a bumped session version or a
role change counts at the next join.

Client → server events, each answered through the Socket.IO acknowledgement:

* ``join {"room": "user:12"}`` → ``{"ok": true, "room", "last"}`` or
  ``{"ok": false, "error": "not_found" | "forbidden" | "unauthorized" | "too_many_rooms"}``
* ``leave {"room": ...}`` → ``{"ok": true}``

Server → client: ``live`` envelopes (see :mod:`chounaikai.live.service`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import request, session
from flask_login import current_user

# python-socketio's ConnectionRefusedError (not the builtin) is what refuses a connection.
from flask_socketio import (
    ConnectionRefusedError,
    SocketIO,
    disconnect,
    join_room,
    leave_room,
)

from ..auth.sessions import user_for_token
from ..errors import NotFound, PermissionDenied
from ..models import User
from . import rooms as live_rooms
from .service import latest_seqs

log = logging.getLogger(__name__)

MAX_ROOMS_PER_CONNECTION = 8
# Rooms each connection of this process joined.  Kept here rather than read back from
# the Socket.IO manager, whose room table other threads change while it is iterated.
_joined: dict[str, set[str]] = {}
_joined_lock = threading.Lock()
MAX_TOKEN_LENGTH = 256  # as the API's bearer tokens
_TOKEN_KEY = "_live_bearer_token"  # noqa: S105 - a session key name, not a secret
_PUBLIC_ONLY_KEY = "_live_public_only"  # connected without a login: public rooms only


def _token_from(auth: Any) -> str | None:
    if not isinstance(auth, dict):
        return None
    token = auth.get("token")
    if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH:
        return token
    return None


def _connection_user() -> User | None:
    """The connection's user, read fresh: a revoked token or session stops working."""
    token = session.get(_TOKEN_KEY)
    if token:
        return user_for_token(token)
    if current_user.is_authenticated:
        return current_user._get_current_object()  # type: ignore[attr-defined]
    return None


def _authenticate(auth: Any) -> bool:
    """A bearer token in ``auth`` (kept in this connection's server-side session copy for
    later joins), else the login session cookie of the handshake, else a visitor who may
    join public rooms only (the alert banner).  A token that does not work is refused."""
    if isinstance(auth, dict) and "token" in auth:
        token = _token_from(auth)
        if token is None or user_for_token(token) is None:
            return False
        session[_TOKEN_KEY] = token
        return True
    if not current_user.is_authenticated:
        session[_PUBLIC_ONLY_KEY] = True
    return True


def _room_arg(data: Any) -> Any:
    return data.get("room") if isinstance(data, dict) else data


def _forget(sid: str) -> None:
    with _joined_lock:
        _joined.pop(sid, None)


def register(sio: SocketIO) -> None:
    """Attach the handlers to ``sio`` (one Socket.IO server per app)."""

    @sio.on("connect")
    def on_connect(auth: Any = None) -> None:
        try:
            allowed = _authenticate(auth)
        except Exception:  # e.g. the database is away: refuse rather than let in
            log.exception("live: could not authenticate a connection")
            raise ConnectionRefusedError("unavailable") from None
        if not allowed:
            raise ConnectionRefusedError("unauthorized")

    @sio.on("join")
    def on_join(data: Any = None) -> dict[str, Any]:
        user = _connection_user()
        if user is None and not session.get(_PUBLIC_ONLY_KEY):
            disconnect()  # its login was revoked: it must not keep what it joined before
            return {"ok": False, "error": "unauthorized"}
        if user is None and _room_arg(data) not in live_rooms.PUBLIC_ROOMS:
            return {"ok": False, "error": "unauthorized"}
        try:
            room = live_rooms.authorize(user, _room_arg(data))
        except NotFound:
            return {"ok": False, "error": "not_found"}
        except PermissionDenied:
            return {"ok": False, "error": "forbidden"}
        sid = request.sid  # type: ignore[attr-defined]
        with _joined_lock:
            joined = _joined.setdefault(sid, set())
            if room not in joined and len(joined) >= MAX_ROOMS_PER_CONNECTION:
                return {"ok": False, "error": "too_many_rooms"}
            joined.add(room)
        try:
            join_room(room)
        except (KeyError, ValueError):  # the client left while its join was handled
            _forget(sid)
            return {"ok": False, "error": "disconnected"}
        return {"ok": True, "room": room, "last": latest_seqs([room])[room]}

    @sio.on("leave")
    def on_leave(data: Any = None) -> dict[str, Any]:
        room = _room_arg(data)
        if isinstance(room, str) and room != request.sid:  # type: ignore[attr-defined]
            with _joined_lock:
                _joined.get(request.sid, set()).discard(room)  # type: ignore[attr-defined]
            try:
                leave_room(room)
            except (KeyError, ValueError):
                pass  # already gone
        return {"ok": True}

    @sio.on("disconnect")
    def on_disconnect(*_args: Any) -> None:
        _forget(request.sid)  # type: ignore[attr-defined]

    @sio.on_error_default
    def on_error(error: Exception) -> dict[str, Any]:
        log.error("live: socket event failed", exc_info=error)
        return {"ok": False, "error": "server_error"}

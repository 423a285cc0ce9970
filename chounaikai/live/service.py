"""Record live events in the caller's transaction; announce them over Socket.IO after commit.

Socket.IO is the doorbell, :class:`~chounaikai.models.LiveEvent` is the record.
:func:`record` writes the rows (same transaction as the change) and registers an
``after_commit`` callback that emits them, so a rolled-back change is never
announced and a client that missed an announcement fetches the rows later
(:func:`events_after`).

Ordering guarantee, per room: the committed events of a room always form a
prefix of that room's ``seq`` order.  On SQLite writers are serialized anyway
(``BEGIN IMMEDIATE``); on PostgreSQL :func:`lock_rooms` takes a transaction-scoped
advisory lock per room before the event (and the counts in it) is computed, so
two transactions writing to one room commit in ``seq`` order.  Hence:

* "events after N" never skips an event that commits later, and
* each announced event carries ``prev``, the room's previous ``seq``: a client
  that sees ``prev`` beyond the last ``seq`` it knows has missed something and
  catches up over HTTP.

Call :func:`record` (or :func:`lock_rooms`) once per transaction with all its
rooms: locks are taken in sorted order, so batches never deadlock each other.

Outside a request (workers, scripts) the same :func:`record` works inside an app
context; with ``REDIS_URL`` every process emits through a write-only
``SocketIO(message_queue=...)`` (see :func:`emitter`).  A process without the app
can use :func:`emit_envelopes` with a Redis URL directly.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from flask import Flask, current_app
from sqlalchemy import bindparam, delete, func, insert, select, text

from ..database import after_commit
from ..extensions import db
from ..models import LiveEvent, utcnow

log = logging.getLogger(__name__)

EVENT_NAME = "live"  # the one Socket.IO event name every envelope is sent under
DEFAULT_CHANNEL = "chounaikai-live"
CHANNEL_ENV = "CHOUNAIKAI_LIVE_CHANNEL"
PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
RETENTION = timedelta(days=7)
_IN_CHUNK = 500  # rooms per IN (...) list


@dataclass(frozen=True)
class Event:
    """One event to record: a room, a kind and a small JSON payload (ids and counts only)."""

    room: str
    kind: str
    data: dict[str, Any]


def channel(app: Flask) -> str:
    """The Redis pub/sub channel of this deployment (tests use one per run)."""
    return app.config.get("LIVE_CHANNEL") or os.environ.get(CHANNEL_ENV) or DEFAULT_CHANNEL


# -- recording -------------------------------------------------------------------------------


# Rooms hash into this many advisory locks.  Bounded so that announcing a circular
# to thousands of user rooms takes at most this many locks (PostgreSQL's lock table
# holds max_locks_per_transaction x max_connections, 6,400 by default); two rooms
# sharing a lock only serialize their writers a little more, never less.
LOCK_BUCKETS = 256
_LOCK_NAMESPACE = 0x6368_6F75_0000  # keeps our keys apart from other advisory-lock users


def _lock_key(room: str) -> int:
    digest = hashlib.blake2b(f"chounaikai.live:{room}".encode(), digest_size=8).digest()
    return _LOCK_NAMESPACE + int.from_bytes(digest, "big") % LOCK_BUCKETS


def lock_rooms(rooms: Iterable[str]) -> None:
    """Serialize writers of these rooms until the transaction ends (PostgreSQL only).

    Call it before computing counts that go into an event, so the counts include
    every earlier committed change.  Re-locking a room already held costs nothing: the
    keys this transaction took are remembered, and a first read (which locks its
    reader's room for the count, then again to record the event) asks once.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already serializes every writer
    session = db.session()
    session.connection()  # begins the transaction the locks belong to
    transaction = session.get_nested_transaction() or session.get_transaction()
    held: tuple[Any, set[int]] | None = session.info.get(_HELD_LOCKS)
    if held is None or held[0] is not transaction:
        # Another transaction's (or a savepoint's, whose rollback may release them).
        held = session.info[_HELD_LOCKS] = (transaction, set())
    keys = sorted({_lock_key(room) for room in rooms} - held[1])
    if not keys:
        return
    # A sorted subquery (not flattened by the planner) takes the locks in key order.
    stmt = text("SELECT count(pg_advisory_xact_lock(k)) FROM "
                "(SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS ordered")
    session.execute(stmt, {"keys": keys})
    held[1].update(keys)


_HELD_LOCKS = "chounaikai.live_held_locks"  # Session.info: (transaction, its lock keys)


def _latest(rooms: Sequence[str]) -> dict[str, int]:
    """The highest recorded ``seq`` of each room (rooms without events are left out)."""
    found: dict[str, int] = {}
    # Every page asks this: a statement built once, run on the session's connection as
    # plain rows (no ORM layer).
    connection = db.session.connection()
    for start in range(0, len(rooms), _IN_CHUNK):
        found.update(connection.execute(
            _LATEST, {"rooms": list(rooms[start:start + _IN_CHUNK])}).all())
    return found


_LATEST = (select(LiveEvent.room, func.max(LiveEvent.seq))
           .where(LiveEvent.room.in_(bindparam("rooms", expanding=True)))
           .group_by(LiveEvent.room))


def latest_seqs(rooms: Sequence[str]) -> dict[str, int]:
    """``{room: last seq}`` (0 for a room without events): where a page's catch-up starts."""
    found = _latest(list(rooms))
    return {room: found.get(room, 0) for room in rooms}


_INSERT_EVENTS = insert(LiveEvent.__table__).returning(
    LiveEvent.__table__.c.seq, sort_by_parameter_order=True)


def record(events: Sequence[Event]) -> list[dict[str, Any]]:
    """Write ``events`` in the current transaction and announce them once it commits.

    Returns the envelopes that will be emitted (``seq``, ``prev``, ``room``, ``kind``,
    ``data``, ``at``).  Nothing is emitted if the transaction rolls back.
    """
    if not events:
        return []
    rooms = sorted({event.room for event in events})
    lock_rooms(rooms)
    previous = _latest(rooms)
    now = utcnow()
    # A Core INSERT on the session's connection: the ORM's bulk path would only add
    # its bookkeeping (one of these is written for every first read).
    seqs = list(db.session.connection().execute(
        _INSERT_EVENTS, [{"room": e.room, "kind": e.kind, "payload": e.data, "created_at": now}
                         for e in events]).scalars())
    envelopes = []
    for event, seq in zip(events, seqs, strict=True):
        envelopes.append({"seq": seq, "prev": previous.get(event.room, 0), "room": event.room,
                          "kind": event.kind, "data": event.data, "at": now.isoformat()})
        previous[event.room] = seq
    after_commit(partial(announce, current_app._get_current_object(), envelopes))
    return envelopes


# -- announcing ------------------------------------------------------------------------------

_write_only: dict[tuple[str, str], Any] = {}
_write_only_lock = threading.Lock()


def write_only_emitter(redis_url: str, channel_name: str):
    """A cached ``SocketIO(message_queue=redis_url)`` that only publishes (no server)."""
    from flask_socketio import SocketIO

    key = (redis_url, channel_name)
    with _write_only_lock:
        emitter_ = _write_only.get(key)
        if emitter_ is None:
            emitter_ = SocketIO(message_queue=redis_url, channel=channel_name)
            _write_only[key] = emitter_
        return emitter_


def emitter(app: Flask):
    """What emits for ``app``: the write-only queue when ``REDIS_URL`` is set, else the
    app's own Socket.IO server (the embedded single-process mode)."""
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        return write_only_emitter(redis_url, channel(app))
    return app.extensions["socketio"]


def announce(app: Flask, envelopes: Sequence[dict[str, Any]]) -> None:
    """Emit committed envelopes to their rooms.  Failures only cost a doorbell: the rows
    are committed and clients fetch them on their next catch-up."""
    target = emitter(app)
    for envelope in envelopes:
        try:
            target.emit(EVENT_NAME, envelope, to=envelope["room"], namespace="/")
        except Exception:
            log.exception("live: could not announce seq %s", envelope.get("seq"))


def emit_envelopes(envelopes: Sequence[dict[str, Any]], *, redis_url: str,
                   channel_name: str = DEFAULT_CHANNEL) -> None:
    """For code without the Flask app: emit already committed envelopes through Redis."""
    target = write_only_emitter(redis_url, channel_name)
    for envelope in envelopes:
        target.emit(EVENT_NAME, envelope, to=envelope["room"], namespace="/")


# -- catching up -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    room: str
    events: list[dict[str, Any]]
    has_more: bool
    last: int  # the seq to ask "after" next time (the caller's own ``after`` if nothing new)
    stale: bool  # events after ``after`` may have been pruned: recompute from the page

    def as_json(self) -> dict[str, Any]:
        return {"room": self.room, "events": self.events, "has_more": self.has_more,
                "last": self.last, "stale": self.stale}


def _envelope(row: LiveEvent) -> dict[str, Any]:
    return {"seq": row.seq, "prev": None, "room": row.room, "kind": row.kind,
            "data": row.payload, "at": row.created_at.isoformat()}


def events_after(room: str, after: int, limit: int = PAGE_SIZE) -> Page:
    """The room's events with ``seq > after`` in ``seq`` order, at most ``limit``.

    The caller has authorized ``room``.  ``stale`` is true when ``after`` lies before
    the oldest kept event and events were pruned since: the client cannot replay what
    it missed and should reload its counters.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    rows = list(db.session.scalars(
        select(LiveEvent).where(LiveEvent.room == room, LiveEvent.seq > after)
        .order_by(LiveEvent.seq).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    oldest = db.session.scalar(select(func.min(LiveEvent.seq)))
    stale = after > 0 and oldest is not None and after < oldest - 1
    return Page(room=room, events=[_envelope(r) for r in rows], has_more=has_more,
                last=rows[-1].seq if rows else after, stale=stale)


# -- maintenance -----------------------------------------------------------------------------


def prune(*, older_than: timedelta = RETENTION, now: datetime | None = None) -> int:
    """Delete events older than ``older_than``; returns how many.  Flushes, never commits.

    The newest event is always kept, so SQLite (whose row ids restart after the
    highest one) never hands out a ``seq`` a client has already seen.
    """
    cutoff = (now or utcnow()) - older_than
    newest = db.session.scalar(select(func.max(LiveEvent.seq)))
    if newest is None:
        return 0
    result = db.session.execute(
        delete(LiveEvent).where(LiveEvent.created_at < cutoff, LiveEvent.seq < newest))
    return result.rowcount or 0

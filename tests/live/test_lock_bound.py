"""Announcing to many rooms must not exhaust PostgreSQL's lock table."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from chounaikai.extensions import db
from chounaikai.live.service import LOCK_BUCKETS, lock_rooms


def test_locking_twenty_thousand_rooms_takes_a_bounded_number_of_locks(app):
    """A circular for a large association announces to one room per member."""
    with app.app_context():
        lock_rooms([f"user:{n}" for n in range(20_000)])
        if db.engine.dialect.name == "postgresql":
            held = db.session.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid()"))
            assert 0 < held <= LOCK_BUCKETS
        db.session.rollback()


def _advisory_locks_held() -> int:
    return db.session.scalar(text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"))


def test_a_room_locked_twice_in_one_transaction_is_asked_for_once(app):
    """A first read locks its reader's room for the unread count and again to record
    the event: the second costs no round trip, and every new transaction (or a
    savepoint) asks again, since its locks are not held yet."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite's writers are serialized without locks")
        asked: list[str] = []

        def count(_conn, _cursor, statement, *_rest):
            if "pg_advisory_xact_lock" in statement:
                asked.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            lock_rooms(["user:1"])
            lock_rooms(["user:1"])
            assert len(asked) == 1
            lock_rooms(["user:1", "user:2"])  # only the new room's key is asked for
            assert len(asked) == 2
            db.session.commit()
            assert _advisory_locks_held() == 0
            lock_rooms(["user:1"])  # a new transaction: asked again, and held
            assert len(asked) == 3
            assert _advisory_locks_held() == 1
            savepoint = db.session.begin_nested()
            lock_rooms(["user:3"])
            savepoint.rollback()
            lock_rooms(["user:3"])  # after the savepoint: asked again
            assert len(asked) == 5
            assert _advisory_locks_held() >= 2
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
            db.session.rollback()

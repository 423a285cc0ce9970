"""Announcing to many rooms must not exhaust PostgreSQL's lock table."""

from __future__ import annotations

from sqlalchemy import text

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

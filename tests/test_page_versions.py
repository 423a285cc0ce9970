"""Every committed write moves the page versions members' cached pages are kept under
(chounaikai/pageversions.py): the global one unless the write is known to be narrower."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text, update

from chounaikai import pageversions
from chounaikai.extensions import db
from chounaikai.models import Circular, LiveEvent, PageVersion, Receipt, User, utcnow


def _versions(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(select(PageVersion.scope, PageVersion.version)).all())


@pytest.mark.parametrize(("statement", "table"), [
    ("INSERT INTO receipts (circular_id) VALUES (?)", "receipts"),
    ('insert or ignore into "users" (id) values (1)', "users"),
    ("UPDATE circulars SET title=? WHERE circulars.id = ?", "circulars"),
    ("DELETE FROM public.memberships WHERE id = 3", "memberships"),
    ("WITH x AS (SELECT 1) UPDATE blocks SET name = 'a'", "?"),
    ("REPLACE INTO households VALUES (1)", "?"),
    ("SELECT * FROM circulars", None),
    ("  select 1", None),
])
def test_the_table_a_statement_writes(statement, table):
    assert pageversions.written_table(statement) == table


def test_an_unannounced_write_moves_the_global_version(app, factory):
    association = factory.association()
    before = _versions(app)
    circular = factory.circular(association)
    after = _versions(app)
    assert after["*"] != before.get("*")
    with app.app_context():
        db.session.execute(update(Circular).where(Circular.id == circular.id).values(title="x"))
        db.session.commit()
    assert _versions(app)["*"] != after["*"]


def test_a_members_announced_receipt_moves_only_their_receipts(app, factory):
    association = factory.association()
    member = factory.member(association)
    circular = factory.circular(association)
    before = _versions(app)
    with app.test_request_context("/"):
        pageversions.announce_user(member.user.id)
        db.session.execute(insert(Receipt).values(
            circular_id=circular.id, user_id=member.user.id,
            household_id=member.household_id, read_at=utcnow()))
        db.session.commit()
    after = _versions(app)
    assert after["*"] == before["*"]
    assert after[pageversions.receipts_scope(member.user.id)] != before.get(
        pageversions.receipts_scope(member.user.id))
    assert pageversions.user_scope(member.user.id) not in after
    # The announcement ended with that transaction: the next write is global again.
    with app.test_request_context("/"):
        db.session.execute(update(User).where(User.id == member.user.id).values(locale="en"))
        db.session.commit()
    assert _versions(app)["*"] != after["*"]


def test_unshown_tables_and_rolled_back_writes_move_nothing(app, factory):
    factory.association()
    before = _versions(app)
    with app.app_context():
        db.session.execute(insert(LiveEvent).values(room="alerts", seq=1, kind="alert",
                                                    payload={}, created_at=utcnow()))
        db.session.commit()
        db.session.execute(update(Circular).values(title="rolled back"))
        db.session.rollback()
    assert _versions(app) == before


def test_a_connection_can_opt_out(app, factory):
    """Alembic's connection does (a deploy restarts the processes that keep pages)."""
    factory.association()
    before = _versions(app)
    with app.app_context(), db.engine.connect() as connection:
        connection.execution_options(**{pageversions.DISABLED_OPTION: True})
        connection.execute(text("UPDATE associations SET name = 'x'"))
        connection.commit()
    assert _versions(app) == before

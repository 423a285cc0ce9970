"""Notes are erased after SAFETY_NOTE_RETENTION_DAYS: by the CLI, and before leaders see them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from chounaikai.extensions import db
from chounaikai.models import SafetyAnswer, utcnow
from chounaikai.safety.retention import purge_notes
from tests.helpers import form_post
from tests.safety.helpers import answers, audits
from tests.support import client_for, html

NOTE = "車いすが必要です"


@pytest.fixture
def noted(app, town):
    a = town.association.id
    leader = client_for(app, town.user("leader"))
    form_post(leader, f"/a/{a}/safety/rounds")
    form_post(client_for(app, town.user("resident")), f"/a/{a}/safety/answer",
              {"status": "needs_help", "note": NOTE})
    form_post(client_for(app, town.user("resident2")), f"/a/{a}/safety/answer",
              {"status": "needs_help", "note": "新しいメモ"})
    return leader


def _age(app, household_id: int, days: float) -> None:
    with app.app_context():
        db.session.execute(update(SafetyAnswer).where(SafetyAnswer.household_id == household_id)
                           .values(answered_at=utcnow() - timedelta(days=days)))
        db.session.commit()


def test_purge_erases_notes_older_than_the_retention_only(app, town, noted):
    _age(app, town.household("resident").id, 31)
    _age(app, town.household("resident2").id, 29)

    with app.app_context():
        now = utcnow()
        assert purge_notes(now) == 1
        db.session.commit()

    rows = {r["household_id"]: r for r in answers(app)}
    old, young = rows[town.household("resident").id], rows[town.household("resident2").id]
    assert old["note"] is None
    assert old["note_purged_at"] is not None
    assert old["status"] == "needs_help"  # the answer stays, only the note goes
    assert young["note"] == "新しいメモ"
    assert young["note_purged_at"] is None
    assert audits(app, "safety.notes_purge")[0].detail == {"count": 1, "retention_days": 30}


def test_retention_follows_the_setting(app, town, noted, monkeypatch):
    monkeypatch.setitem(app.config, "SAFETY_NOTE_RETENTION_DAYS", 7)
    _age(app, town.household("resident2").id, 8)
    with app.app_context():
        assert purge_notes(utcnow()) == 1
        assert purge_notes(utcnow()) == 0  # nothing left to erase
        db.session.commit()


def test_cli_command_purges_and_reports(app, town, noted):
    _age(app, town.household("resident").id, 40)

    result = app.test_cli_runner().invoke(args=["safety", "purge-notes"])

    assert result.exit_code == 0, result.output
    assert "purged 1 safety notes older than 30 days" in result.output
    assert NOTE not in [r["note"] for r in answers(app)]


def test_leaders_page_purges_before_showing(app, town, noted):
    _age(app, town.household("resident").id, 31)

    page = html(noted.get(f"/a/{town.association.id}/safety/manage"))

    assert NOTE not in page
    assert "メモは保存期間を過ぎたため消しました" in page
    assert "新しいメモ" in page
    assert [r["note"] for r in answers(app)].count(None) == 1

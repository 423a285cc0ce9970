"""Shelter fixtures: the pinned open-data files and a quick shelter builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from chounaikai.extensions import db
from chounaikai.models import Shelter, User

# The browser fixtures of tests/browser, for test_browser.py (which launches Chromium
# for itself, module-scoped, so Playwright's loop is gone before the other modules run).
from tests.browser.conftest import chromium_executable, new_phone, server_url  # noqa: F401

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shelters"
MACHIDA = (FIXTURES / "gsi-machida-132098-evacuation.geojson",
           FIXTURES / "gsi-machida-132098-emergency.geojson")
NANAO = FIXTURES / "nanao-designated-shelters-digital-agency-format.csv"
NANAO_OPEN = FIXTURES / "nanao-open-shelters-2024-01-09-1800.csv"


def make_shelter(factory, *, name: str = "原町田小学校", contacts: tuple[User, ...] = (),
                 **columns) -> Shelter:
    """A committed shelter (with contacts), detached like the factory's other rows."""
    values = {"source_key": f"test:{name}", "name": name, "address": f"東京都町田市{name}",
              "district": "原町田", "latitude": 35.54, "longitude": 139.45,
              "is_evacuation_shelter": True, "hazards": ["earthquake"], **columns}
    shelter = Shelter(**values)
    shelter.contacts = list(contacts)
    factory._save(shelter)
    return shelter


@pytest.fixture
def run_import(app):
    """``run_import(*paths_or_uploads, district_from=None)``: import and commit, as the CLI."""
    from chounaikai.shelters import importers

    def _run(*items, district_from: str | None = None):
        with app.app_context():
            uploads = [item if isinstance(item, importers.Upload)
                       else importers.Upload(Path(item).name, Path(item).read_bytes())
                       for item in items]
            try:
                result = importers.import_uploads(uploads, district_from=district_from)
            except Exception:
                db.session.rollback()
                raise
            db.session.commit()
            return result

    return _run


@pytest.fixture
def shelters_by_key(app):
    """``shelters_by_key()``: every stored shelter, detached, by source_key."""

    def _load() -> dict[str, Shelter]:
        with app.app_context():
            rows = db.session.scalars(db.select(Shelter)).all()
            for row in rows:
                db.session.expunge(row)
            return {row.source_key: row for row in rows}

    return _load

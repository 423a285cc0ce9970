"""Shared fixtures: one migrated database per run, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import text

from chounaikai import create_app
from chounaikai.database import dispose_engines
from chounaikai.extensions import db, limiter
from tests import dbutil
from tests.factories import Factory


def pytest_report_header() -> str:
    return f"chounaikai database backend: {dbutil.backend()}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dbutil.fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on a database built by the Alembic migrations (the schema's source of truth)."""
    instance = tmp_path_factory.mktemp("instance")
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "UPLOAD_FOLDER": str(instance / "uploads"),
        "SERVER_NAME": "localhost",
        # Every request renders the portal afresh (tests/portal tests the cache itself).
        "PORTAL_CACHE_SECONDS": 0,
    })
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)
    with app.app_context():
        upgrade()
    yield app
    dispose_engines(app)


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 - our table names
    db.session.commit()


@pytest.fixture(autouse=True)
def _clean_state(app: Flask) -> Iterator[None]:
    """Every test starts with empty tables and fresh rate-limit counters."""
    with app.app_context():
        _empty_tables()
        limiter.reset()
    yield
    with app.app_context():
        db.session.remove()


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Replace pytest-flask's fixture of this name: it keeps a request context open
    for the whole test, so every test-client request would share one ``g`` and one
    database session (and a logged-in user would leak between clients)."""


@pytest.fixture
def client(app: Flask):
    """A plain test client.  pytest-flask's own runs inside ``with``, which keeps each
    request's contexts pushed afterwards, and a second client would reuse them."""
    return app.test_client()


@pytest.fixture
def factory(app: Flask) -> Factory:
    """Builds committed rows; see tests/factories.py."""
    with app.app_context():
        engine = db.engine
    return Factory(engine)


@pytest.fixture
def login(client):
    """``login(user)`` logs the test client in through the real form, CSRF included."""
    from tests.factories import PASSWORD
    from tests.helpers import form_post

    def _login(user, password: str = PASSWORD):
        response = form_post(client, "/login", {"login": user.login_id, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return _login

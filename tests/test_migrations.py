"""The Alembic migrations are the schema's source of truth: they match the models and reverse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, Integer, MetaData, Table, inspect, text

from chounaikai import (
    create_app,
    models,  # noqa: F401 - registers every table on db.metadata
)
from chounaikai.database import dispose_engines
from chounaikai.extensions import db
from tests import dbutil

# Every table the models declare; upgrade must create exactly these.
APP_TABLES = set(db.metadata.tables)


def _differences(connection, metadata: MetaData) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


def test_models_match_the_migrated_database(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = _differences(connection, db.metadata)

    assert differences == []


def test_drift_check_notices_a_model_column_without_migration(app):
    """The check above can fail: a column only the models know is reported."""
    extended = MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(extended)
    Table("households", extended, Column("floor", Integer), extend_existing=True)

    with app.app_context(), db.engine.connect() as connection:
        differences = _differences(connection, extended)

    assert [(d[0], d[2], d[3].name) for d in differences if d[0] == "add_column"] == [
        ("add_column", "households", "floor")]


@pytest.fixture
def scratch_app(tmp_path: Path) -> Iterator[Flask]:
    """A second app on its own fresh database, so downgrading cannot disturb other tests."""
    with dbutil.fresh_database(tmp_path) as url:
        app = create_app({"TESTING": True, "SECRET_KEY": "migration-test", "DATABASE_URL": url,
                          "UPLOAD_FOLDER": str(tmp_path / "uploads")})
        yield app
        dispose_engines(app)


def _tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_downgrade_to_base_and_upgrade_again(scratch_app):
    with scratch_app.app_context():
        upgrade()
    assert _tables(scratch_app) == APP_TABLES

    with scratch_app.app_context():
        downgrade(revision="base")
    assert _tables(scratch_app) == set()

    with scratch_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            assert _differences(connection, db.metadata) == []
    assert _tables(scratch_app) == APP_TABLES


def test_circulars_due_a_recount_stay_due_across_0006(scratch_app):
    """0006 gives each receipt its own due mark; a circular due before it stays due."""
    due = "SELECT circular_id FROM live_counts_due ORDER BY circular_id"
    with scratch_app.app_context():
        upgrade(revision="0005")
        # The models' tables, as 0005 left them (0006 changes only live_counts_due).
        associations, circulars = (db.metadata.tables[n] for n in ("associations", "circulars"))
        with db.engine.begin() as connection:
            association_id = connection.execute(associations.insert().values(
                name="test", district="test")).inserted_primary_key[0]
            ids = [connection.execute(circulars.insert().values(
                association_id=association_id, title=title, body_md="", body_html="",
            )).inserted_primary_key[0] for title in ("a", "b")]
            connection.execute(text("INSERT INTO live_counts_due (circular_id, since) "
                                    "VALUES (:c, CURRENT_TIMESTAMP)"), [{"c": c} for c in ids])
        upgrade(revision="0006")
        with db.engine.begin() as connection:
            assert list(connection.scalars(text(due))) == ids
            # Now one mark per receipt: a second one for the same circular is allowed.
            connection.execute(text("INSERT INTO live_counts_due (circular_id, since) "
                                    "VALUES (:c, CURRENT_TIMESTAMP)"), {"c": ids[0]})
        downgrade(revision="0005")
        with db.engine.connect() as connection:
            assert list(connection.scalars(text(due))) == ids

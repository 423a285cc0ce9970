"""Test databases: a fresh SQLite file or a fresh PostgreSQL database per test run.

``CHOUNAIKAI_TEST_DATABASE_URL`` names a PostgreSQL server database (e.g.
``postgresql://postgres@127.0.0.1:5432/test``); a new database is created
beside it for the run and dropped afterwards, so runs never share state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from chounaikai.config import normalize_database_url

ENV_VAR = "CHOUNAIKAI_TEST_DATABASE_URL"


def backend() -> str:
    return "postgresql" if os.environ.get(ENV_VAR) else "sqlite"


@contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[str]:
    """Yield the URL of an empty database that is removed afterwards."""
    server_url = os.environ.get(ENV_VAR)
    if not server_url:
        yield f"sqlite:///{tmp_dir / 'test.sqlite3'}"
        return
    url = make_url(normalize_database_url(server_url))
    name = f"chounaikai_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
            ), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def write_elsewhere(database_url: str, wait_seconds: float = 0.3) -> None:
    """A write on a connection of its own that gives up after ``wait_seconds`` of waiting
    for a lock ("database is locked" on SQLite): proves the caller is not holding it."""
    engine = create_engine(normalize_database_url(database_url))
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
            else:
                conn.execute(text(f"SET LOCAL lock_timeout = '{int(wait_seconds * 1000)}ms'"))
            conn.execute(text("UPDATE users SET display_name = display_name"))
    finally:
        engine.dispose()

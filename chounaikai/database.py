"""Database set-up: SQLite pragmas, one transaction per request, after-commit hooks.

Services flush but never commit.  The request's single transaction is
committed in ``after_request`` when the response is not an error, and rolled
back otherwise; callbacks registered with :func:`after_commit` (push, socket
emits) run only once the data they announce is durable.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from . import pageversions
from .extensions import db
from .sqlite_writer import QueuedWriterConnection

log = logging.getLogger(__name__)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CALLBACKS_KEY = "chounaikai_after_commit"
_ROLLBACK_KEY = "chounaikai_after_rollback"
_WRITING_KEY = "_chounaikai_writing"


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """WAL, a busy timeout and foreign keys on every SQLite connection.

    ``isolation_level = None`` hands transaction control to SQLAlchemy's
    ``begin`` event below, as SQLAlchemy's pysqlite docs recommend.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn: Connection) -> None:
    """Take SQLite's write lock up front for requests that may write.

    A deferred transaction that reads and then writes cannot upgrade its lock
    once another writer has committed (SQLITE_BUSY_SNAPSHOT, which ignores the
    busy timeout).  ``BEGIN IMMEDIATE`` makes concurrent writers queue instead of
    failing: in :mod:`.sqlite_writer`'s queue first, on the busy timeout otherwise.
    """
    if conn.dialect.name != "sqlite":
        return
    if not _request_may_write():
        conn.exec_driver_sql("BEGIN")
        return
    writer = conn.connection.dbapi_connection
    queued = isinstance(writer, QueuedWriterConnection)
    if queued:
        writer.queue_for_write()  # our writers take turns (sqlite_writer.py)
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if queued:
            writer.leave_write_queue()
        raise


def _request_may_write() -> bool:
    if not has_request_context():
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "reads_first", False):
        return bool(g.get(_WRITING_KEY))
    if request.method not in _SAFE_METHODS:
        return True
    return bool(getattr(view, "writes_on_get", False))


def writes_on_get(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a GET view that writes (e.g. an audit row) so SQLite locks up front."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


def reads_first(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a POST view that checks before it writes (log-in: argon2 takes ~0.1 s).

    On SQLite its transaction begins deferred, so the slow check does not hold the
    database's single write lock and stall every other writer.  Once the check
    passes, the view calls :func:`start_writing` before anything writes.
    """
    view.reads_first = True  # type: ignore[attr-defined]
    return view


def start_writing(*, keep_loaded: bool = False) -> None:
    """In a :func:`reads_first` view: end the read-only transaction so far; the next
    one takes SQLite's write lock up front (a deferred transaction that read first
    could not upgrade once another writer had committed).

    ``keep_loaded=True`` keeps what the check loaded (``current_user`` above all)
    instead of expiring it and selecting it again: only for a write that reads again,
    under the write lock, everything it depends on (as mark read does).
    """
    if not has_request_context() or g.get(_WRITING_KEY):
        return
    session = db.session()  # the request's Session itself, not the scoped proxy
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("start_writing() after changes: they would be committed early")
    expire = session.expire_on_commit
    session.expire_on_commit = expire and not keep_loaded
    try:
        session.commit()  # nothing written: only ends the read snapshot
    finally:
        session.expire_on_commit = expire
    g.setdefault(_WRITING_KEY, True)


def insert_for(dialect_name: str | None = None) -> Callable[..., Any]:
    """The INSERT construct with ``ON CONFLICT`` of a database (default: the session's)."""
    from sqlalchemy.dialects import postgresql, sqlite

    name = dialect_name or db.session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` after the current transaction commits; drop it on rollback."""
    db.session.info.setdefault(_CALLBACKS_KEY, []).append(callback)


def after_rollback(callback: Callable[[], None]) -> None:
    """Run ``callback`` if the current transaction rolls back (e.g. delete a written file)."""
    db.session.info.setdefault(_ROLLBACK_KEY, []).append(callback)


def _run(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed side effect must not undo committed data
            log.exception("transaction callback failed")


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    session.info.pop(_ROLLBACK_KEY, None)
    _run(session.info.pop(_CALLBACKS_KEY, []))


@event.listens_for(Session, "after_rollback")
def _run_after_rollback(session: Session) -> None:
    session.info.pop(_CALLBACKS_KEY, None)
    _run(session.info.pop(_ROLLBACK_KEY, []))


def init_app(app: Flask) -> None:
    """Install the per-request transaction boundary."""

    @app.after_request
    def _finish_transaction(response: Response) -> Response:
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response


def dispose_engines(app: Flask) -> None:
    """Close every connection ``app`` pooled: its engine's and the replay checks' own
    (:func:`chounaikai.pageversions.outside_engine`).  Tests and bench scripts call it
    before they drop a database or let an app go."""
    pageversions.dispose_outside_engine(app)
    with app.app_context():
        db.engine.dispose()

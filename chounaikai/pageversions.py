"""Versions of what members' cached pages show: every committed write moves one.

A member's inbox and circular pages are replayed (:mod:`chounaikai.memberpages`)
only while the versions they were rendered under are unchanged.  Rather than
trusting every service to say what it changed, each INSERT, UPDATE and DELETE
the database runs is classified here, at the SQL level, on every engine:

* a table in :data:`UNSHOWN_TABLES` (push queues, live events, audit rows,
  shelters …) is on none of those pages: nothing moves;
* ``receipts`` (and ``users``) rows written by a transaction that announced whose
  they are (:func:`announce_user`: a member's read and acknowledgement, the writes
  that happen all day) move that member's ``r:<id>`` (their receipts: the inbox;
  a circular's page checks its own receipt itself) or ``u:<id>`` (their account);
* anything else moves the global version ``*``, so every cached member page is
  rendered afresh once.  A new table or a forgotten announcement costs renders,
  never a stale page.

The new versions are written in the same transaction, just before it commits,
so a page can never be cached under versions newer than what it shows.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

from .extensions import db
from .models import utcnow

GLOBAL_SCOPE = "*"

# Written all the time, shown on no cached member page (inbox, circular): writing them
# must not throw every member's pages away.  Whoever caches a page that shows one of
# these must take it off this list.
UNSHOWN_TABLES = frozenset({
    "page_versions", "alembic_version",
    "live_events", "live_counts_due",  # announcements of changes made elsewhere
    "notifications", "push_deliveries", "push_subscriptions", "push_origin_pauses",
    "audit_log", "api_tokens", "invites",
    "shelters", "shelter_status_updates", "shelter_contacts",
    "safety_answers",  # the inbox shows that a round is open (safety_rounds), not answers
})
# Rows that belong to one member, when the writing transaction says whose they are:
# the scope prefix each moves.
MEMBER_TABLES = {"receipts": "r", "users": "u"}

# Execution option that turns the classification off for one connection (Alembic: a
# deploy restarts every process, which empties their caches anyway).
DISABLED_OPTION = "chounaikai_page_versions_off"

_STATE_KEY = "chounaikai_page_versions"
# The table a data-changing statement writes.  Anything else that writes (a CTE, a
# REPLACE, a TRUNCATE) counts as an unknown table, i.e. global.
_WRITE = re.compile(
    r"""^\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+
        (?:"?\w+"?\.)?"?(\w+)"?""", re.IGNORECASE | re.VERBOSE)
_MAYBE_WRITE = re.compile(r"^\s*(?:WITH|REPLACE|TRUNCATE|MERGE)\b", re.IGNORECASE)


def user_scope(user_id: int) -> str:
    """The member's account: session version, language, text size, furigana."""
    return f"u:{user_id}"


def receipts_scope(user_id: int) -> str:
    """Every receipt of the member (their inbox marks)."""
    return f"r:{user_id}"


class _Pending:
    """What the current transaction of one connection has written so far."""

    __slots__ = ("tables", "users")

    def __init__(self) -> None:
        self.tables: set[str] = set()
        self.users: set[int] = set()

    def scopes(self) -> list[str]:
        scopes: set[str] = set()
        for table in self.tables:
            prefix = MEMBER_TABLES.get(table)
            if prefix is None or not self.users:
                return [GLOBAL_SCOPE]  # it includes every member scope
            scopes.update(f"{prefix}:{user_id}" for user_id in self.users)
        return sorted(scopes)


def _pending(info: dict[str, Any]) -> _Pending:
    state = info.get(_STATE_KEY)
    if state is None:
        state = info[_STATE_KEY] = _Pending()
    return state


def written_table(statement: str) -> str | None:
    """The table a statement writes ("?" when it may write somewhere unknown), else None."""
    match = _WRITE.match(statement)
    if match:
        return match.group(1).lower()
    return "?" if _MAYBE_WRITE.match(statement) else None


def announce_user(user_id: int) -> None:
    """In a transaction that writes this member's own receipts (or account row): move
    only their pages' versions, not everyone's."""
    _pending(db.session.connection().info).users.add(user_id)


@event.listens_for(Engine, "after_cursor_execute")
def _note_write(conn: Connection, _cursor: Any, statement: str, *_rest: Any) -> None:
    table = written_table(statement)
    if table is None or table in UNSHOWN_TABLES:
        return
    if conn.get_execution_options().get(DISABLED_OPTION):
        return
    _pending(conn.info).tables.add(table)


@event.listens_for(Engine, "commit")
def _write_versions(conn: Connection) -> None:
    """Runs just before the transaction commits: the new versions commit with it."""
    state: _Pending | None = conn.info.pop(_STATE_KEY, None)
    if state is None or not state.tables:
        return
    scopes = state.scopes()
    marker = _marker(conn.dialect.paramstyle)
    # Straight to the driver: this must not start, or be seen as, another statement.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            f"INSERT INTO page_versions (scope, version) VALUES ({marker}, {marker}) "  # noqa: S608
            "ON CONFLICT (scope) DO UPDATE SET version = excluded.version",
            [(scope, secrets.randbits(62)) for scope in scopes])
    finally:
        cursor.close()


@event.listens_for(Engine, "rollback")
def _forget_on_rollback(conn: Connection) -> None:
    conn.info.pop(_STATE_KEY, None)


@event.listens_for(Pool, "checkin")
def _forget_on_checkin(_dbapi_connection: Any, record: Any) -> None:
    # A connection handed back without commit or rollback (the pool resets it).
    if record is not None:
        record.info.pop(_STATE_KEY, None)


@dataclass(frozen=True)
class Probe:
    """What one cached page shows, as one query: the versions of ``scopes`` and, for a
    circular's page, the member's own receipt of it (read and acknowledgement times).

    The same SQL is read in the rendering request's transaction (:meth:`read`) and
    before Flask runs (:meth:`read_outside`), through the same driver, so equal rows
    mean nothing the page shows has been written in between.
    """

    scopes: tuple[str, ...]
    receipt: tuple[int, int] | None = None  # (circular id, user id)

    def _sql(self, marker: str) -> tuple[str, tuple[Any, ...]]:
        key = (marker, len(self.scopes), self.receipt is not None)
        sql = _PROBE_SQL.get(key)
        if sql is None:
            # Only constants and the driver's placeholder go into the text; values are bound.
            version = f"(SELECT version FROM page_versions WHERE scope = {marker})"  # noqa: S608
            parts = [version] * len(self.scopes)
            if self.receipt is not None:
                parts += [f"(SELECT {column} FROM receipts "  # noqa: S608
                          f"WHERE circular_id = {marker} AND user_id = {marker})"
                          for column in ("read_at", "acknowledged_at")]
            sql = _PROBE_SQL[key] = "SELECT " + ", ".join(parts)
        params = self.scopes + (self.receipt * 2 if self.receipt is not None else ())
        return sql, params

    def read(self) -> tuple[Any, ...]:
        """As this request's transaction sees it (None: a scope never moved)."""
        connection = db.session.connection()
        sql, params = self._sql(_marker(connection.dialect.paramstyle))
        return tuple(connection.exec_driver_sql(sql, params).one())

    def read_outside(self, engine: Engine) -> tuple[Any, ...] | None:
        """The same before Flask runs, on a pooled driver connection of its own (no ORM,
        no transaction of ours: SQLite answers from the latest commit).  None when the
        database could not be asked (a connection :func:`outside_engine` pooled has gone
        away): the caller renders the page instead, on a connection that was checked."""
        sql, params = self._sql(_marker(engine.dialect.paramstyle))
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            row = tuple(cursor.fetchone())
            cursor.close()
        except engine.dialect.loaded_dbapi.Error:
            connection.invalidate()
            return None
        finally:
            connection.close()
        return row


_OUTSIDE_ENGINE = "chounaikai.page_probe_engine"
# How these connections show in pg_stat_activity.
PROBE_APPLICATION_NAME = "chounaikai page probe"
_outside_lock = threading.Lock()


def outside_engine() -> Engine:
    """The engine :meth:`Probe.read_outside` uses for the app's database (app context).

    SQLite: the app's own; a query there costs microseconds in process.  PostgreSQL: a
    small engine of its own in autocommit mode and without the pre-ping.  A probe is
    then one round trip, where a connection of the app's engine costs four (the
    pre-ping's BEGIN and SELECT 1, the probe, the ROLLBACK when it goes back to the
    pool), and the read-path bench's replays spent most of their time waiting on
    those.  One SELECT needs no transaction around it: it sees one committed state.
    """
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return engine
    extensions = current_app.extensions
    found: Engine | None = extensions.get(_OUTSIDE_ENGINE)
    if found is None:
        with _outside_lock:
            found = extensions.get(_OUTSIDE_ENGINE)
            if found is None:
                found = extensions[_OUTSIDE_ENGINE] = create_engine(
                    engine.url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=8,
                    connect_args={"application_name": PROBE_APPLICATION_NAME})
    return found


def dispose_outside_engine(app: Flask) -> None:
    """Close the connections :func:`outside_engine` pooled for ``app`` (tests, shutdown)."""
    found: Engine | None = app.extensions.pop(_OUTSIDE_ENGINE, None)
    if found is not None:
        found.dispose()


def _marker(paramstyle: str) -> str:
    return "?" if paramstyle == "qmark" else "%s"


_PROBE_SQL: dict[tuple[str, int, bool], str] = {}


_GLOBAL_SEEN = "_page_version_global"


def saw_global(version: Any) -> None:
    """The probe of a member page read the global version first: this request's view."""
    if has_request_context():
        g.setdefault(_GLOBAL_SEEN, version)


def global_version() -> Any:
    """The global version as this request first saw it (read now if it has not)."""
    if has_request_context() and _GLOBAL_SEEN in g:
        return g.get(_GLOBAL_SEEN)
    version = Probe((GLOBAL_SCOPE,)).read()[0]
    saw_global(version)
    return version


T = TypeVar("T")


class GlobalMemo(Generic[T]):
    """Values derived from rows only unannounced writes change (alerts, circulars, blocks…),
    kept per process while the global version is the one they were computed under.

    Read the version first, compute second: a value is then at least as new as the
    version it is kept under, never older.  ``compute`` also says until when its
    value holds by itself (an alert's expiry), or None.
    """

    def __init__(self, max_entries: int = 1024):
        self._entries: dict[Hashable, tuple[Any, datetime | None, T]] = {}
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], tuple[T, datetime | None]]
            ) -> tuple[T, datetime | None]:
        version = global_version()
        entry = self._entries.get(key)
        if entry is not None and entry[0] == version and (entry[1] is None
                                                          or utcnow() < entry[1]):
            return entry[2], entry[1]
        value, until = compute()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (version, until, value)
        return value, until

"""SQLite's writers queue on the side file lock (chounaikai/sqlite_writer.py).

Each waiting writer here has a busy timeout of 0: without the queue its
``BEGIN IMMEDIATE`` would fail at once with "database is locked", so a writer that
succeeds after the holder commits has waited in the queue, not in SQLite.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from chounaikai import database  # noqa: F401 - installs the begin event under test
from chounaikai.config import engine_options
from chounaikai.sqlite_writer import LOCK_SUFFIX, QueuedWriterConnection

HOLDER = """
import sqlite3, sys
from chounaikai.sqlite_writer import QueuedWriterConnection
conn = sqlite3.connect(sys.argv[1], factory=QueuedWriterConnection, isolation_level=None)
conn.queue_for_write()
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO t VALUES ('child')")
print("holding", flush=True)
sys.stdin.readline()
conn.commit()
"""


def _connect(path: Path, busy_ms: int = 0) -> QueuedWriterConnection:
    conn = sqlite3.connect(path, factory=QueuedWriterConnection, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    return conn


def _begin_write(conn: QueuedWriterConnection) -> None:
    conn.queue_for_write()
    conn.execute("BEGIN IMMEDIATE")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "queue.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (who TEXT)")
    conn.commit()
    conn.close()
    return path


def _writer_thread(path: Path, done: threading.Event, seen: list[int]) -> threading.Thread:
    def write() -> None:
        conn = _connect(path)
        _begin_write(conn)
        seen.append(conn.execute("SELECT count(*) FROM t").fetchone()[0])
        conn.execute("INSERT INTO t VALUES ('second')")
        conn.commit()
        conn.close()
        done.set()

    return threading.Thread(target=write, daemon=True)


def test_a_second_writer_waits_for_the_first_to_commit(db_path: Path) -> None:
    first = _connect(db_path)
    _begin_write(first)
    first.execute("INSERT INTO t VALUES ('first')")
    done, seen = threading.Event(), []
    thread = _writer_thread(db_path, done, seen)
    thread.start()
    assert not done.wait(0.3), "the second writer got in while the first held the lock"
    first.commit()
    assert done.wait(5), "the second writer was not let in after the commit"
    assert seen == [1]  # it began after the first writer's row was committed
    assert (db_path.parent / (db_path.name + LOCK_SUFFIX)).exists()


@pytest.mark.parametrize("finish", ["rollback", "close"])
def test_rollback_and_close_let_the_next_writer_in(db_path: Path, finish: str) -> None:
    first = _connect(db_path)
    _begin_write(first)
    first.execute("INSERT INTO t VALUES ('dropped')")
    done, seen = threading.Event(), []
    thread = _writer_thread(db_path, done, seen)
    thread.start()
    assert not done.wait(0.2)
    getattr(first, finish)()
    assert done.wait(5)
    assert seen == [0]


def test_writers_in_other_processes_queue_too(db_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "holding"
        done, seen = threading.Event(), []
        thread = _writer_thread(db_path, done, seen)
        thread.start()
        assert not done.wait(0.3), "a writer got in while another process held the lock"
        child.stdin.write("\n")
        child.stdin.flush()
        assert done.wait(5)
        assert seen == [1]
    finally:
        child.stdin.close()
        assert child.wait(10) == 0
        child.stdout.close()


def test_a_thread_that_holds_the_queue_falls_back_to_the_busy_timeout(db_path: Path) -> None:
    """A second connection of the same thread must not wait for its own first one."""
    outcome: list[str] = []

    def same_thread() -> None:
        first = _connect(db_path)
        _begin_write(first)
        second = _connect(db_path, busy_ms=50)
        try:
            _begin_write(second)
            outcome.append("entered")
        except sqlite3.OperationalError as error:
            outcome.append(str(error))
        first.rollback()
        second.close()
        first.close()

    thread = threading.Thread(target=same_thread, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the thread deadlocked on its own write lock"
    assert outcome == ["database is locked"]


def test_in_memory_databases_do_not_queue() -> None:
    conn = sqlite3.connect(":memory:", factory=QueuedWriterConnection, isolation_level=None)
    _begin_write(conn)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    assert conn._lock_fd is None
    conn.close()


def test_the_app_engine_queues_its_writers_and_releases_on_a_failed_begin(db_path: Path) -> None:
    """Through SQLAlchemy and the begin event: a failed BEGIN IMMEDIATE (the database is
    locked by a writer that does not queue) leaves the queue free for the next writer."""
    url = f"sqlite:///{db_path}"
    engine = create_engine(url, **engine_options(url))
    outsider = sqlite3.connect(db_path, isolation_level=None)  # a plain connection
    try:
        with engine.connect() as conn:
            assert isinstance(conn.connection.dbapi_connection, QueuedWriterConnection)
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            conn.rollback()
            outsider.execute("BEGIN IMMEDIATE")
            with pytest.raises(OperationalError, match="database is locked"):
                conn.execute(text("INSERT INTO t VALUES ('blocked')"))
            conn.rollback()
            outsider.rollback()
            done, seen = threading.Event(), []
            thread = _writer_thread(db_path, done, seen)
            thread.start()
            assert done.wait(5), "the failed BEGIN kept the queue"
            conn.execute(text("INSERT INTO t VALUES ('app')"))
            assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
            conn.commit()
    finally:
        outsider.close()
        engine.dispose()


def test_a_connection_dropped_while_queued_lets_the_next_writer_in(db_path: Path) -> None:
    import gc

    first = _connect(db_path)
    _begin_write(first)
    done, seen = threading.Event(), []
    thread = _writer_thread(db_path, done, seen)
    thread.start()
    assert not done.wait(0.2)
    del first
    gc.collect()
    assert done.wait(5), "a dropped connection kept the queue"
    assert seen == [0]

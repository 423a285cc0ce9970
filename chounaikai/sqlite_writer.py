"""SQLite's writers wait in one queue, across threads and processes.

SQLite lets one connection write at a time.  A writer that finds the write lock
taken waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, … up to 100 ms
between tries; whenever it wakes, a writer that arrived meanwhile may have taken
the lock again.  Under a stream of short writes (the first reads when a circular
goes out) the read-path benchmark measured single waits of over 300 ms for a lock
that no one held for more than a few milliseconds, and the gunicorn thread stood
still all that time, with every request queued behind it.

So our writers first take an exclusive ``flock(2)`` on a file beside the database
(``<database>-writelock``), and only then ``BEGIN IMMEDIATE``.  The kernel wakes a
waiter as soon as the holder lets go, so ``BEGIN IMMEDIATE`` then almost never waits.
The file lock is let go after ``COMMIT`` or ``ROLLBACK``.

SQLite's own lock stays the guarantee: a writer that does not queue here (the
sqlite3 shell, a script with its own engine) still just meets the busy timeout.  A
thread that already holds the queue for one connection does not queue again for a
second one (it would wait for itself); that second writer falls back to the busy
timeout, as every writer did before.  In-memory databases have no file to lock and
do not queue.

Unlike the busy timeout, the queue has no time limit: a writer waits as long as the
holder's transaction lasts (a stuck request ends with its worker's timeout, and the
descriptor, with its lock, goes with the process).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading

LOCK_SUFFIX = "-writelock"
# Threads that hold the queue now (set operations are atomic under the GIL).
_holders: set[int] = set()


class QueuedWriterConnection(sqlite3.Connection):
    """A pysqlite connection (``sqlite3.connect(..., factory=...)``) whose writers queue."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock_fd: int | None = None
        self._lock_resolved = False
        self._holder: int | None = None

    def _lock_file(self) -> int | None:
        if not self._lock_resolved:
            self._lock_resolved = True
            row = self.execute("PRAGMA database_list").fetchone()  # (seq, name, file)
            path = row[2] if row else ""
            if path:  # "" for :memory: and temporary databases
                try:  # read-only is enough for flock, and works where the file is not ours
                    self._lock_fd = os.open(path + LOCK_SUFFIX,
                                            os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
                except OSError:
                    self._lock_fd = None  # e.g. a read-only directory: busy timeout only
        return self._lock_fd

    def queue_for_write(self) -> None:
        """Wait for our turn to write; call just before ``BEGIN IMMEDIATE``."""
        thread = threading.get_ident()
        if self._holder is not None or thread in _holders:
            return
        fd = self._lock_file()
        if fd is None:
            return
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks without the GIL
        self._holder = thread
        _holders.add(thread)

    def leave_write_queue(self) -> None:
        """Let the next writer in (after COMMIT or ROLLBACK; harmless when not queued)."""
        if self._holder is None:
            return
        _holders.discard(self._holder)
        self._holder = None
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_write_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_write_queue()

    def __del__(self) -> None:
        # Dropped without close() while queued: closing the descriptor drops its flock,
        # so the next writer is not kept waiting for a connection that is gone.
        # SQLite's own lock goes first, then ours.  (getattr: __init__ may have failed.)
        try:
            super().close()
        except Exception:  # noqa: S110 - e.g. another thread's connection: nothing to do
            pass
        holder, fd = getattr(self, "_holder", None), getattr(self, "_lock_fd", None)
        if holder is not None:
            _holders.discard(holder)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_write_queue()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

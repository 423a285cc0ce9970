"""The leaders' receipt counters, announced once per circular per tick, not once per read.

Recounting a circular's read status reads its whole audience, and on PostgreSQL it
runs under the leaders' room lock, so an association's readers queue behind each
other; on SQLite it runs under the single write lock.  When a circular goes out,
hundreds of first reads come in within minutes: recounting for each is work that
grows with the square of the audience.

So with ``LIVE_COUNTS_SECONDS`` above zero a receipt only marks its circular due (a
``live_counts_due`` row in the receipt's own transaction: durable, like the push
outbox), and each serving process's counter thread announces the due circulars
every that many seconds: one recount, one event, however many reads arrived.  The
counts then include every receipt committed before the recount, so events still
carry absolute numbers in ``seq`` order.  Each receipt writes its own mark and a
recount takes only the marks it can see, those of committed receipts, so a receipt
still in flight (PostgreSQL runs them beside a recount) keeps its mark for the next
tick.  A reader's own unread count is still announced at once (:mod:`.announcements`).
Zero keeps the recount in the receipt's transaction.  Under TESTING no thread runs:
tests call :func:`announce_due`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from flask import Flask, current_app
from sqlalchemy import bindparam, delete, insert, select

from ..extensions import db
from ..models import LiveCountsDue, utcnow
from . import counts
from .rooms import leaders_room
from .service import Event, lock_rooms, record

log = logging.getLogger(__name__)

_THREAD_KEY = "chounaikai.live_counters"
# Circulars per transaction: one, so that on SQLite the write lock is held for one
# recount at a time and readers' first reads slip in between.
BATCH = 1
MAX_PER_TICK = 500
# Between two recounts the thread lets go of the GIL, so the process's request thread is
# not slowed to the interpreter's 5 ms switch interval for a whole tick's burst of them.
PAUSE_SECONDS = 0.005


def _seconds(app: Flask) -> float:
    return float(app.config.get("LIVE_COUNTS_SECONDS") or 0)


def receipts_changed(audience: counts.Audience) -> None:
    """In a receipt's transaction: announce the circular's counters now, or mark them due."""
    if _seconds(current_app) <= 0:
        announce(audience)
        return
    db.session.connection().execute(
        insert(LiveCountsDue).values(circular_id=audience.circular_id, since=utcnow()))


def announce(audience: counts.Audience) -> None:
    """Record the circular's counters for its leaders' room (in the caller's transaction)."""
    room = leaders_room(audience.association_id)
    lock_rooms([room])  # before counting: the counts then include every earlier commit
    record([Event(room, "receipts", counts.receipt_counts(audience))])


def announce_due(limit: int = BATCH, skip: set[int] | None = None) -> int:
    """Announce up to ``limit`` due circulars in the current transaction (the caller
    commits); returns how many.  ``skip``: ids announced this tick already, left for the
    next one; the ids announced now are added to it."""
    announced = 0
    for _ in range(limit):
        circular_id = _take_due(skip or ())
        if circular_id is None:
            break
        audience = counts.Audience.load(circular_id)
        if audience is not None:  # None: deleted since (its marks went with it)
            announce(audience)
        if skip is not None:
            skip.add(circular_id)
        announced += 1
    return announced


def _take_due(skip: Iterable[int]) -> int | None:
    """Delete the marks of the circular marked due longest ago, in one statement; its id
    (None: nothing due).  Only the marks taken here: those written since, or locked by
    another process's recount (PostgreSQL skips them), stay due.  SQLite has one writer,
    and ignores the FOR UPDATE."""
    taken = db.session.connection().execute(_TAKE_DUE, {"skip": sorted(skip)}).scalars()
    return next(iter(taken), None)


_OLDEST_DUE = (select(LiveCountsDue.circular_id)
               .where(LiveCountsDue.circular_id.not_in(bindparam("skip", expanding=True)))
               .order_by(LiveCountsDue.id).limit(1)
               .with_for_update(skip_locked=True).scalar_subquery())
# Built once: on SQLite it runs under the write lock, which readers' first reads wait for.
_TAKE_DUE = (delete(LiveCountsDue)
             .where(LiveCountsDue.id.in_(
                 select(LiveCountsDue.id).where(LiveCountsDue.circular_id == _OLDEST_DUE)
                 .with_for_update(skip_locked=True)))
             .returning(LiveCountsDue.circular_id))


class CounterThread(threading.Thread):
    """Announces the due counters of all processes every ``LIVE_COUNTS_SECONDS``."""

    def __init__(self, app: Flask):
        super().__init__(name="chounaikai-live-counters", daemon=True)
        self.app = app
        self.stopping = threading.Event()

    def run(self) -> None:
        interval = _seconds(self.app)
        while not self.stopping.wait(interval):
            with self.app.app_context():
                try:
                    # Once per circular per tick: reads that come in during the pauses
                    # mark it due again, for the next tick.
                    done: set[int] = set()
                    for _ in range(MAX_PER_TICK):
                        announced = announce_due(skip=done)
                        db.session.commit()
                        if announced < BATCH or self.stopping.wait(PAUSE_SECONDS):
                            break
                except Exception:  # the database may be restarting: keep the thread alive
                    db.session.rollback()
                    log.exception("live: announcing receipt counters failed")
                finally:
                    db.session.remove()


def start_thread(app: Flask) -> CounterThread | None:
    """Start this process's counter thread once (not under TESTING: tests call
    :func:`announce_due` themselves, so nothing runs behind their back)."""
    if app.testing or _seconds(app) <= 0:
        return None
    state = app.extensions.setdefault(_THREAD_KEY, {"lock": threading.Lock(), "thread": None})
    with state["lock"]:
        thread = state["thread"]
        if thread is None or not thread.is_alive():
            thread = state["thread"] = CounterThread(app)
            thread.start()
    return thread


def stop_thread(app: Flask, timeout: float = 10.0) -> None:
    """Stop this process's counter thread, if one runs, and wait for its tick to end
    (a script about to drop its database; gunicorn's workers just exit)."""
    state = app.extensions.get(_THREAD_KEY)
    thread = state and state["thread"]
    if thread is not None:
        thread.stopping.set()
        thread.join(timeout)

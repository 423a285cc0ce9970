"""Who drains the outbox: an in-process thread, RQ workers on Redis, or one CLI run.

The database is the record; these only decide *when* a sender looks.  After
a commit that wrote a :class:`Notification`, :func:`ring` wakes the sender:
the embedded thread (``PUSH_WORKER=thread``, the default without Redis) or an
RQ job in queue "emergency" / "default" (``PUSH_WORKER=rq``, the default with
``REDIS_URL``), which ``flask push worker`` processes, emergency queue first.
Idle workers also look on their own every ``PUSH_TICK_SECONDS`` for work that
became due (quiet hours ending, retries, leases of a crashed sender).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import partial

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import object_session

from ..database import after_commit
from ..extensions import db
from ..models import Notification, Priority
from . import claims, fanout
from .digest import next_digest_at, run_digest
from .prune import prune_stale
from .responses import PushAuthError
from .sender import Sender, run
from .settings import clock as engine_clock
from .settings import queue_names, setting, worker_mode

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 600
_THREAD_KEY = "chounaikai_push_thread"
_REDIS_KEY = "chounaikai_push_redis"
_STATE_KEY = "chounaikai_push_state"


def run_cycle(app: Flask, *, now: datetime | None = None, deadline: float | None = None,
              housekeeping: bool = True) -> Counter[str]:
    """Fan out what is due, run the digest / pruning when due, drain deliveries.

    ``now`` fixes the engine's clock for this cycle (tests).  Needs an app
    context.  Raises PushAuthError (after recording) on a 401/403.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else engine_clock(app)
    engine = db.engine
    if housekeeping:
        _housekeeping(app, clock())
    fanned = fanout.fan_out_due(engine, clock(), int(setting(app, "PUSH_FANOUT_CHUNK")))

    async def drain() -> Counter[str]:
        async with Sender(app, clock) as sender:
            return await sender.drain(deadline)

    stats = run(drain())
    stats["fanned_out"] += fanned.deliveries
    return stats


def _housekeeping(app: Flask, now: datetime) -> None:
    """The digest (one cheap query once the day's is done) and, now and then, pruning."""
    state = app.extensions.setdefault(_STATE_KEY, {})
    try:
        run_digest(app, now)
        if time.monotonic() - state.get("pruned", -1e9) >= HOUSEKEEPING_SECONDS:
            state["pruned"] = time.monotonic()
            prune_stale(app, now)
    except Exception:  # housekeeping must never stop deliveries
        log.exception("push: housekeeping failed")


def seconds_until_work(app: Flask, now: datetime) -> float:
    """How long an idle worker may sleep (capped at ``PUSH_TICK_SECONDS``)."""
    tick = float(setting(app, "PUSH_TICK_SECONDS"))
    with db.engine.connect() as conn:
        times = [claims.next_due(conn, now), fanout.next_publish_at(conn),
                 next_digest_at(app, now)]
    due = min((t for t in times if t is not None), default=None)
    if due is None:
        return tick
    return min(max((due - now).total_seconds(), 0.2), tick)


# -- the doorbell ---------------------------------------------------------------------
def _redis(app: Flask):
    from redis import Redis

    client = app.extensions.get(_REDIS_KEY)
    if client is None:
        client = app.extensions[_REDIS_KEY] = Redis.from_url(app.config["REDIS_URL"])
    return client


def doorbell_key(queue: str) -> str:
    return f"chounaikai:push:doorbell:{queue}"


def enqueue(app: Flask, priority: Priority = Priority.NORMAL) -> bool:
    """Put one drain job in the priority's RQ queue unless one is already waiting.

    Returns whether a job was enqueued.  The doorbell key is set when a job is
    queued and deleted when it starts, so a commit during a running job always
    queues the next one, and a burst of commits queues only one.
    """
    from rq import Queue

    emergency, default = queue_names(app)
    name = emergency if priority == Priority.EMERGENCY else default
    redis = _redis(app)
    ttl = max(int(setting(app, "PUSH_JOB_SECONDS")) * 2, 60)  # a lost job is re-rung later
    if not redis.set(doorbell_key(name), "1", nx=True, ex=ttl):
        return False
    Queue(name, connection=redis).enqueue(
        "chounaikai.push.workers.drain_job", name, job_timeout=ttl + 60,
        result_ttl=0, failure_ttl=7 * 86400, description=f"push drain ({name})")
    return True


def ring(app: Flask, priority: Priority = Priority.NORMAL) -> None:
    """Wake whoever sends, right now (after the commit that made work)."""
    mode = worker_mode(app)
    if mode == "thread":
        worker = app.extensions.get(_THREAD_KEY)
        if worker is not None:
            worker.wake()
    elif mode == "rq":
        enqueue(app, priority)


@event.listens_for(Notification, "after_insert")
def _ring_after_commit(_mapper, _connection, target: Notification) -> None:
    """A notification written in the app's session rings once that session commits."""
    if not has_app_context() or object_session(target) is not db.session():
        return  # written elsewhere (a script's own Session): the next tick finds it
    after_commit(partial(ring, current_app._get_current_object(),  # type: ignore[attr-defined]
                         target.priority or Priority.NORMAL))


# -- RQ ------------------------------------------------------------------------------
_standalone_app: Flask | None = None


def _job_app() -> Flask:
    """The app of ``flask push worker``; a plain ``rq worker`` process builds its own."""
    global _standalone_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _standalone_app is None:
        from .. import create_app

        _standalone_app = create_app()
    return _standalone_app


def drain_job(queue: str) -> dict[str, int]:
    """The RQ job: drain for at most ``PUSH_JOB_SECONDS``, then ring again if work is left."""
    app = _job_app()
    with app.app_context():
        _redis(app).delete(doorbell_key(queue))  # first: a commit from now on rings anew
        deadline = time.monotonic() + float(setting(app, "PUSH_JOB_SECONDS"))
        try:
            stats = run_cycle(app, deadline=deadline)
        except PushAuthError:
            log.exception("push: delivery stopped")
            raise  # the job fails: visible in RQ's failed registry and `flask push status`
        if seconds_until_work(app, engine_clock(app)()) <= 0.2:
            ring(app, Priority.EMERGENCY if queue == queue_names(app)[0] else Priority.NORMAL)
        return dict(stats)


def run_rq_worker(app: Flask, *, burst: bool = False) -> None:
    """``flask push worker`` with Redis: an RQ worker on both queues, emergency first."""
    from rq import Queue, SimpleWorker

    redis = _redis(app)
    queues = [Queue(name, connection=redis) for name in queue_names(app)]
    if not burst:
        threading.Thread(target=_ticker, args=(app,), name="push-ticker", daemon=True).start()
        enqueue(app)  # pick up whatever is due from before this start
    # SimpleWorker runs jobs in this process: connection pools stay warm between jobs.
    SimpleWorker(queues, connection=redis).work(burst=burst, logging_level="WARNING")


def _ticker(app: Flask) -> None:
    """Ring when work becomes due (quiet hours ending, retries, a crashed sender's leases)."""
    tick = float(setting(app, "PUSH_TICK_SECONDS"))
    while True:
        try:
            with app.app_context():
                wait = seconds_until_work(app, engine_clock(app)())
                if wait <= 0.2:
                    enqueue(app)
                    wait = min(tick, 1.0)  # a job is queued or running: look again later
        except Exception:  # the database or Redis may be restarting: try again later
            log.exception("push: ticker failed")
            wait = tick
        time.sleep(max(wait, 0.2))


# -- the embedded thread ---------------------------------------------------------------
class PushThread(threading.Thread):
    """The embedded default's sender: one daemon thread in the serving process."""

    def __init__(self, app: Flask):
        super().__init__(name="chounaikai-push", daemon=True)
        self.app = app
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        loop_forever(self.app, self._wake, self._stopping)


def loop_forever(app: Flask, wake: threading.Event, stopping: threading.Event) -> None:
    """Cycle until ``stopping``: drain, then sleep until work is due or ``wake`` is set.

    A 401/403 is logged at ERROR each time it happens; the refusing origin's
    deliveries wait ``PUSH_AUTH_ERROR_PAUSE_SECONDS`` while other origins go on.
    """
    while not stopping.is_set():
        wake.clear()
        wait = float(setting(app, "PUSH_TICK_SECONDS"))
        with app.app_context():
            try:
                try:
                    run_cycle(app)
                except PushAuthError as error:
                    log.error("push: %s", error)
                wait = seconds_until_work(app, engine_clock(app)())
            except Exception:  # the database may be restarting: keep the thread alive
                log.exception("push: sender cycle failed")
        wake.wait(wait)


def start_thread(app: Flask) -> PushThread | None:
    """Start the embedded sender once per process (no-op unless PUSH_WORKER is thread)."""
    if worker_mode(app) != "thread":
        return None
    state = app.extensions.setdefault(_STATE_KEY, {})
    with state.setdefault("lock", threading.Lock()):
        worker = app.extensions.get(_THREAD_KEY)
        if worker is None or not worker.is_alive():
            worker = app.extensions[_THREAD_KEY] = PushThread(app)
            worker.start()
            log.info("push: sender thread started (PUSH_WORKER=thread)")
    return worker

"""WSGI entry for the read-path benchmark: ``/bare`` → a minimal Flask app, rest → chounaikai.

Both apps are served by the same gunicorn process (same workers, same threads,
same sockets), so the bare endpoint is the server's ceiling for a Flask view.

Configured by the environment (bench/read_path.py sets it):
``DATABASE_URL``, ``CHOUNAIKAI_SECRET_KEY``, ``CHOUNAIKAI_ENV`` as for wsgi.py, and
``BENCH_UPLOAD_FOLDER`` so nothing is written into the checkout's instance folder.

``BENCH_HTTP_SLOTS=N`` (read_path.py ``--http-slots``) is an experiment, not the app:
at most N requests per process execute at once, whatever ``--threads`` is (many
threads are needed for websockets; few running requests are best for CPU-bound ones).

``BENCH_WORKER_TIMES=<file>`` (read_path.py ``--worker-times``) logs each request's
time inside the worker (bench/worker_times.py), inside any slot wait.
"""

from __future__ import annotations

import os
import threading

import worker_times
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from chounaikai import create_app

bare = Flask("bare")


@bare.get("/")
def bare_index():
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


overrides = {}
if os.environ.get("BENCH_UPLOAD_FOLDER"):
    overrides["UPLOAD_FOLDER"] = os.environ["BENCH_UPLOAD_FOLDER"]
chounaikai_app = create_app(overrides)

application = DispatcherMiddleware(chounaikai_app, {"/bare": bare})


class ExecutionSlots:
    """Let at most ``slots`` plain HTTP requests of this process run at once.

    The body is produced inside the slot (fine for these small pages; a production
    version would release the slot in the response iterable's ``close``).
    Socket.IO requests bypass it: a websocket holds its thread for hours.
    """

    def __init__(self, app, slots: int):
        self.app = app
        self.slots = threading.BoundedSemaphore(slots)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/socket.io"):
            return self.app(environ, start_response)
        with self.slots:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                if hasattr(result, "close"):
                    result.close()


if os.environ.get(worker_times.ENV):
    application = worker_times.RequestTimes(application, chounaikai_app,
                                            os.environ[worker_times.ENV])
if os.environ.get("BENCH_HTTP_SLOTS"):
    application = ExecutionSlots(application, int(os.environ["BENCH_HTTP_SLOTS"]))

"""WSGI entry for the read-path benchmark: ``/bare`` → a minimal Flask app, rest → chounaikai.

Both apps are served by the same gunicorn process (same workers, same threads,
same sockets), so the bare endpoint is the server's ceiling for a Flask view.

Configured by the environment (bench/read_path.py sets it):
``DATABASE_URL``, ``CHOUNAIKAI_SECRET_KEY``, ``CHOUNAIKAI_ENV`` as for wsgi.py, and
``BENCH_UPLOAD_FOLDER`` so nothing is written into the checkout's instance folder.
"""

from __future__ import annotations

import os

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

"""WSGI entry point: ``gunicorn wsgi:app`` (or ``flask --app wsgi run``).

``python wsgi.py`` is what ``make run`` starts: the embedded mode on one port,
pages and Socket.IO (websockets) from Werkzeug's threaded server.  Production
runs gunicorn instead (docs/live-updates.md), e.g.
``gunicorn -w 2 -k gthread --threads 200 wsgi:app`` with ``REDIS_URL`` set.
"""

from __future__ import annotations

import argparse

from flask import Flask

from chounaikai import create_app

app = create_app()


def start_embedded_workers(flask_app: Flask) -> None:
    """Hook: in-process background workers of the embedded mode start here, once, in the
    serving process only.  Workers announce live events with
    ``chounaikai.live.service.record`` inside their transaction."""
    from chounaikai.push.workers import start_thread

    start_thread(flask_app)  # the push sender (PUSH_WORKER=thread, the embedded default)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve chounaikai with Socket.IO (embedded).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    start_embedded_workers(app)
    # Threaded Werkzeug: simple-websocket takes over each upgraded connection, so pages,
    # /live/events and /socket.io/ share the port (what SocketIO.run does in threading mode).
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()

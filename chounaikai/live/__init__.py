"""Live updates over Socket.IO: unread counts and toasts for residents, receipt counters
for leaders.  See docs/live-updates.md.

``init_app`` gives each app its own Flask-SocketIO server (``app.extensions["socketio"]``)
in threading mode, websocket transport only, with ``REDIS_URL`` as the message
queue when it is set, so several server processes (and workers) share announcements.
"""

from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

from . import counters, service

ASYNC_MODE = "threading"
PING_INTERVAL = 25
PING_TIMEOUT = 20
MAX_MESSAGE_BYTES = 16 * 1024  # clients only send small join/leave messages


def init_app(app: Flask) -> SocketIO:
    """Create and bind the app's Socket.IO server, routes, page hook and CLI."""
    from . import cli, events, routes

    options = {
        "async_mode": ASYNC_MODE,
        # Only websockets: no long-polling sessions, so several workers behind one port
        # need no sticky sessions.
        "transports": ["websocket"],
        "ping_interval": PING_INTERVAL,
        "ping_timeout": PING_TIMEOUT,
        "max_http_buffer_size": MAX_MESSAGE_BYTES,
        # cors_allowed_origins stays None: only the page's own origin may connect.
        "logger": False,
        "engineio_logger": False,
    }
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        options["message_queue"] = redis_url
        options["channel"] = service.channel(app)
    socketio = SocketIO()
    events.register(socketio)
    socketio.init_app(app, **options)
    routes.init_app(app)
    cli.init_app(app)

    started = False

    @app.before_request
    def _start_counter_thread() -> None:
        nonlocal started  # in the serving process, on its first request (after any fork)
        if not started:
            started = True
            counters.start_thread(app)

    return socketio

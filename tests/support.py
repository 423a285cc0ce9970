"""Small helpers shared by the feature test modules (counting rows, extra logged-in clients)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from chounaikai.extensions import db
from tests.factories import PASSWORD
from tests.helpers import form_post


def count(app: Flask, model: Any, *where: Any) -> int:
    """Rows of ``model`` (optionally filtered), read in a fresh app context."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def counts(app: Flask, *models: Any) -> dict[str, int]:
    """Row counts of several models at once, for "nothing was written" checks."""
    return {model.__name__: count(app, model) for model in models}


def load(app: Flask, model: Any, ident: int) -> Any:
    """A fresh copy of one row (attributes loaded), or None."""
    with app.app_context():
        obj = db.session.get(model, ident)
        if obj is not None:
            db.session.expunge(obj)
        return obj


def client_for(app: Flask, user: Any, password: str = PASSWORD):
    """A separate test client logged in as ``user`` through the real login form."""
    client = app.test_client()
    response = form_post(client, "/login", {"login": user.login_id, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def html(response) -> str:
    return response.get_data(as_text=True)


class CountingApp:
    """Stands between the replay layer and Flask, counting what gets through."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.calls = wsgi_app, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.wsgi_app(environ, start_response)


@contextmanager
def counting_flask(app: Flask, monkeypatch) -> Iterator[CountingApp]:
    """Count the requests that reach Flask (the rest were replayed); nothing kept before
    or after."""
    from chounaikai import pagecache, replay

    layer = app.wsgi_app
    assert isinstance(layer, replay.ReplayPages)
    counter = CountingApp(layer.wsgi_app)
    monkeypatch.setattr(layer, "wsgi_app", counter)
    layer.clear()
    pagecache.clear()
    try:
        yield counter
    finally:
        layer.clear()
        pagecache.clear()


@contextmanager
def recorded_sql(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs meanwhile, whitespace collapsed."""
    from sqlalchemy import event

    statements: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        statements.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def same_answer(first, second) -> None:
    """Two answers are the same bytes and headers (each with its own Date)."""
    assert first.status == second.status
    assert first.get_data() == second.get_data()
    strip = {"Date"}
    assert [(k, v) for k, v in first.headers if k not in strip] == \
        [(k, v) for k, v in second.headers if k not in strip]
    assert second.headers["Date"]

"""A member's inbox and circular pages, replayed while nothing they show has changed.

Residents go back and forth between their list of circulars and the circulars in
it.  Rendering those pages costs milliseconds of SQL, Jinja and Babel each time,
though between two visits usually nothing on them has changed.  So a view marked
:func:`replayable` lets :mod:`chounaikai.replay` keep Flask's complete answer and
hand the same bytes back, before Flask runs, to a request that is the same in
every input (the whole ``Cookie`` header — the signed session — and every header
the answer or the session check depends on), while

* the page versions (:mod:`chounaikai.pageversions`) read *before* the page was
  rendered are still the current ones: nothing it shows has been written since,
  and the member's session has not been ended (that writes ``users``); and
* no moment the page depends on has passed (:func:`valid_until`: a scheduled
  circular appears, an alert expires) and the copy is younger than
  ``MEMBER_PAGE_CACHE_SECONDS``.

Only answers Flask gave with status 200 and no ``Set-Cookie`` are kept, so a page
that consumed a flash message or started a session never is.  Everything else —
every write, every other page, every API call — goes through Flask as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, request, session
from sqlalchemy.engine import Engine

from . import pageversions, replay
from .models import utcnow

_PENDING = "_member_page"
_RECORDER = "_member_page_moments"


def replayable(*, receipt_of: str | None = None) -> Callable[[Callable[..., Any]], Any]:
    """Mark a member's GET page whose answer may be replayed (see the module doc).

    The page must show only what its probe covers, and report every moment it changes
    by itself through :func:`valid_until`.  A page of one circular names the view
    argument with its id (``receipt_of``): it shows the member's receipt of that
    circular only, so their reading another one keeps it.  Otherwise the page shows all
    of the member's receipts.
    """

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.member_replayable = receipt_of or True  # type: ignore[attr-defined]
        return view

    return mark


@dataclass
class _Pending:
    probe: pageversions.Probe
    seen: tuple[Any, ...]
    until: datetime


@dataclass(frozen=True)
class Fresh:
    """The replay layer's test for one kept answer: still what Flask would send?"""

    engine: Engine
    probe: pageversions.Probe
    seen: tuple[Any, ...]
    until: datetime

    def __call__(self) -> bool:
        # A probe that could not ask the database (None) never equals what was seen.
        return utcnow() < self.until and self.probe.read_outside(self.engine) == self.seen


def valid_until(moment: datetime | None) -> None:
    """The page being rendered changes by itself at ``moment`` (None: it does not)."""
    if moment is None:
        return
    pending: _Pending | None = g.get(_PENDING)
    if pending is not None and moment < pending.until:
        pending.until = moment
    recorder: Until | None = g.get(_RECORDER)
    if recorder is not None and (recorder.until is None or moment < recorder.until):
        recorder.until = moment


@dataclass
class Until:
    """The earliest moment reported through :func:`valid_until` while recording."""

    until: datetime | None = None


@contextmanager
def recording(recorder: Until) -> Iterator[Until]:
    """Also note the moments reported meanwhile in ``recorder`` (a part of a page kept
    apart from it, like :mod:`chounaikai.sharedpages`, must know them)."""
    previous = g.get(_RECORDER)
    setattr(g, _RECORDER, recorder)
    try:
        yield recorder
    finally:
        setattr(g, _RECORDER, previous)


def _session_user_id() -> int | None:
    # Flask-Login's "<id>:<session version>"; the user row is checked later, as always.
    user_id = str(session.get("_user_id") or "").partition(":")[0]
    return int(user_id) if user_id.isdigit() else None


def _read_versions_first() -> None:
    """Before anything else reads the database: the versions the page will be kept under.

    Read first, in the request's own transaction, so what the page then shows is at
    least as new as these versions (never older: it could be kept under them then).
    """
    seconds = current_app.config["MEMBER_PAGE_CACHE_SECONDS"]
    if seconds <= 0 or request.method != "GET":
        return
    view = current_app.view_functions.get(request.endpoint or "")
    kind = getattr(view, "member_replayable", None)
    user_id = _session_user_id()
    if not kind or user_id is None:
        return
    scopes = (pageversions.GLOBAL_SCOPE, pageversions.user_scope(user_id))
    if kind is True:
        probe = pageversions.Probe((*scopes, pageversions.receipts_scope(user_id)))
    else:
        circular_id = (request.view_args or {}).get(kind)
        if not isinstance(circular_id, int):
            return
        probe = pageversions.Probe(scopes, receipt=(circular_id, user_id))
    seen = probe.read()
    pageversions.saw_global(seen[0])
    g.setdefault(_PENDING, _Pending(probe, seen, utcnow() + timedelta(seconds=seconds)))


def _offer_answer(response: Any) -> Any:
    pending: _Pending | None = g.pop(_PENDING, None)
    if pending is not None and response.status_code == 200:
        fresh = Fresh(pageversions.outside_engine(), pending.probe, pending.seen, pending.until)
        replay.mark(request.environ, fresh, member=True)
    return response


def init_app(app: Flask) -> None:
    # First of all before-request functions: the live position and the user load read
    # the database too.
    app.before_request_funcs.setdefault(None, []).insert(0, _read_versions_first)
    app.after_request(_offer_answer)


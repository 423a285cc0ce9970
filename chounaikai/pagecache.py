"""A few seconds of memory for public pages that everyone asks for at once.

The disaster portal, CAP documents and the Atom feed hold nothing personal, and
during a disaster the whole city asks for them together.  Each process keeps
the rendered bytes (and their gzip form: compressed once, sent many times) per
key for ``seconds``; the first request renders while the others wait on the
lock (or, once a copy exists, are served the previous one) instead of rendering
the same page a hundred times.  Changes reach readers
within that many seconds, and the pages say when they were made.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from flask import Request, Response, current_app

from . import replay

MAX_ENTRIES = 512  # languages × furigana, plus one per CAP document asked for
_lock = threading.Lock()


@dataclass(frozen=True)
class Page:
    body: bytes
    gzipped: bytes
    expires: float
    content_type: str | None = None  # when the renderer decides it
    key: Hashable = None

    def fresh(self) -> bool:
        """Still the cached copy for its key, and not expired."""
        return _pages.get(self.key) is self and self.expires > time.monotonic()


_pages: dict[Hashable, Page] = {}


Rendered = str | bytes | tuple[bytes, str]  # the body, or (body, content type)


def get_or_render(key: Hashable, render: Callable[[], Rendered], seconds: float) -> Page:
    """The cached page for ``key``, rendering it when missing or older than ``seconds``.

    While one thread re-renders an expired page, the others are served the previous
    copy (a few seconds older) instead of queueing behind the render.
    """
    hit = _pages.get(key)
    if hit is not None and hit.expires > time.monotonic():
        return hit
    if hit is not None and not _lock.acquire(blocking=False):
        return hit  # someone is rendering; the stale copy is good enough meanwhile
    if hit is None:
        _lock.acquire()
    try:
        fresh = _pages.get(key)
        if fresh is not None and fresh.expires > time.monotonic():
            return fresh
        rendered = render()
        body, content_type = rendered if isinstance(rendered, tuple) else (rendered, None)
        body = body.encode() if isinstance(body, str) else body
        page = Page(body, gzip.compress(body, compresslevel=6, mtime=0),
                    time.monotonic() + seconds, content_type, key)
        if seconds > 0:
            if len(_pages) >= MAX_ENTRIES:
                _pages.clear()  # rare: simpler than LRU bookkeeping, and only costs renders
            _pages[key] = page
        return page
    finally:
        _lock.release()


def respond(page: Page, request: Request, mimetype: str, cache_control: str) -> Response:
    """The page, gzipped when the client accepts it, revalidated by ETag."""
    compressed = "gzip" in request.accept_encodings
    response = current_app.response_class(page.gzipped if compressed else page.body,
                                          content_type=page.content_type or mimetype)
    if compressed:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Cache-Control"] = cache_control
    response.vary.add("Accept-Encoding")
    response.add_etag()
    # The complete answer may be replayed to identical requests before Flask runs.
    replay.mark(request.environ, page.fresh)
    return response.make_conditional(request)


def clear() -> None:
    """Forget every page (replayed answers go with them: they are only served while fresh)."""
    with _lock:
        _pages.clear()

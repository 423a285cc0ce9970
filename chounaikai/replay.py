"""Replay Flask's answer for a cached page (public, or a member's own) without running Flask again.

:mod:`chounaikai.pagecache` keeps the disaster portal, CAP documents and the Atom
feed for a few seconds, so Flask no longer renders them per request.  But routing,
the session, language selection and the after-request hooks still ran for every
request: about three quarters of the cost of a cached portal page
(``bench/portal.py``), and during a disaster the whole city asks at once.

This WSGI layer remembers the complete answer Flask gave (status, headers, body)
to a request for such a page and hands the same bytes to the next identical
request while the page behind it is still the fresh copy in the page cache.
"Identical" means every input that can change the answer is in the key: method,
host, scheme, path, ``Accept-Language``, ``Accept-Encoding``, the conditional
headers and the language and furigana cookies.  Only requests that cannot be
personal qualify: GET or HEAD, no query string (``?lang=`` and ``?ruby=`` set
cookies), and no cookie but those two, since a session cookie may belong to a
member whose saved choices pick the language.  Only 200 and 304 answers without
``Set-Cookie`` are remembered, and only when the view answered from the page
cache (:func:`mark`), so a replay is byte for byte what Flask would have sent.

A member's request (any other cookie) has a key of its own: the whole ``Cookie``
header, i.e. the exact signed session Flask verified, plus every header that
Flask-Login's session check or the page reads.  Those answers are kept only for
the pages :mod:`chounaikai.memberpages` lets replay, and only for that session,
while the page versions they were rendered under are unchanged.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.http import http_date, parse_cookie

from .formatting import FURIGANA_COOKIE
from .i18n import LANG_COOKIE

# environ key of a list the view puts its page's freshness test into.  A list, not the
# callable itself: Socket.IO's middleware hands Flask a (shallow) copy of the environ.
MARKER = "chounaikai.replayable"
MAX_ENTRIES = 4096  # distinct header combinations; cleared when full (it only costs renders)
_PUBLIC_COOKIES = frozenset({LANG_COOKIE, FURIGANA_COOKIE})
_KEY_HEADERS = ("HTTP_HOST", "wsgi.url_scheme", "SCRIPT_NAME", "PATH_INFO",
                "HTTP_ACCEPT_LANGUAGE", "HTTP_ACCEPT_ENCODING", "HTTP_IF_NONE_MATCH",
                "HTTP_IF_MODIFIED_SINCE")
# A member's answer is that of their session (the Cookie header, compared as the exact
# string Flask verified), their address and browser (Flask-Login's session protection)
# and what they accept.
_MEMBER_KEY_HEADERS = (*_KEY_HEADERS, "HTTP_COOKIE", "HTTP_ACCEPT", "HTTP_USER_AGENT",
                       "REMOTE_ADDR", "HTTP_X_FORWARDED_FOR")
_REPLAYED_STATUSES = ("200 OK", "304 NOT MODIFIED")

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class _Answer:
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fresh: Callable[[], bool]


def mark(environ: dict[str, Any], fresh: Callable[[], bool], *, member: bool = False) -> None:
    """Called by a view whose answer may be replayed while ``fresh()`` holds.

    A public page's test (``member`` false) says nothing about what a session may
    change, so it is only used for requests without one; a member page's test
    (:mod:`chounaikai.memberpages`) only for the session that asked.
    """
    slot = environ.get(MARKER)
    if slot is not None:
        slot.append((fresh, member))


def request_key(environ: dict[str, Any]) -> Hashable | None:
    """Everything the answer can depend on, or None when the request may be personal."""
    method = environ.get("REQUEST_METHOD")
    if method not in ("GET", "HEAD") or environ.get("QUERY_STRING"):
        return None
    cookie_header = environ.get("HTTP_COOKIE", "")
    cookies: tuple[tuple[str, str], ...] = ()
    if cookie_header:
        parsed = parse_cookie(cookie_header)
        if not set(parsed.keys()) <= _PUBLIC_COOKIES:
            return None
        cookies = tuple(sorted(parsed.items(multi=True)))
    return (method, cookies, *(environ.get(name) for name in _KEY_HEADERS))


def member_key(environ: dict[str, Any]) -> Hashable | None:
    """The key of a request that carries a session (or any other cookie), else None."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or environ.get("QUERY_STRING") \
            or not environ.get("HTTP_COOKIE"):
        return None
    return ("member", environ["REQUEST_METHOD"],
            *(environ.get(name) for name in _MEMBER_KEY_HEADERS))


class ReplayPages:
    """WSGI middleware: ``app.wsgi_app = ReplayPages(app.wsgi_app, member_entries=N)``."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], member_entries: int = 0):
        self.wsgi_app = wsgi_app
        self.answers: dict[Hashable, _Answer] = {}
        # Members' answers: one per session and page, so many more of them, each used by
        # one person; the oldest go first.
        self.member_answers: dict[Hashable, _Answer] = {}
        self.member_entries = member_entries

    def __call__(self, environ: dict[str, Any], start_response: StartResponse):
        key = request_key(environ)
        answers = self.answers
        if key is None and self.member_entries > 0:
            key, answers = member_key(environ), self.member_answers
        if key is None:
            return self.wsgi_app(environ, start_response)
        answer = answers.get(key)
        if answer is not None and answer.fresh():
            start_response(answer.status, [*answer.headers, ("Date", _http_now())])
            return [answer.body]
        seen: list[Any] = []
        marked: list[tuple[Callable[[], bool], bool]] = []
        environ[MARKER] = marked

        def remember_status(status: str, headers: list[tuple[str, str]], exc_info=None):
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, remember_status)
        if len(marked) != 1 or marked[0][1] != (answers is self.member_answers) \
                or not seen or not _replayable(*seen):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        if answers is self.answers:
            if len(answers) >= MAX_ENTRIES:
                answers.clear()
        else:
            answers.pop(key, None)  # a renewed answer moves to the young end
            if len(answers) >= self.member_entries:
                for old in list(itertools.islice(answers, max(1, self.member_entries // 4))):
                    answers.pop(old, None)
        # The Date header is the time of each answer, so a replay gets its own.
        headers = tuple((name, value) for name, value in seen[1] if name.lower() != "date")
        answers[key] = _Answer(seen[0], headers, body, marked[0][0])
        return [body]

    def clear(self) -> None:
        self.answers.clear()
        self.member_answers.clear()


def _replayable(status: str, headers: list[tuple[str, str]]) -> bool:
    return status.upper() in _REPLAYED_STATUSES and not any(
        name.lower() == "set-cookie" for name, _value in headers)


_date: tuple[int, str] = (0, "")


def _http_now() -> str:
    """``http_date()`` of now, formatted once per second (a tuple swap: thread-safe)."""
    global _date
    second = int(time.time())
    if _date[0] != second:
        _date = (second, http_date(second))
    return _date[1]

"""A lean HTTP/1.1 client for push services: pooled keep-alive connections per origin.

Why not aiohttp: measured on the 2-core target machine, ``ClientSession.post``
costs about 110-135 µs of CPU per request and this client about 30 µs, and
at city scale the HTTP layer was the largest single cost after the RFC 8291
crypto (docs/push-delivery.md).  Push requests are uniform (a POST with a
small binary body and a handful of headers we write ourselves), so the
client only needs: TLS, keep-alive, Content-Length / chunked / close-framed
response bodies, 1xx skipping, timeouts, and a per-origin connection limit.

Safety: endpoint URLs come from browsers, so a URL with anything but
printable non-space ASCII is refused (no header or request-line injection);
response bodies are read up to :data:`MAX_BODY` and the connection is dropped
beyond that.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Anything but printable, non-space ASCII would let a URL inject into the request.
_UNSAFE = re.compile(r"[^\x21-\x7e]")
_UNSAFE_HEADER = re.compile(r"[\r\n\x00]")
MAX_BODY = 64 * 1024
MAX_HEAD = 16 * 1024


class PushHTTPError(ConnectionError):
    """Connecting, sending or reading failed (a network error: retry later)."""


class BadEndpoint(ValueError):
    """The endpoint URL is not a usable http(s) URL."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection; parses one response at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used_at = time.monotonic()
        self._buf = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._eof = False
        self.received = 0  # bytes of the current answer so far

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._eof = True
        self._try_parse()
        self._fail(exc or PushHTTPError("connection closed by the server"))

    def eof_received(self) -> bool | None:
        self._eof = True
        self._try_parse()
        return None

    def data_received(self, data: bytes) -> None:
        self._buf += data
        self.received += len(data)
        if self._waiter is not None:
            self._try_parse()
        elif len(self._buf) > MAX_HEAD:  # unsolicited data: this connection is unusable
            self.close()

    def request(self, data: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None
        self._buf.clear()
        self.received = 0
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            error = exc if isinstance(exc, PushHTTPError) else PushHTTPError(repr(exc))
            waiter.set_exception(error)

    def _try_parse(self) -> None:
        if self._waiter is None:
            return
        try:
            parsed = _parse(self._buf, self._eof)
        except ValueError as error:
            self.close()
            self._fail(PushHTTPError(f"bad response: {error}"))
            return
        if parsed is None:
            return
        response, consumed, reusable = parsed
        del self._buf[:consumed]
        if not reusable or self._buf:
            self.close()
        self.used_at = time.monotonic()
        waiter, self._waiter = self._waiter, None
        if not waiter.done():
            waiter.set_result(response)


def _parse(buf: bytearray, eof: bool) -> tuple[Response, int, bool] | None:
    """(response, bytes consumed, connection reusable) once complete, else None."""
    start = 0
    while True:
        end = buf.find(b"\r\n\r\n", start)
        if end < 0:
            if len(buf) - start > MAX_HEAD:
                raise ValueError("header too large")
            if eof and len(buf) > start:
                raise ValueError("truncated header")
            return None
        lines = bytes(buf[start:end]).decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1.") or len(rest) < 3 or not rest[:3].isdigit():
            raise ValueError(f"bad status line {lines[0][:40]!r}")
        status = int(rest[:3])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:  # interim answers (100 Continue, 103): the real one follows
            start = end + 4
            continue
        break
    body_start = end + 4
    keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        decoded = _dechunk(buf, body_start)
        if decoded is None:
            if eof:
                raise ValueError("truncated chunked body")
            return None
        body, consumed = decoded
        return Response(status, headers, body), consumed, keep
    if "content-length" in headers:
        length = int(headers["content-length"])
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY:  # we do not need it: answer now, drop the connection
            return Response(status, headers, b""), len(buf), False
        if len(buf) - body_start < length:
            if eof:
                raise ValueError("truncated body")
            return None
        return Response(status, headers, bytes(buf[body_start:body_start + length])), \
            body_start + length, keep
    if status in (204, 304):
        return Response(status, headers, b""), body_start, keep
    # No framing: the body runs until the server closes.
    if not eof and len(buf) - body_start <= MAX_BODY:
        return None
    return Response(status, headers, bytes(buf[body_start:body_start + MAX_BODY])), len(buf), False


def _dechunk(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    body = bytearray()
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buf[pos:line_end]).split(b";", 1)[0].strip() or b"x", 16)
        pos = line_end + 2
        if size == 0:
            trailer_end = buf.find(b"\r\n", pos)
            while trailer_end > pos:  # skip trailer lines up to the empty one
                pos = trailer_end + 2
                trailer_end = buf.find(b"\r\n", pos)
            return (bytes(body), trailer_end + 2) if trailer_end >= 0 else None
        if len(buf) < pos + size + 2:
            return None
        if len(body) < MAX_BODY:
            body += buf[pos:pos + size]
        pos += size + 2


def header_lines(headers: dict[str, str]) -> bytes:
    """``Name: value`` lines, refusing CR/LF (our values are ours, but stay safe)."""
    lines = []
    for name, value in headers.items():
        if _UNSAFE_HEADER.search(name) or _UNSAFE_HEADER.search(value):
            raise ValueError(f"unsafe header {name!r}")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


@dataclass
class _Origin:
    scheme: str
    host: str
    port: int
    host_header: bytes
    limit: asyncio.Semaphore
    idle: list[_Connection] = field(default_factory=list)


class PushHTTPClient:
    """POSTs to push endpoints over pooled keep-alive connections (HTTP/1.1, TLS).

    ``per_origin`` bounds connections (and so requests in flight) per origin;
    the caller bounds the total.  Use as an async context manager.
    """

    def __init__(self, *, per_origin: int = 128, timeout: float = 30.0,
                 connect_timeout: float = 10.0, keepalive: float = 60.0,
                 user_agent: str = "chounaikai-push/1",
                 ssl_context: ssl.SSLContext | None = None):
        self.per_origin = per_origin
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self.keepalive = keepalive
        self._ua = user_agent.encode("ascii")
        self._ssl = ssl_context
        self._origins: dict[str, _Origin] = {}
        self.connections_opened = 0

    async def __aenter__(self) -> PushHTTPClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for origin in self._origins.values():
            for conn in origin.idle:
                conn.close()
            origin.idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing

    def _origin(self, origin: str) -> _Origin:
        known = self._origins.get(origin)
        if known is None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise BadEndpoint(f"not an http(s) URL: {origin[:80]!r}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            known = self._origins[origin] = _Origin(
                parts.scheme, parts.hostname, port, parts.netloc.encode("ascii"),
                asyncio.Semaphore(self.per_origin))
        return known

    async def _connect(self, origin: _Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        context = None
        if origin.scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        async with asyncio.timeout(self.connect_timeout):
            _transport, conn = await loop.create_connection(
                _Connection, origin.host, origin.port, ssl=context,
                server_hostname=origin.host if context else None)
        self.connections_opened += 1
        return conn

    def _idle(self, origin: _Origin) -> _Connection | None:
        deadline = time.monotonic() - self.keepalive
        while origin.idle:
            conn = origin.idle.pop()
            if not conn.closed and conn.used_at > deadline:
                return conn
            conn.close()
        return None

    async def post(self, endpoint: str, headers: dict[str, str] | bytes, body: bytes) -> Response:
        """POST ``body`` with ``headers`` to ``endpoint``.

        ``headers`` may be pre-encoded ``b"Name: value\\r\\n"`` lines (see
        :func:`header_lines`), which a sender reuses for many messages.  Raises
        BadEndpoint for an unusable URL, PushHTTPError for network failures and
        TimeoutError when no answer came within the timeout.
        """
        if _UNSAFE.search(endpoint):
            raise BadEndpoint(f"unusable endpoint {endpoint[:80]!r}")
        slash = endpoint.find("/", endpoint.find("//") + 2)
        origin = self._origin(endpoint[:slash] if slash > 0 else endpoint)
        target = endpoint[slash:] if slash > 0 else "/"
        request = b"".join((
            b"POST ", target.encode("ascii"), b" HTTP/1.1\r\nHost: ", origin.host_header,
            b"\r\nUser-Agent: ", self._ua, b"\r\nContent-Length: ",
            str(len(body)).encode("ascii"), b"\r\n",
            headers if isinstance(headers, bytes) else header_lines(headers), b"\r\n", body))
        async with origin.limit, asyncio.timeout(self.timeout):
            conn = self._idle(origin)
            if conn is not None:
                try:
                    response = await conn.request(request)
                except PushHTTPError:
                    conn.close()
                    if conn.received:
                        raise
                    # The server had closed this idle connection before reading our
                    # request (no byte came back): once more on a fresh connection.
                except BaseException:
                    conn.close()
                    raise
                else:
                    return self._done(origin, conn, response)
            conn = await self._connect(origin)
            try:
                return self._done(origin, conn, await conn.request(request))
            except BaseException:
                conn.close()
                raise

    def _done(self, origin: _Origin, conn: _Connection, response: Response) -> Response:
        if not conn.closed:
            origin.idle.append(conn)
        return response

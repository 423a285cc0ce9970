"""A lean HTTP/1.1 keep-alive client for the load generators of these benchmarks.

The benchmarks run the load generator on the same two cores as the server.
aiohttp's client spends about 120 µs of CPU per request here, which at 6,000
requests/s is most of a core taken from the server and queueing delay added to
every latency measured.  This client does what a benchmark needs and nothing
else (one connection per simulated client, requests written as prepared bytes,
``Content-Length`` and chunked bodies read as they arrive) at a fraction of that.
It is measurement apparatus, not part of the app: the app's own outgoing HTTP
is ``chounaikai/push/http.py``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

try:
    import uvloop
except ImportError:  # the standard loop works, only with more CPU per request
    uvloop = None


def run(coroutine):
    """asyncio.run on uvloop when installed."""
    if uvloop is not None:
        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes
    set_cookies: list[str]


class HTTPError(OSError):
    """The server closed the connection or sent something this client cannot read."""


class Connection:
    """One keep-alive connection: ``await conn.request("GET", "/path", {"Header": "v"})``."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> Response:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None
        assert self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        try:
            return await self._read_response(method)
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            await self.close()
            raise HTTPError(str(error)) from error

    async def _read_response(self, method: str) -> Response:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for line in header_lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            headers[name] = value
            if name == "set-cookie":
                cookies.append(value)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:
            raise HTTPError(f"response without a length: {status_line}")
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, headers, body, cookies)

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = self.reader = None


class CookieClient:
    """A ``Connection`` with a cookie jar, like one browser tab on one site.

    Keeps each ``Set-Cookie`` name's latest value and sends them all back; a cookie
    set with ``Max-Age=0`` (how Flask deletes one) is dropped.  Domains, paths and
    expiry dates are not looked at: every benchmark talks to one origin.  A request
    that takes longer than ``timeout`` seconds raises TimeoutError, so a hung server
    stops the benchmark instead of stalling it.
    """

    def __init__(self, host: str, port: int, timeout: float = 120):
        self.connection = Connection(host, port)
        self.cookies: dict[str, str] = {}
        self.timeout = timeout

    async def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> Response:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        async with asyncio.timeout(self.timeout):
            response = await self.connection.request(method, path, headers, body)
        for cookie in response.set_cookies:
            name_value, *attributes = cookie.split(";")
            name, _, value = name_value.strip().partition("=")
            if any(a.strip().lower() == "max-age=0" for a in attributes):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    async def close(self) -> None:
        await self.connection.close()

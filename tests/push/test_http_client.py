"""The lean HTTP/1.1 client: framing, keep-alive, reconnects, timeouts, TLS, unsafe URLs."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chounaikai.push.http import (
    BadEndpoint,
    PushHTTPClient,
    PushHTTPError,
    _parse,
    header_lines,
)


def parse(raw: bytes, eof: bool = False):
    return _parse(bytearray(raw), eof)


def test_content_length_response():
    raw = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nLocation: /m/1\r\n\r\nokEXTRA"
    response, used, keep = parse(raw)
    assert (response.status, response.body, keep) == (201, b"ok", True)
    assert used == len(raw) - len(b"EXTRA")
    assert response.headers["location"] == "/m/1"


def test_chunked_response_with_extensions_and_trailers():
    raw = (b"HTTP/1.1 410 Gone\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")
    response, used, keep = parse(raw)
    assert (response.status, response.body, used, keep) == (410, b"hello world", len(raw), True)
    assert parse(raw[:-2]) is None  # incomplete: wait for more


def test_interim_answers_are_skipped():
    response, _used, _keep = parse(b"HTTP/1.1 100 Continue\r\n\r\n"
                                   b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    assert response.status == 201


def test_close_framed_and_http10_responses_are_not_reused():
    assert parse(b"HTTP/1.1 500 Oops\r\n\r\npartial") is None
    response, _used, keep = parse(b"HTTP/1.1 500 Oops\r\n\r\nall of it", eof=True)
    assert (response.body, keep) == (b"all of it", False)
    assert parse(b"HTTP/1.0 201 Created\r\nContent-Length: 0\r\n\r\n")[2] is False
    assert parse(b"HTTP/1.1 201 Created\r\nConnection: close\r\n"
                 b"Content-Length: 0\r\n\r\n")[2] is False


@pytest.mark.parametrize("raw", [b"SMTP ready\r\n\r\n", b"HTTP/1.1 2x1 What\r\n\r\n"])
def test_garbage_is_an_error(raw):
    with pytest.raises(ValueError, match="status line"):
        parse(raw)


def test_truncated_body_at_eof_is_an_error():
    with pytest.raises(ValueError, match="truncated"):
        parse(b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nabc", eof=True)


def test_huge_body_is_not_read():
    response, _used, keep = parse(b"HTTP/1.1 400 Bad\r\nContent-Length: 99999999\r\n\r\n")
    assert (response.status, response.body, keep) == (400, b"", False)


def test_header_lines_refuse_line_breaks():
    assert header_lines({"TTL": "60"}) == b"TTL: 60\r\n"
    with pytest.raises(ValueError, match="unsafe"):
        header_lines({"Topic": "a\r\nX-Evil: 1"})


class Server:
    """A raw HTTP/1.1 server on 127.0.0.1 whose behaviour a test chooses."""

    def __init__(self, mode: str = "keepalive", ssl_context: ssl.SSLContext | None = None):
        self.mode = mode
        self.ssl = ssl_context
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if self.ssl else 'http'}://127.0.0.1:{port}"

    async def __aexit__(self, *_exc: object) -> None:
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                self.requests.append(head + await reader.readexactly(length))
                if self.mode == "silent":
                    await asyncio.sleep(10)
                if self.mode == "drop-reused" and served:
                    break  # an idle keep-alive connection the server gave up on
                served += 1
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                if self.mode == "close-after-each":
                    break  # drops the connection without saying so
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def test_keepalive_reuses_one_connection():
    async def scenario():
        server = Server()
        async with server as origin, PushHTTPClient() as client:
            for i in range(5):
                response = await client.post(f"{origin}/push/{i}", {"TTL": "60"}, b"body")
                assert response.status == 201
            return server, client.connections_opened

    server, opened = asyncio.run(scenario())
    assert opened == 1
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /push/0 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nTTL: 60\r\n" in first
    assert first.endswith(b"\r\n\r\nbody")


def test_connection_closed_by_the_server_is_replaced():
    async def scenario():
        server = Server("close-after-each")
        async with server as origin, PushHTTPClient() as client:
            statuses = []
            for i in range(3):
                statuses.append((await client.post(f"{origin}/p/{i}", {}, b"x")).status)
                await asyncio.sleep(0.05)
            return statuses, server

    statuses, server = asyncio.run(scenario())
    assert statuses == [201, 201, 201]
    assert len(server.requests) == 3  # each sent once


def test_request_on_a_connection_the_server_dropped_is_sent_again_once():
    async def scenario():
        server = Server("drop-reused")
        async with server as origin, PushHTTPClient() as client:
            first = await client.post(f"{origin}/p/1", {}, b"x")
            second = await client.post(f"{origin}/p/2", {}, b"x")
            return first.status, second.status, server

    first, second, server = asyncio.run(scenario())
    assert (first, second) == (201, 201)
    assert server.connections == 2
    assert [r.split(b" ")[1] for r in server.requests] == [b"/p/1", b"/p/2", b"/p/2"]


def test_no_answer_is_a_timeout():
    async def scenario():
        async with Server("silent") as origin, PushHTTPClient(timeout=0.3) as client:
            await client.post(f"{origin}/p/1", {}, b"x")

    with pytest.raises(TimeoutError):
        asyncio.run(scenario())


def test_refused_connection_is_a_network_error():
    async def scenario():
        async with PushHTTPClient(timeout=2) as client:
            await client.post("http://127.0.0.1:9/p/1", {}, b"x")

    with pytest.raises((PushHTTPError, OSError)):
        asyncio.run(scenario())


@pytest.mark.parametrize("endpoint", [
    "http://127.0.0.1/push/a b", "http://127.0.0.1/push/a\r\nX-Evil: 1",
    "http://127.0.0.1/プッシュ", "ftp://127.0.0.1/push/1",
])
def test_unsafe_endpoints_are_refused(endpoint):
    async def scenario():
        async with PushHTTPClient() as client:
            await client.post(endpoint, {}, b"x")

    with pytest.raises(BadEndpoint):
        asyncio.run(scenario())


def _self_signed(tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


def test_tls_with_certificate_verification(tmp_path):
    server_context, client_context = _self_signed(tmp_path)

    async def scenario(context):
        async with Server(ssl_context=server_context) as origin, \
                PushHTTPClient(ssl_context=context, timeout=5) as client:
            first = await client.post(f"{origin}/push/1", {"TTL": "0"}, b"x")
            second = await client.post(f"{origin}/push/2", {"TTL": "0"}, b"y")
            return first.status, second.status, client.connections_opened

    assert asyncio.run(scenario(client_context)) == (201, 201, 1)
    with pytest.raises(ssl.SSLCertVerificationError):  # the system CAs do not trust it
        asyncio.run(scenario(None))

"""A fake Web Push service on 127.0.0.1 that checks requests as a real one does.

``POST /push/<token>`` must carry a valid VAPID JWT (``Authorization: vapid
t=<jwt>, k=<key>``: ES256 signature, ``aud`` equal to this origin, ``exp`` in
the next 24 h, ``sub`` mailto:/https:), a ``TTL`` header and an aes128gcm body,
which is decrypted with the subscriber's private key (``http_ece``, an
implementation independent of ours).  Each accepted message is recorded with
its headers.  Tests script answers per subscription: ``fail(token, 500, 201)``
answers 500 once then 201; ``fail(token, 410, repeat=True)`` answers 410 for
good; 429 answers carry ``Retry-After``.

It runs its own event loop in a thread, so synchronous tests and sender
subprocesses can both reach it.  ``python -m tests.push.fake_push_service
--bench`` runs it stand-alone for bench/fanout.py, skipping VAPID and
decryption (it still reads every body) so it is not the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_TOPIC_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64d(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class FakeSubscription:
    """A browser's subscription: the endpoint plus the keys only the browser holds."""

    token: str
    endpoint: str
    origin: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        return _b64e(self.private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint))

    @property
    def auth(self) -> str:
        return _b64e(self.auth_secret)


@dataclass
class Received:
    token: str
    payload: dict[str, Any]
    headers: dict[str, str]
    at: float


@dataclass
class _Script:
    statuses: deque[int] = field(default_factory=deque)
    repeat: int | None = None
    retry_after: str | None = None


class FakePushService:
    """See the module docstring.  Use as a context manager or call start()/stop()."""

    def __init__(self, *, origins: int = 1, verify: bool = True, latency: float = 0.0,
                 expected_key: str | None = None):
        self.verify = verify
        self.latency = latency
        self.expected_key = expected_key
        self.origins: list[str] = []
        self.received: list[Received] = []
        self.errors: list[str] = []
        self.answers: Counter[tuple[str, int]] = Counter()
        self.bodies = 0
        self._n_origins = origins
        self._subs: dict[str, FakeSubscription] = {}
        self._scripts: dict[str, _Script] = {}
        self._jwt_ok: dict[str, float] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- set-up -------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return self.origins[0]

    def subscription(self, origin: int = 0) -> FakeSubscription:
        """A new subscriber with fresh P-256 keys and a 16-byte auth secret."""
        token = _b64e(os.urandom(12))
        sub = FakeSubscription(token, f"{self.origins[origin]}/push/{token}",
                               self.origins[origin], ec.generate_private_key(ec.SECP256R1()),
                               os.urandom(16))
        with self._lock:
            self._subs[token] = sub
        return sub

    def fail(self, token: str, *statuses: int, repeat: bool = False,
             retry_after: str | None = None) -> None:
        """Answer ``statuses`` in turn (then 201), or the last one for good with ``repeat``."""
        with self._lock:
            script = _Script(deque(statuses), statuses[-1] if repeat else None, retry_after)
            self._scripts[token] = script

    # -- results ------------------------------------------------------------------
    def received_by(self, token: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.token == token]

    def count(self) -> int:
        with self._lock:
            return len(self.received) if self.verify else self.bodies

    def tokens(self) -> Counter[str]:
        with self._lock:
            return Counter(r.token for r in self.received)

    # -- the server -----------------------------------------------------------------
    def _answer(self, token: str) -> tuple[int, dict[str, str]]:
        with self._lock:
            script = self._scripts.get(token)
            if script is None:
                return 201, {}
            if script.statuses:
                status = script.statuses.popleft()
            elif script.repeat is not None:
                status = script.repeat
            else:
                return 201, {}
        if status == 429 and script.retry_after:
            return status, {"Retry-After": script.retry_after}
        return status, {}

    def _check_vapid(self, header: str, origin: str) -> str | None:
        if not header.startswith("vapid "):
            return "Authorization is not the vapid scheme"
        try:
            params = dict(part.strip().split("=", 1) for part in header[6:].split(","))
        except ValueError:
            return "malformed vapid parameters"
        token, key = params.get("t", ""), params.get("k", "")
        if self.expected_key and key != self.expected_key:
            return "k is not the application server key"
        now = time.time()
        if self._jwt_ok.get(f"{origin} {token}", 0) > now:
            return None
        try:
            head_b64, claims_b64, sig_b64 = token.split(".")
            head = json.loads(_b64d(head_b64))
            claims = json.loads(_b64d(claims_b64))
            sig = _b64d(sig_b64)
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64d(key))
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                       int.from_bytes(sig[32:], "big"))
            public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except (ValueError, InvalidSignature) as error:
            return f"bad JWT: {error!r}"
        if head.get("alg") != "ES256" or len(sig) != 64:
            return "JWT is not ES256"
        if claims.get("aud") != origin:
            return f"aud {claims.get('aud')!r} is not {origin!r}"
        exp = claims.get("exp")
        if not isinstance(exp, int) or not now < exp <= now + 86400:
            return f"exp {exp!r} not within 24 h"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return "sub is not mailto:/https:"
        self._jwt_ok[f"{origin} {token}"] = min(exp, now + 3600)
        return None

    def _check(self, request: web.Request, body: bytes, sub: FakeSubscription) -> str | dict:
        problem = self._check_vapid(request.headers.get("Authorization", ""), sub.origin)
        if problem:
            return problem
        ttl = request.headers.get("TTL", "")
        if not ttl.isdigit():
            return "TTL header missing"
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return "Content-Encoding is not aes128gcm"
        if request.headers.get("Urgency", "normal") not in ("very-low", "low", "normal", "high"):
            return "bad Urgency"
        topic = request.headers.get("Topic")
        if topic is not None and (len(topic) > 32 or set(topic) - _TOPIC_CHARS):
            return "bad Topic"
        try:
            plain = http_ece.decrypt(body, private_key=sub.private_key,
                                     auth_secret=sub.auth_secret, version="aes128gcm")
            return json.loads(plain)
        except Exception as error:  # any failure to decrypt is the sender's bug
            return f"cannot decrypt: {error!r}"

    async def _push(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body = await request.read()
        if self.latency:
            await asyncio.sleep(self.latency)
        if not self.verify:
            with self._lock:
                self.bodies += 1
            return web.Response(status=201)
        sub = self._subs.get(token)
        if sub is None:
            return web.Response(status=404)
        status, headers = self._answer(token)
        with self._lock:
            self.answers[(token, status)] += 1
        if status >= 300:
            return web.Response(status=status, headers=headers, text="scripted")
        checked = self._check(request, body, sub)
        if isinstance(checked, str):
            with self._lock:
                self.errors.append(f"{token}: {checked}")
            return web.Response(status=400, text=checked)
        with self._lock:
            self.received.append(Received(token, checked, dict(request.headers), time.monotonic()))
        return web.Response(status=201, headers={"Location": f"/m/{token}"})

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response({"received": self.count()})

    async def _start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=8192)
        app.router.add_post("/push/{token}", self._push)
        app.router.add_get("/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        for i in range(self._n_origins):
            site = web.TCPSite(self._runner, "127.0.0.1", port if i == 0 else 0, backlog=1024)
            await site.start()
            bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.origins.append(f"http://127.0.0.1:{bound}")

    def start(self) -> FakePushService:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())  # type: ignore[union-attr]
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-push-service", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake push service did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FakePushService:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def main() -> None:
    """Stand-alone server for the benchmark: prints its origin, serves until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bench", action="store_true", help="skip VAPID/decryption checks")
    args = parser.parse_args()
    service = FakePushService(verify=not args.bench)

    async def serve() -> None:
        await service._start(args.port)
        print(service.origin, flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

"""VAPID (RFC 8292): the application server's P-256 key pair and its signed JWTs.

The private key comes from ``CHOUNAIKAI_VAPID_PRIVATE_KEY`` (PEM, or the raw
32-byte scalar in base64url as ``flask push generate-vapid`` prints it).  In
the embedded default (development, tests) a key is generated on first use and
kept in the instance folder with mode 0600; in production a missing key is an
error, because every host must sign with the same key the browsers subscribed
with.

JWTs (ES256, ``aud`` = push-service origin, ``exp`` ≤ 24 h, ``sub``) are signed
once per origin and reused until half their lifetime has passed.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from flask import Flask, current_app

from .encryption import b64url_decode, b64url_encode
from .settings import setting

INSTANCE_FILE = "vapid_private_key.pem"
MAX_JWT_SECONDS = 24 * 3600
_EXTENSION_KEY = "chounaikai_vapid"
_lock = threading.Lock()


class VapidConfigError(RuntimeError):
    """The VAPID key or subject is missing or malformed."""


@dataclass(frozen=True)
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey
    public_key_b64url: str  # the browser's applicationServerKey (65-byte point)
    subject: str  # mailto: or https: contact for the push services


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def private_key_b64url(key: ec.EllipticCurvePrivateKey) -> str:
    """The raw 32-byte private scalar, base64url: the compact form for an env variable."""
    return b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def parse_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """Read a P-256 private key given as PEM, base64url raw scalar or base64url DER.

    Raises VapidConfigError for anything else.
    """
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.replace("\\n", "\n").encode(), None)
        else:
            raw = b64url_decode(text)
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, None)
    except (ValueError, TypeError) as error:
        raise VapidConfigError(
            f"CHOUNAIKAI_VAPID_PRIVATE_KEY is not a valid key: {error}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise VapidConfigError("CHOUNAIKAI_VAPID_PRIVATE_KEY must be a P-256 (prime256v1) key")
    return key


def public_key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)


def _instance_key(app: Flask) -> ec.EllipticCurvePrivateKey:
    """The development key in the instance folder, created (mode 0600) on first use.

    ``O_EXCL`` makes concurrent first starts agree on one key: the loser reads
    the winner's file.
    """
    path = Path(app.instance_path) / INSTANCE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the other process may still be writing it
            text = path.read_text()
            if text.strip().endswith("-----"):
                return parse_private_key(text)
            time.sleep(0.02)
        return parse_private_key(path.read_text())
    key = generate_private_key()
    with os.fdopen(fd, "w") as handle:
        handle.write(private_key_pem(key))
    return key


def _subject(app: Flask) -> str:
    subject = app.config.get("VAPID_SUBJECT")
    if not subject:
        base = str(app.config.get("PUBLIC_BASE_URL") or "")
        # Push services reject contacts on localhost; a neutral default for development.
        subject = base if base.startswith("https://") else "mailto:webpush@chounaikai.invalid"
    if not subject.startswith(("mailto:", "https://")):
        raise VapidConfigError("CHOUNAIKAI_VAPID_SUBJECT must start with mailto: or https://")
    return subject


def keys(app: Flask | None = None) -> VapidKeys:
    """The app's VAPID keys, loaded once.  Raises VapidConfigError when unusable."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cached = app.extensions.get(_EXTENSION_KEY)
    if cached is not None:
        return cached
    with _lock:
        cached = app.extensions.get(_EXTENSION_KEY)
        if cached is not None:
            return cached
        configured = app.config.get("VAPID_PRIVATE_KEY")
        if configured:
            private = parse_private_key(str(configured))
        elif app.config.get("ENV_NAME") in ("development", "test") or app.config.get("TESTING"):
            private = _instance_key(app)
        else:
            raise VapidConfigError(
                "CHOUNAIKAI_VAPID_PRIVATE_KEY must be set outside development "
                "(generate one with `flask push generate-vapid`).")
        loaded = VapidKeys(private, b64url_encode(public_key_bytes(private)), _subject(app))
        app.extensions[_EXTENSION_KEY] = loaded
        return loaded


def public_key_b64url(app: Flask | None = None) -> str:
    """The applicationServerKey the browser subscribes with (base64url, no padding)."""
    return keys(app).public_key_b64url


def origin_of(endpoint: str) -> str:
    """``scheme://host[:port]`` of a push endpoint: the JWT audience and the pool key."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def sign_jwt(key: ec.EllipticCurvePrivateKey, claims: dict[str, object]) -> str:
    """A compact ES256 JWS (raw r||s signature, as JOSE requires)."""
    header = b64url_encode(b'{"typ":"JWT","alg":"ES256"}')
    body = b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{body}".encode("ascii")
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return f"{header}.{body}.{b64url_encode(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@dataclass
class VapidSigner:
    """Authorization headers per push-service origin, cached within their lifetime.

    Uses the real wall clock (not the engine's test clock): push services
    check ``exp`` against their own time.
    """

    keys: VapidKeys
    lifetime: int = 12 * 3600
    _cache: dict[str, tuple[str, float]] = field(default_factory=dict)
    signed: int = 0  # how many JWTs were made (tests check the caching)

    @classmethod
    def for_app(cls, app: Flask) -> VapidSigner:
        lifetime = min(int(setting(app, "PUSH_VAPID_JWT_SECONDS")), MAX_JWT_SECONDS)
        return cls(keys(app), lifetime)

    def authorization(self, origin: str) -> str:
        """``vapid t=<jwt>, k=<public key>`` for ``origin``, re-signed at half-life."""
        now = time.time()
        cached = self._cache.get(origin)
        if cached is not None and cached[1] > now:
            return cached[0]
        # Integer exp a little under the lifetime: clocks of push services drift.
        claims = {"aud": origin, "exp": int(now) + self.lifetime - 60, "sub": self.keys.subject}
        jwt = sign_jwt(self.keys.private_key, claims)
        value = f"vapid t={jwt}, k={self.keys.public_key_b64url}"
        self._cache[origin] = (value, now + self.lifetime / 2)
        self.signed += 1
        return value

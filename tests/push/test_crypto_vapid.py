"""RFC 8291 encryption (checked with http_ece) and RFC 8292 VAPID keys and JWTs."""

from __future__ import annotations

import json
import os
import stat

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from flask import Flask

from chounaikai.push import vapid
from chounaikai.push.encryption import (
    EncryptionError,
    b64url_decode,
    b64url_encode,
    encrypt,
)


def _subscriber() -> tuple[ec.EllipticCurvePrivateKey, str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    return key, b64url_encode(public), os.urandom(16)


def test_encrypted_body_decrypts_with_an_independent_implementation():
    key, p256dh, auth = _subscriber()
    message = json.dumps({"title": "新しい回覧があります"}, ensure_ascii=False).encode()

    body = encrypt(message, p256dh, b64url_encode(auth))

    assert http_ece.decrypt(body, private_key=key, auth_secret=auth,
                            version="aes128gcm") == message
    assert int.from_bytes(body[16:20], "big") == 4096  # record size
    assert body[20] == 65
    assert body[21] == 0x04


def test_every_message_gets_a_fresh_key_and_salt():
    _key, p256dh, auth = _subscriber()
    bodies = [encrypt(b"same", p256dh, auth) for _ in range(20)]

    assert len({body[:16] for body in bodies}) == 20  # salts
    assert len({body[21:86] for body in bodies}) == 20  # ephemeral public keys


@pytest.mark.parametrize(("p256dh", "auth"), [
    ("not-base64!", "AAAAAAAAAAAAAAAAAAAAAA"),
    (b64url_encode(b"\x04" + b"\x01" * 64), "AAAAAAAAAAAAAAAAAAAAAA"),  # not on the curve
    (None, "short"),
])
def test_malformed_subscription_keys_are_refused(p256dh, auth):
    if p256dh is None:
        p256dh = _subscriber()[1]
    with pytest.raises(EncryptionError):
        encrypt(b"x", p256dh, auth)


def test_oversized_payload_is_refused():
    _key, p256dh, auth = _subscriber()
    with pytest.raises(EncryptionError):
        encrypt(b"x" * 5000, p256dh, b64url_encode(auth))


def _verify(header: str, expected_origin: str) -> dict:
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    head, claims, signature = values["t"].split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                          b64url_decode(values["k"]))
    raw = b64url_decode(signature)
    public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                       int.from_bytes(raw[32:], "big")),
                  f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(b64url_decode(head)) == {"typ": "JWT", "alg": "ES256"}
    decoded = json.loads(b64url_decode(claims))
    assert decoded["aud"] == expected_origin
    return decoded


def test_jwt_is_signed_once_per_origin_and_renewed_before_expiry(app, monkeypatch):
    with app.app_context():
        signer = vapid.VapidSigner.for_app(app)
    clock = [1_800_000_000.0]
    monkeypatch.setattr(vapid.time, "time", lambda: clock[0])

    first = signer.authorization("https://fcm.googleapis.com")
    assert signer.authorization("https://fcm.googleapis.com") == first
    other = signer.authorization("https://updates.push.services.mozilla.com")
    assert signer.signed == 2
    assert other != first

    claims = _verify(first, "https://fcm.googleapis.com")
    assert claims["sub"] == "mailto:test@chounaikai.invalid"
    assert clock[0] < claims["exp"] <= clock[0] + 24 * 3600

    clock[0] += 5 * 3600  # still well inside the 12 h lifetime: reused
    assert signer.authorization("https://fcm.googleapis.com") == first
    clock[0] += 2 * 3600  # past half-life: re-signed long before exp
    renewed = signer.authorization("https://fcm.googleapis.com")
    assert renewed != first
    assert signer.signed == 3
    assert _verify(renewed, "https://fcm.googleapis.com")["exp"] > claims["exp"]


def test_private_key_forms_are_accepted():
    key = vapid.generate_private_key()
    expected = vapid.public_key_bytes(key)
    pem = vapid.private_key_pem(key)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    for text in (vapid.private_key_b64url(key), pem, pem.replace("\n", "\\n"),
                 b64url_encode(der)):
        assert vapid.public_key_bytes(vapid.parse_private_key(text)) == expected


@pytest.mark.parametrize("text", ["", "hello", b64url_encode(b"\x01" * 10)])
def test_bad_private_keys_raise(text):
    with pytest.raises(vapid.VapidConfigError):
        vapid.parse_private_key(text)


def test_non_p256_keys_raise():
    other = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    with pytest.raises(vapid.VapidConfigError, match="P-256"):
        vapid.parse_private_key(other)


def _bare_app(tmp_path, **config) -> Flask:
    app = Flask("vapid-test", instance_path=str(tmp_path / "instance"))
    app.config.update(config)
    return app


def test_embedded_default_keeps_a_0600_key_in_the_instance_folder(tmp_path):
    first = _bare_app(tmp_path, ENV_NAME="development")
    public = vapid.public_key_b64url(first)
    path = tmp_path / "instance" / vapid.INSTANCE_FILE

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(b64url_decode(public)) == 65
    assert b64url_decode(public)[0] == 4
    # A restart (a new app on the same instance folder) keeps the key browsers subscribed with.
    assert vapid.public_key_b64url(_bare_app(tmp_path, ENV_NAME="development")) == public


def test_production_without_a_key_is_an_error(tmp_path):
    with pytest.raises(vapid.VapidConfigError, match="CHOUNAIKAI_VAPID_PRIVATE_KEY"):
        vapid.keys(_bare_app(tmp_path, ENV_NAME="production"))
    assert not (tmp_path / "instance" / vapid.INSTANCE_FILE).exists()


def test_subject_must_be_mailto_or_https(tmp_path):
    key = vapid.private_key_b64url(vapid.generate_private_key())
    with pytest.raises(vapid.VapidConfigError, match="mailto"):
        vapid.keys(_bare_app(tmp_path, VAPID_PRIVATE_KEY=key, VAPID_SUBJECT="admin@example.jp"))
    https = _bare_app(tmp_path, VAPID_PRIVATE_KEY=key, PUBLIC_BASE_URL="https://machida.example")
    assert vapid.keys(https).subject == "https://machida.example"


def test_configured_key_is_used_and_public_key_matches(app):
    with app.app_context():
        public = vapid.public_key_b64url()
    expected = vapid.public_key_bytes(vapid.parse_private_key(app.config["VAPID_PRIVATE_KEY"]))
    assert b64url_decode(public) == expected


def test_generate_vapid_command_prints_a_usable_pair(app):
    result = app.test_cli_runner().invoke(args=["push", "generate-vapid"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split("=", 1) for line in result.output.splitlines()
                 if line.startswith("CHOUNAIKAI_VAPID_PRIVATE_KEY"))
    key = vapid.parse_private_key(lines["CHOUNAIKAI_VAPID_PRIVATE_KEY"].strip("'"))
    public = result.output.split("applicationServerKey (public): ")[1].split()[0]
    assert b64url_decode(public) == vapid.public_key_bytes(key)

    pem = app.test_cli_runner().invoke(args=["push", "generate-vapid", "--pem"])
    assert "BEGIN PRIVATE KEY" in pem.output
    assert app.test_cli_runner().invoke(args=["push", "public-key"]).output.strip() == \
        vapid.public_key_b64url(app)

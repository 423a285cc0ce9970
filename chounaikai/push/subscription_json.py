"""A browser's ``PushSubscription`` JSON, checked before anything is stored.

A browser hands us its standard ``PushSubscription`` JSON::

    {"endpoint": "https://fcm.googleapis.com/fcm/send/...",
     "keys": {"p256dh": "<base64url, 65 bytes>", "auth": "<base64url, 16 bytes>"},
     "expirationTime": null}

Everything in it is checked strictly before a row is written, because the
delivery engine later POSTs to ``endpoint``: only push services on the
allow-list (``PUSH_ALLOWED_HOSTS``) are accepted, so a member cannot make the
server send requests to an arbitrary URL.

Allow-list patterns (``PUSH_ALLOWED_HOSTS``, extended by
``CHOUNAIKAI_PUSH_ALLOWED_HOSTS``)::

    fcm.googleapis.com        exactly this host, https, default port only
    *.push.apple.com          any subdomain (never the bare domain, never an IP address)
    push.example:8443         this host on port 8443 (``:*``: any port)
    http://127.0.0.1:*        plain http for this host: for a local test push service only

An IP address is accepted only when it is listed exactly.  Storing devices and
members' settings is :mod:`chounaikai.push.subscriptions`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from flask_babel import gettext as _

from ..errors import ValidationFailed
from ..models import utcnow

MAX_ENDPOINT = 2048  # the column's length
MAX_BODY_BYTES = 4096  # a real subscription's JSON is well under 1 KB
P256DH_BYTES = 65  # an uncompressed P-256 point: 0x04, x, y
AUTH_BYTES = 16
SUBSCRIPTION_FIELDS = ("endpoint", "keys", "expirationTime")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
# Scheme, host and optional port, then path and query in RFC 3986 characters only.  A
# strict shape means every URL parser (ours, requests', the push service's) reads the
# same host: no userinfo (``@`` before the host), no backslashes, spaces or fragments.
_ENDPOINT = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9.-]{1,253})(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<rest>[/?][A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*)?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DEFAULT_PORTS = {"https": 443, "http": 80}


# -- the allow-list ------------------------------------------------------------------------

@dataclass(frozen=True)
class HostPattern:
    """One allow-list entry (see the module docstring for the syntax)."""

    scheme: str
    host: str  # lower case; "*.example.com" for subdomains
    port: int | None  # None: the scheme's default port; -1: any port

    @classmethod
    def parse(cls, raw: str) -> HostPattern:
        text = raw.strip().lower()
        scheme = "https"
        for prefix in ("https://", "http://"):
            if text.startswith(prefix):
                scheme, text = prefix[:-3], text[len(prefix):]
        host, _sep, port = text.partition(":")
        if not host or (port and port != "*" and not port.isdigit()):
            raise ValueError(f"bad PUSH_ALLOWED_HOSTS entry: {raw!r}")
        return cls(scheme, host, -1 if port == "*" else (int(port) if port else None))

    def matches(self, scheme: str, host: str, port: int) -> bool:
        if scheme != self.scheme:
            return False
        wanted_port = _DEFAULT_PORTS[scheme] if self.port is None else self.port
        if wanted_port != -1 and port != wanted_port:
            return False
        if self.host.startswith("*."):
            # A wildcard never stands for an IP address (its last label is all digits).
            return (host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
                    and not host.rsplit(".", 1)[-1].isdigit())
        return host == self.host


def allowed_host_patterns(app_config: Mapping[str, Any] | None = None) -> list[HostPattern]:
    config = current_app.config if app_config is None else app_config
    return [HostPattern.parse(entry) for entry in config.get("PUSH_ALLOWED_HOSTS", ())]


@dataclass(frozen=True)
class Endpoint:
    url: str
    origin: str  # scheme://host[:port], the port only when it is not the default


def check_endpoint(raw: Any, patterns: Iterable[HostPattern]) -> Endpoint:
    """The endpoint URL when it is well formed and on the allow-list; else ValidationFailed."""
    def fail(message: str) -> ValidationFailed:
        return ValidationFailed(message, fields={"endpoint": message})

    if not isinstance(raw, str) or not raw:
        raise fail(_("endpoint（通知の送り先のURL）を文字列で入れてください。"))
    if len(raw) > MAX_ENDPOINT:
        raise fail(_("endpoint は%(n)d文字以内にしてください。", n=MAX_ENDPOINT))
    match = _ENDPOINT.fullmatch(raw)
    if match is None:
        if not raw.startswith(("https://", "http://")):
            raise fail(_("endpoint は https:// で始まるURLにしてください。"))
        raise fail(_("endpoint のURLの形が正しくありません（使えない文字、@ や # を含むなど）。"))
    scheme, host = match["scheme"], match["host"].lower()
    if not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise fail(_("endpoint のホスト名が正しくありません。"))
    port = int(match["port"]) if match["port"] else _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise fail(_("endpoint のポート番号が正しくありません。"))
    patterns = list(patterns)
    if not any(p.matches(scheme, host, port) for p in patterns):
        if scheme == "http" and any(p.matches("https", host, port) or
                                    p.matches("https", host, 443) for p in patterns):
            raise fail(_("endpoint は https:// で始まるURLにしてください。"))
        raise fail(_("この通知サービス（%(host)s）には送れません。"
                     "ブラウザが用意した通知の登録をそのまま送ってください。", host=host))
    origin = f"{scheme}://{host}" + ("" if port == _DEFAULT_PORTS[scheme] else f":{port}")
    return Endpoint(url=f"{scheme}://{match['host'].lower()}"
                        + (f":{match['port']}" if match["port"] else "")
                        + (match["rest"] or ""), origin=origin)


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


# -- keys and expiry --------------------------------------------------------------------------

def _b64url_bytes(raw: Any) -> bytes | None:
    if not isinstance(raw, str) or len(raw) > 200 or not _B64URL.fullmatch(raw):
        return None
    stripped = raw.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        return None


def b64url(data: bytes) -> str:
    """Unpadded base64url, as browsers write the keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _check_p256dh(raw: Any) -> bytes | None:
    data = _b64url_bytes(raw)
    if data is None or len(data) != P256DH_BYTES or data[0] != 0x04:
        return None
    try:  # a point on the curve, or the sender could never encrypt to it
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    except ValueError:
        return None
    return data


def _expiration(raw: Any, errors: dict[str, str]) -> datetime | None:
    if raw is None:
        return None
    if (isinstance(raw, bool) or not isinstance(raw, int | float)
            or not math.isfinite(raw) or not 0 <= raw <= 253_402_300_799_000):  # year 9999
        errors["expirationTime"] = _("expirationTime は null か、ミリ秒の数値にしてください。")
        return None
    value = datetime.fromtimestamp(raw / 1000, UTC)
    if value <= utcnow():
        errors["expirationTime"] = _("この通知の登録は期限が切れています。"
                                     "ページを読み込み直して、もう一度お試しください。")
        return None
    return value


@dataclass(frozen=True)
class SubscriptionInput:
    endpoint: str
    origin: str
    p256dh: str  # unpadded base64url
    auth: str
    expiration_time: datetime | None


def parse_subscription(data: Any, *, extra_fields: Iterable[str] = (),
                       app_config: Mapping[str, Any] | None = None) -> SubscriptionInput:
    """Check a ``PushSubscription`` JSON object; raise ValidationFailed naming each bad field.

    ``extra_fields`` are other keys the caller reads itself (e.g. the API's device label).
    """
    if not isinstance(data, dict):
        raise ValidationFailed(_("JSONのオブジェクト（{...}）で送ってください。"))
    errors: dict[str, str] = {}
    for key in sorted(set(data) - set(SUBSCRIPTION_FIELDS) - set(extra_fields))[:20]:
        errors[str(key)[:64]] = _("この項目は使えません。")
    endpoint: Endpoint | None = None
    try:
        endpoint = check_endpoint(data.get("endpoint"), allowed_host_patterns(app_config))
    except ValidationFailed as error:
        errors.update(error.fields)
    keys = data.get("keys")
    p256dh = auth = None
    if not isinstance(keys, dict):
        errors["keys"] = _("keys に p256dh と auth を入れてください。")
    else:
        for key in sorted(set(keys) - {"p256dh", "auth"})[:20]:
            errors[f"keys.{str(key)[:32]}"] = _("この項目は使えません。")
        p256dh = _check_p256dh(keys.get("p256dh"))
        if p256dh is None:
            errors["keys.p256dh"] = _("keys.p256dh は、0x04 で始まる65バイトの公開鍵を"
                                      "base64url で入れてください。")
        auth = _b64url_bytes(keys.get("auth"))
        if auth is None or len(auth) != AUTH_BYTES:
            errors["keys.auth"] = _("keys.auth は16バイトを base64url で入れてください。")
    expiration = _expiration(data.get("expirationTime"), errors)
    if errors or endpoint is None or p256dh is None or auth is None:
        raise ValidationFailed(_("通知の登録の内容が正しくありません。"), fields=errors)
    return SubscriptionInput(endpoint=endpoint.url, origin=endpoint.origin, p256dh=b64url(p256dh),
                             auth=b64url(auth), expiration_time=expiration)


def check_body_size(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise ValidationFailed(_("送られた内容が大きすぎます（%(n)dバイトまで）。",
                                 n=MAX_BODY_BYTES))

"""Members' push devices and their notification settings (quiet hours, daily digest).

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

An IP address is accepted only when it is listed exactly.  Services flush but
never commit (the request commits).
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
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, DomainError, NotFound, ValidationFailed
from ..extensions import db
from ..models import PushSubscription, User, utcnow

MAX_ENDPOINT = 2048  # the column's length
MAX_BODY_BYTES = 4096  # a real subscription's JSON is well under 1 KB
MAX_LABEL = 60
MAX_DEVICES = 20  # per member; a family tablet, two phones and a PC fit easily
P256DH_BYTES = 65  # an uncompressed P-256 point: 0x04, x, y
AUTH_BYTES = 16
SUBSCRIPTION_FIELDS = ("endpoint", "keys", "expirationTime")
MINUTES_PER_DAY = 24 * 60

_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
# Scheme, host and optional port, then path and query in RFC 3986 characters only.  A
# strict shape means every URL parser (ours, requests', the push service's) reads the
# same host: no userinfo (``@`` before the host), no backslashes, spaces or fragments.
_ENDPOINT = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9.-]{1,253})(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<rest>[/?][A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*)?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])(?::[0-5][0-9])?")


class PushUnavailable(DomainError):
    """The server has no VAPID key yet, so browsers cannot subscribe (503)."""

    status = 503
    code = "push_unavailable"
    default_message = _l("通知の準備ができていません。しばらくしてからもう一度お試しください。")


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


# -- device labels ------------------------------------------------------------------------------

_PLATFORMS = (
    (re.compile(r"iPhone|iPod"), "iPhone"),
    (re.compile(r"iPad"), "iPad"),
    (re.compile(r"Android"), "Android"),
    (re.compile(r"CrOS"), "Chromebook"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"Macintosh|Mac OS X"), "Mac"),
    (re.compile(r"Linux"), "Linux"),
)
_BROWSERS = (
    (re.compile(r"Edg(?:e|A|iOS)?/"), "Edge"),
    (re.compile(r"SamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"Chrome/|CriOS/|Chromium/"), "Chrome"),
    (re.compile(r"Safari/|AppleWebKit/.*Mobile/"), "Safari"),
)


def device_label(user_agent: str | None) -> str:
    """A short name such as "iPhone Safari" or "Android Chrome" ("" when unknown)."""
    ua = (user_agent or "")[:512]
    platform = next((name for pattern, name in _PLATFORMS if pattern.search(ua)), "")
    browser = next((name for pattern, name in _BROWSERS if pattern.search(ua)), "")
    return f"{platform} {browser}".strip()


def clean_label(raw: Any) -> str | None:
    """A label an API client chose: printable text of at most MAX_LABEL characters, or None."""
    if not isinstance(raw, str) or len(raw) > MAX_LABEL or not raw.isprintable():
        return None
    return raw.strip()


def label_error() -> str:
    return _("%(n)d文字以内の文字列にしてください（改行などは使えません）。", n=MAX_LABEL)


# -- subscriptions ------------------------------------------------------------------------------

def devices_of(user: User) -> list[PushSubscription]:
    """The member's own devices, oldest first."""
    return list(db.session.scalars(
        select(PushSubscription).where(PushSubscription.user_id == user.id)
        .order_by(PushSubscription.created_at, PushSubscription.id)))


def _by_endpoint(digest: str) -> PushSubscription | None:
    return db.session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint_hash == digest))


def _check_device_limit(user: User) -> None:
    count = db.session.scalar(select(func.count()).select_from(PushSubscription)
                              .where(PushSubscription.user_id == user.id)) or 0
    if count >= MAX_DEVICES:
        raise Conflict(_("通知を受け取る端末は%(n)d台までです。使っていない端末を外してから、"
                         "もう一度お試しください。", n=MAX_DEVICES))


def subscribe(*, user: User, data: SubscriptionInput, label: str) -> tuple[PushSubscription, bool]:
    """Store this device's subscription; returns (row, created).

    Subscribing the same endpoint again updates its row (idempotent).  An endpoint
    belongs to one browser profile, so when another member logs in on that browser
    and subscribes, the device moves to them: notifications follow whoever uses it.
    """
    digest = endpoint_hash(data.endpoint)
    row = _by_endpoint(digest)
    created = False
    if row is None:
        _check_device_limit(user)
        row = PushSubscription(user_id=user.id, endpoint=data.endpoint, endpoint_hash=digest,
                               origin=data.origin, p256dh=data.p256dh, auth=data.auth,
                               device_label=label[:120], created_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # the same device subscribed in a concurrent request
            row = _by_endpoint(digest)
            if row is None:
                raise
        else:
            created = True
    if not created and row.user_id != user.id:
        _check_device_limit(user)
        row.user_id = user.id
        row.created_at = utcnow()
        row.last_success_at = None
    row.endpoint = data.endpoint
    row.origin = data.origin
    row.p256dh = data.p256dh
    row.auth = data.auth
    row.expiration_time = data.expiration_time
    if label:
        row.device_label = label[:120]
    db.session.flush()
    return row, created


def remove_device(*, user: User, subscription_id: int) -> None:
    """Delete one of the member's own devices; another member's id is NotFound."""
    row = db.session.scalar(select(PushSubscription).where(
        PushSubscription.id == subscription_id, PushSubscription.user_id == user.id))
    if row is None:
        raise NotFound()
    db.session.delete(row)
    db.session.flush()


# -- notification settings ------------------------------------------------------------------------

@dataclass(frozen=True)
class QuietHours:
    """Minutes after midnight, Asia/Tokyo; start > end runs over midnight (21:00-07:00)."""

    start_minute: int
    end_minute: int

    @property
    def start(self) -> str:
        return format_clock(self.start_minute)

    @property
    def end(self) -> str:
        return format_clock(self.end_minute)


def format_clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_clock(raw: Any) -> int | None:
    """"HH:MM" (seconds, as some time pickers send, are ignored) as minutes, or None."""
    if not isinstance(raw, str):
        return None
    match = _CLOCK.fullmatch(raw.strip())
    return int(match[1]) * 60 + int(match[2]) if match else None


def parse_quiet_hours(start: Any, end: Any) -> QuietHours:
    """Both times as "HH:MM"; raises ValidationFailed naming ``quiet_start``/``quiet_end``."""
    errors: dict[str, str] = {}
    start_minute, end_minute = parse_clock(start), parse_clock(end)
    if start_minute is None:
        errors["quiet_start"] = _("時刻を「21:00」のように入れてください。")
    if end_minute is None:
        errors["quiet_end"] = _("時刻を「07:00」のように入れてください。")
    if start_minute is not None and start_minute == end_minute:
        errors["quiet_end"] = _("始まりと終わりを違う時刻にしてください。")
    if errors or start_minute is None or end_minute is None:
        raise ValidationFailed(fields=errors)
    return QuietHours(start_minute, end_minute)


def quiet_hours_shape_error() -> str:
    return _("null か、{\"start\": \"21:00\", \"end\": \"07:00\"} の形で入れてください。")


def quiet_hours_of(user: User) -> QuietHours | None:
    if user.quiet_start_minute is None or user.quiet_end_minute is None:
        return None
    return QuietHours(user.quiet_start_minute, user.quiet_end_minute)


def update_settings(*, user: User, quiet_hours: QuietHours | None, daily_digest: bool) -> None:
    """Save quiet hours (None: none) and the daily digest choice on the member."""
    for minute in (quiet_hours.start_minute, quiet_hours.end_minute) if quiet_hours else ():
        if not 0 <= minute < MINUTES_PER_DAY:
            raise ValidationFailed(fields={"quiet_hours": _("時刻が正しくありません。")})
    user.quiet_start_minute = quiet_hours.start_minute if quiet_hours else None
    user.quiet_end_minute = quiet_hours.end_minute if quiet_hours else None
    user.daily_digest = daily_digest
    db.session.flush()


# -- the VAPID key ------------------------------------------------------------------------------

def vapid_public_key() -> str | None:
    """The applicationServerKey browsers subscribe with (base64url), or None when not set up.

    The delivery engine owns the key (:mod:`chounaikai.push.vapid`; imported lazily);
    outside development a missing ``CHOUNAIKAI_VAPID_PRIVATE_KEY`` gives None here, and
    the pages say that notifications are not ready instead of failing.
    """
    from . import vapid

    try:
        return vapid.public_key_b64url(current_app._get_current_object())
    except vapid.VapidConfigError:
        current_app.logger.warning("Web Push is not configured: no usable VAPID key")
        return None


def require_vapid_public_key() -> str:
    key = vapid_public_key()
    if not key:
        raise PushUnavailable()
    return key

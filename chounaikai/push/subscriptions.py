"""Members' push devices and their notification settings (quiet hours, daily digest).

What a browser sends is checked first (:mod:`chounaikai.push.subscription_json`: push
services on the allow-list only, well-formed keys); this module stores devices, names
them, and keeps each member's quiet hours and daily-digest choice.  Services flush but
never commit (the request commits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, DomainError, NotFound, ValidationFailed
from ..extensions import db
from ..models import PushSubscription, User, utcnow
from .subscription_json import SubscriptionInput, endpoint_hash

MAX_LABEL = 60
MAX_DEVICES = 20  # per member; a family tablet, two phones and a PC fit easily
MINUTES_PER_DAY = 24 * 60

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])(?::[0-5][0-9])?")


class PushUnavailable(DomainError):
    """The server has no VAPID key yet, so browsers cannot subscribe (503)."""

    status = 503
    code = "push_unavailable"
    default_message = _l("通知の準備ができていません。しばらくしてからもう一度お試しください。")


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

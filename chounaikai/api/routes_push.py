"""Web Push for API clients: own devices, own notification settings, the VAPID key.

Every operation acts on the caller only: another member's device id is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from ..config import TIMEZONE
from ..errors import ValidationFailed
from ..models import PushSubscription, User
from ..push import subscription_json, subscriptions
from . import bp
from .auth import current_api_user
from .schemas import body_fields, json_object
from .serialize import iso

LABEL_FIELD = "device_label"


def _device(row: PushSubscription) -> dict[str, Any]:
    return {"id": row.id, "device_label": row.device_label, "origin": row.origin,
            "created_at": iso(row.created_at), "last_success_at": iso(row.last_success_at),
            "expiration_time": iso(row.expiration_time)}


def _settings(user: User) -> dict[str, Any]:
    quiet = subscriptions.quiet_hours_of(user)
    return {"quiet_hours": {"start": quiet.start, "end": quiet.end} if quiet else None,
            "daily_digest": user.daily_digest, "timezone": TIMEZONE}


@bp.get("/push/vapid-public-key")
def vapid_public_key():
    """The applicationServerKey to pass to ``pushManager.subscribe``."""
    return {"public_key": subscriptions.require_vapid_public_key()}


@bp.get("/push/subscriptions")
def list_push_subscriptions():
    return {"items": [_device(row) for row in subscriptions.devices_of(current_api_user())]}


@bp.post("/push/subscriptions")
def create_push_subscription():
    """Store a ``PushSubscription`` JSON (plus an optional label); idempotent per endpoint."""
    subscription_json.check_body_size(request.get_data(cache=True))
    body = json_object()
    data = subscription_json.parse_subscription(body, extra_fields=(LABEL_FIELD,))
    label = subscriptions.device_label(request.headers.get("User-Agent"))
    if body.get(LABEL_FIELD) is not None:
        chosen = subscriptions.clean_label(body[LABEL_FIELD])
        if chosen is None:
            raise ValidationFailed(fields={LABEL_FIELD: subscriptions.label_error()})
        label = chosen or label
    row, created = subscriptions.subscribe(user=current_api_user(), data=data, label=label)
    return _device(row), 201 if created else 200


@bp.delete("/push/subscriptions/<int:subscription_id>")
def delete_push_subscription(subscription_id: int):
    subscriptions.remove_device(user=current_api_user(), subscription_id=subscription_id)
    return Response(status=204)


@bp.get("/me/notification-settings")
def notification_settings():
    return _settings(current_api_user())


@bp.put("/me/notification-settings")
def update_notification_settings():
    """Replace quiet hours (``null``: none) and the daily digest choice."""
    fields = body_fields(("quiet_hours", "daily_digest"))
    fields.require("quiet_hours")
    daily_digest = fields.boolean("daily_digest", default=False)
    fields.require("daily_digest")
    raw = fields.source.get("quiet_hours")
    quiet = None
    if raw is not None:
        if not isinstance(raw, dict) or set(raw) != {"start", "end"}:
            fields.errors.setdefault("quiet_hours", subscriptions.quiet_hours_shape_error())
        else:
            try:
                quiet = subscriptions.parse_quiet_hours(raw["start"], raw["end"])
            except ValidationFailed as error:
                for name, message in error.fields.items():
                    fields.errors.setdefault(
                        {"quiet_start": "quiet_hours.start",
                         "quiet_end": "quiet_hours.end"}.get(name, name), message)
    fields.done()
    user = current_api_user()
    subscriptions.update_settings(user=user, quiet_hours=quiet, daily_digest=daily_digest)
    return _settings(user)

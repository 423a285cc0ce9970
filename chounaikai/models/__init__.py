"""All models, imported here so Alembic and the app see the whole metadata."""

from .association import Association, Block, Household, Invite, MemberRole, Membership
from .audit import AuditLog
from .circular import Attachment, Circular, CircularTranslation, Receipt, circular_blocks
from .push import (
    DeliveryStatus,
    LiveEvent,
    Notification,
    Priority,
    PushDelivery,
    PushOriginPause,
    PushSubscription,
)
from .types import MAX_ID, UTCDateTime, utcnow
from .user import ApiToken, GlobalRole, User

__all__ = [
    "ApiToken",
    "Association",
    "Attachment",
    "AuditLog",
    "Block",
    "Circular",
    "CircularTranslation",
    "DeliveryStatus",
    "GlobalRole",
    "Household",
    "Invite",
    "LiveEvent",
    "MAX_ID",
    "MemberRole",
    "Membership",
    "Notification",
    "Priority",
    "PushDelivery",
    "PushOriginPause",
    "PushSubscription",
    "Receipt",
    "UTCDateTime",
    "User",
    "circular_blocks",
    "utcnow",
]

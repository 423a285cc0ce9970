"""All models, imported here so Alembic and the app see the whole metadata."""

from .alert import Alert, AlertKind, AlertMessageType, AlertTarget, Hazard
from .association import Association, Block, Household, Invite, MemberRole, Membership
from .audit import AuditLog
from .circular import Attachment, Circular, CircularTranslation, Receipt, circular_blocks
from .page_version import PageVersion
from .push import (
    DeliveryStatus,
    LiveCountsDue,
    LiveEvent,
    Notification,
    Priority,
    PushDelivery,
    PushOriginPause,
    PushSubscription,
)
from .safety import SafetyAnswer, SafetyRound, SafetyStatus
from .shelter import Congestion, Shelter, ShelterStatusUpdate, shelter_contacts
from .types import MAX_ID, UTCDateTime, utcnow
from .user import ApiToken, GlobalRole, User

__all__ = [
    "Alert",
    "AlertKind",
    "AlertMessageType",
    "AlertTarget",
    "Congestion",
    "Hazard",
    "SafetyAnswer",
    "SafetyRound",
    "SafetyStatus",
    "Shelter",
    "ShelterStatusUpdate",
    "shelter_contacts",
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
    "LiveCountsDue",
    "LiveEvent",
    "MAX_ID",
    "MemberRole",
    "Membership",
    "Notification",
    "PageVersion",
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

"""All models, imported here so Alembic and the app see the whole metadata."""

from .association import Association, Block, Household, Invite, MemberRole, Membership
from .audit import AuditLog
from .circular import Attachment, Circular, Receipt, circular_blocks
from .types import MAX_ID, UTCDateTime, utcnow
from .user import ApiToken, GlobalRole, User

__all__ = [
    "ApiToken",
    "Association",
    "Attachment",
    "AuditLog",
    "Block",
    "Circular",
    "GlobalRole",
    "Household",
    "Invite",
    "MAX_ID",
    "MemberRole",
    "Membership",
    "Receipt",
    "UTCDateTime",
    "User",
    "circular_blocks",
    "utcnow",
]

"""API routes: CAP 1.2 import (described in openapi_cap.py)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from ..alerts import cap, cap_import
from ..models import Alert
from ..permissions import require_staff
from . import bp
from .auth import current_api_user
from .schemas import UnsupportedMediaType
from .serialize import iso

XML_TYPES = ("application/xml", "application/cap+xml", "text/xml")


class NotXml(UnsupportedMediaType):
    default_message = _l("CAPのXML（Content-Type: application/xml）で送ってください。")


def imported_alert(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id, "identifier": alert.identifier, "sender": alert.sender,
        "sent_at": iso(alert.sent_at), "expires_at": iso(alert.expires_at),
        "message_type": alert.message_type.value,
        "hazard": alert.hazard.value if alert.hazard else None,
        "active": alert.active, "references_id": alert.references_id,
        "languages": sorted(alert.texts), "cap_url": cap.cap_url(alert),
    }


@bp.post("/alerts/cap")
def import_cap():
    """Store a CAP 1.2 document as an alert: 201 when new, 200 when already stored."""
    actor = current_api_user()
    # Before the body is looked at: a non-staff caller learns nothing about it.
    require_staff(actor)
    if request.mimetype not in XML_TYPES:
        raise NotXml()
    if (request.content_length or 0) > cap_import.MAX_DOCUMENT_BYTES:
        raise cap_import.DocumentTooLarge()
    data = request.stream.read(cap_import.MAX_DOCUMENT_BYTES + 1)
    result = cap_import.import_cap(data=data, actor=actor)
    return imported_alert(result.alert), 201 if result.created else 200

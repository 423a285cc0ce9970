"""Write audit rows for staff and leader access to personal data."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from .extensions import db
from .models import AuditLog, User


def record(
    *,
    actor: User | None,
    action: str,
    association_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row to the current transaction (it commits with the request)."""
    entry = AuditLog(
        actor_id=actor.id if actor is not None else None,
        action=action,
        association_id=association_id,
        target_type=target_type,
        target_id=target_id,
        detail=detail or {},
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry

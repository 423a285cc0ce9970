"""Issuing alerts through the real services, as a staff request would."""

from __future__ import annotations

from typing import Any

from flask import Flask

from chounaikai.alerts import services
from chounaikai.extensions import db
from chounaikai.models import AlertKind, AlertTarget, Hazard, User


def draft(kind: AlertKind = AlertKind.LEVEL4, hazard: Hazard | None = Hazard.FLOOD,
          **fields: Any) -> services.AlertDraft:
    return services.AlertDraft(kind=kind, hazard=hazard, target=fields.pop(
        "target", AlertTarget.CITY), **fields)


def issue(app: Flask, staff_id: int, alert_draft: services.AlertDraft | None = None,
          *, update_of: int | None = None, cancel_of: int | None = None) -> int:
    """Issue (or update / cancel) in a request context and commit; returns the alert id."""
    with app.test_request_context("/staff/alerts/", method="POST"):
        actor = db.session.get(User, staff_id)
        if cancel_of is not None:
            alert = services.cancel(actor=actor, alert_id=cancel_of)
        elif update_of is not None:
            alert = services.update(actor=actor, alert_id=update_of,
                                    draft=alert_draft or draft())
        else:
            alert = services.issue(actor=actor, draft=alert_draft or draft())
        alert_id = alert.id
        db.session.commit()
    return alert_id

"""Helpers for the safety-check tests: issuing alerts as staff do, reading rows."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from chounaikai.alerts import services as alert_services
from chounaikai.extensions import db
from chounaikai.models import (
    AlertKind,
    AlertTarget,
    AuditLog,
    Hazard,
    LiveEvent,
    SafetyAnswer,
    SafetyRound,
    User,
)


def issue(app: Flask, staff_id: int, kind: AlertKind, association_ids: tuple[int, ...],
          target: AlertTarget = AlertTarget.ASSOCIATIONS) -> int:
    """City staff issue an alert through the real service; the transaction commits."""
    with app.test_request_context("/staff/alerts/", method="POST"):
        actor = db.session.get(User, staff_id)
        alert = alert_services.issue(actor=actor, draft=alert_services.AlertDraft(
            kind=kind, hazard=Hazard.FLOOD, target=target, association_ids=association_ids))
        alert_id = alert.id
        db.session.commit()
    return alert_id


def update(app: Flask, staff_id: int, alert_id: int, kind: AlertKind,
           association_ids: tuple[int, ...]) -> int:
    with app.test_request_context("/staff/alerts/", method="POST"):
        actor = db.session.get(User, staff_id)
        draft = alert_services.AlertDraft(kind=kind, hazard=Hazard.FLOOD,
                                          target=AlertTarget.ASSOCIATIONS,
                                          association_ids=association_ids)
        alert = alert_services.update(actor=actor, alert_id=alert_id, draft=draft)
        new_id = alert.id
        db.session.commit()
    return new_id


def cancel(app: Flask, staff_id: int, alert_id: int) -> int:
    with app.test_request_context("/staff/alerts/", method="POST"):
        alert = alert_services.cancel(actor=db.session.get(User, staff_id), alert_id=alert_id)
        new_id = alert.id
        db.session.commit()
    return new_id


def rounds(app: Flask, association_id: int) -> list[dict[str, Any]]:
    with app.app_context():
        return [dict(row._mapping) for row in db.session.execute(
            select(SafetyRound.__table__).where(SafetyRound.association_id == association_id)
            .order_by(SafetyRound.id))]


def answers(app: Flask, *where: Any) -> list[dict[str, Any]]:
    with app.app_context():
        return [dict(row._mapping) for row in db.session.execute(
            select(SafetyAnswer.__table__).where(*where).order_by(SafetyAnswer.id))]


def audits(app: Flask, action: str) -> list[AuditLog]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)
                                       .order_by(AuditLog.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def live_events(app: Flask, room: str) -> list[dict[str, Any]]:
    with app.app_context():
        return [{"kind": e.kind, "data": e.payload} for e in db.session.scalars(
            select(LiveEvent).where(LiveEvent.room == room).order_by(LiveEvent.seq))]

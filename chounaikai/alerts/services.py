"""Use cases for emergency alerts: preview, issue, update, cancel, list, progress.

Only city staff issue alerts.  Issuing writes, in the request's transaction:
the alert row, an emergency outbox notification for its audience (sent by the
push workers after commit on the emergency queue: Urgency high, no quiet hours,
no digest), a live banner event, the audit entry, and — for Level 4 and up —
a safety-check round in every targeted association that wants one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from .. import audit
from ..errors import Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..models import (
    Alert,
    AlertKind,
    AlertMessageType,
    AlertTarget,
    Association,
    DeliveryStatus,
    Hazard,
    Notification,
    Priority,
    PushDelivery,
    User,
    utcnow,
)
from ..permissions import require_staff
from . import templates

MAX_HEADLINE = 120
MAX_TEXT = 2000
ALERT_TTL_SECONDS = 3 * 3600  # a push older than this is no longer the current state


@dataclass(frozen=True)
class AlertDraft:
    """What the composer submits; the same for the web form and the API."""

    kind: AlertKind
    hazard: Hazard | None
    target: AlertTarget = AlertTarget.CITY
    districts: tuple[str, ...] = ()
    association_ids: tuple[int, ...] = ()
    # Free-text alerts (kind FREE) only, in Japanese.
    headline: str = ""
    description: str = ""
    instruction: str = ""


@dataclass(frozen=True)
class Preview:
    """Exactly what residents will see, before the confirmation step."""

    draft: AlertDraft
    alert: Alert  # transient, never added to the session
    texts: list[templates.AlertText]
    associations: list[Association] = field(default_factory=list)


def districts() -> list[str]:
    """The city's districts: those its associations are in."""
    return list(db.session.scalars(
        select(Association.district).distinct().order_by(Association.district)))


def _audience(draft: AlertDraft) -> list[Association]:
    errors: dict[str, str] = {}
    query = select(Association).order_by(Association.id)
    if draft.target == AlertTarget.DISTRICTS:
        chosen = set(draft.districts)
        if not chosen or not chosen <= set(districts()):
            errors["districts"] = _("地区を1つ以上選んでください。")
        query = query.where(Association.district.in_(chosen))
    elif draft.target == AlertTarget.ASSOCIATIONS:
        query = query.where(Association.id.in_(draft.association_ids))
    found = list(db.session.scalars(query)) if not errors else []
    if draft.target == AlertTarget.ASSOCIATIONS and (
            not draft.association_ids or len(found) != len(set(draft.association_ids))):
        errors["association_ids"] = _("町内会を1つ以上選んでください。")
    if draft.kind == AlertKind.FREE:
        if not draft.headline.strip():
            errors["headline"] = _("入力してください")
        elif len(draft.headline) > MAX_HEADLINE:
            errors["headline"] = _("%(n)d文字以内にしてください。", n=MAX_HEADLINE)
        for name in ("description", "instruction"):
            if len(getattr(draft, name)) > MAX_TEXT:
                errors[name] = _("%(n)d文字以内にしてください。", n=MAX_TEXT)
    elif draft.hazard is None:
        errors["hazard"] = _("災害の種類を選んでください。")
    if errors:
        raise ValidationFailed(fields=errors)
    return found


def _build(draft: AlertDraft, audience: list[Association]) -> Alert:
    texts = {}
    if draft.kind == AlertKind.FREE:
        texts["ja"] = {"headline": draft.headline.strip(),
                       "description": draft.description.strip(),
                       "instruction": draft.instruction.strip()}
    return Alert(
        identifier=f"urn:uuid:{uuid.uuid4()}", sender=current_app.config["CAP_SENDER"],
        message_type=AlertMessageType.ALERT, kind=draft.kind, hazard=draft.hazard,
        texts=texts, target=draft.target,
        districts=sorted(set(draft.districts)) if draft.target == AlertTarget.DISTRICTS else [],
        association_ids=[a.id for a in audience], active=True, source="staff",
        sent_at=utcnow())


def preview(*, actor: User, draft: AlertDraft) -> Preview:
    """Validate and render in every language, writing nothing."""
    require_staff(actor)
    audience = _audience(draft)
    alert = _build(draft, audience)
    city = current_app.config["CITY_NAME"]
    texts = [templates.alert_text(alert, code, city)
             for code in templates.languages_with_text(alert)]
    return Preview(draft, alert, texts, audience)


def issue(*, actor: User, draft: AlertDraft) -> Alert:
    """Send a new alert (after the composer's confirmation step)."""
    require_staff(actor)
    alert = _build(draft, _audience(draft))
    return _send(actor, alert, "alert.issue")


def update(*, actor: User, alert_id: int, draft: AlertDraft) -> Alert:
    """Replace an active alert by a new message that references it (never an edit)."""
    require_staff(actor)
    previous = _active(alert_id)
    alert = _build(draft, _audience(draft))
    alert.message_type = AlertMessageType.UPDATE
    alert.references_id = previous.id
    previous.active = False
    return _send(actor, alert, "alert.update")


def cancel(*, actor: User, alert_id: int) -> Alert:
    """Withdraw an active alert: a Cancel message referencing it; nothing stays active."""
    require_staff(actor)
    previous = _active(alert_id)
    alert = Alert(
        identifier=f"urn:uuid:{uuid.uuid4()}", sender=previous.sender,
        message_type=AlertMessageType.CANCEL, kind=previous.kind, hazard=previous.hazard,
        texts=previous.texts, target=previous.target, districts=previous.districts,
        association_ids=previous.association_ids, references_id=previous.id, active=False,
        source="staff", sent_at=utcnow())
    previous.active = False
    return _send(actor, alert, "alert.cancel")


def _active(alert_id: int) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound()
    if not alert.active:
        raise Conflict(_("この警報はすでに更新または取り消されています。"
                         "最新の情報を選んでください。"))
    return alert


def chain_root(alert: Alert) -> Alert:
    """The first message of an alert's update/cancel chain."""
    seen = {alert.id}
    while alert.references is not None and alert.references.id not in seen:
        alert = alert.references
        seen.add(alert.id)
    return alert


def _send(actor: User, alert: Alert, action: str) -> Alert:
    alert.issued_by_id = actor.id
    db.session.add(alert)
    db.session.flush()
    root = chain_root(alert)
    everyone = alert.target == AlertTarget.CITY
    note = Notification(
        kind="alert", priority=Priority.EMERGENCY,
        audience={"all": True} if everyone else {"association_ids": alert.association_ids},
        payload={"alert_id": alert.id, "url": f"/portal#alert-{alert.id}"},
        # A newer message about the same alert replaces one not yet delivered.
        topic=f"alert-{root.id}", ttl_seconds=ALERT_TTL_SECONDS)
    db.session.add(note)
    db.session.flush()
    alert.notification_id = note.id
    audit.record(actor=actor, action=action, target_type="alert", target_id=alert.id,
                 detail={"kind": alert.kind.value, "hazard": alert.hazard and alert.hazard.value,
                         "target": alert.target.value, "districts": alert.districts,
                         "association_ids": alert.association_ids,
                         "references": alert.references_id})
    from ..live import announcements
    from ..safety.services import start_rounds_for_alert

    announcements.alert_changed(alert)
    if alert.message_type != AlertMessageType.CANCEL:
        start_rounds_for_alert(alert)
    return alert


def active_alerts() -> list[Alert]:
    """The current message of every alert chain still in force, most severe first.

    An alert past its ``expires_at`` (imported CAP documents carry one) is no longer
    in force even though nothing replaced it.
    """
    alerts = list(db.session.scalars(
        select(Alert).where(Alert.active.is_(True),
                            or_(Alert.expires_at.is_(None), Alert.expires_at > utcnow()))
        .order_by(Alert.sent_at.desc())))
    return sorted(alerts, key=lambda a: -(a.level or 0))


def recent_alerts(limit: int = 50) -> list[Alert]:
    return list(db.session.scalars(select(Alert).order_by(Alert.sent_at.desc(), Alert.id.desc())
                                   .limit(limit)))


def get_alert(alert_id: int) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound()
    return alert


@dataclass(frozen=True)
class Progress:
    targeted: int
    sent: int
    failed: int
    pending: int


def progress(*, actor: User, alert_id: int) -> Progress:
    """Delivery of one alert's push, as counts (no one's device or name)."""
    require_staff(actor)
    alert = get_alert(alert_id)
    if alert.notification_id is None:
        return Progress(0, 0, 0, 0)
    rows = dict(db.session.execute(
        select(PushDelivery.status, func.count())
        .where(PushDelivery.notification_id == alert.notification_id)
        .group_by(PushDelivery.status)).all())
    sent = rows.get(DeliveryStatus.SENT, 0)
    pending = rows.get(DeliveryStatus.PENDING, 0)
    targeted = sum(rows.values())
    return Progress(targeted, sent, targeted - sent - pending, pending)

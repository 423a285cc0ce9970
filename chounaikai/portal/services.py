"""What the public portal shows: alerts in force and every shelter's current state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from ..alerts import services as alert_services
from ..alerts import templates
from ..extensions import db
from ..models import Alert, Shelter, utcnow


@dataclass(frozen=True)
class AlertView:
    alert: Alert
    text: templates.AlertText
    style: templates.LevelStyle


@dataclass(frozen=True)
class PortalData:
    alerts: list[AlertView]
    shelters: list[Shelter]
    open_count: int
    generated_at: datetime


def portal_data(language: str) -> PortalData:
    """Active alerts in ``language``; shelters open first, then by district and name."""
    city = current_app.config["CITY_NAME"]
    alerts = [AlertView(alert, templates.alert_text(alert, language, city),
                        templates.style_for(alert))
              for alert in alert_services.active_alerts()]
    shelters = list(db.session.scalars(select(Shelter).order_by(
        Shelter.is_open.desc(), Shelter.district, Shelter.name)))
    return PortalData(alerts, shelters, sum(1 for s in shelters if s.is_open), utcnow())

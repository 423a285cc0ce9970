"""The band of alerts in force at the top of every page, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g

from .. import memberpages
from ..i18n import current_language
from . import services, templates


@dataclass(frozen=True)
class Banner:
    alert_id: int
    level: int | None
    css_class: str
    headline: str
    url: str


def alert_banners() -> list[Banner]:
    """Active alerts, most severe first (read once per request)."""
    banners = g.get("_alert_banners")
    if banners is None:
        language = current_language().code
        city = current_app.config["CITY_NAME"]
        alerts = services.active_alerts()
        banners = g._alert_banners = [
            Banner(alert.id, alert.level, templates.style_for(alert).css_class,
                   templates.alert_text(alert, language, city).headline,
                   f"/portal#alert-{alert.id}")
            for alert in alerts]
        # A kept copy of this page must not outlive an alert's expiry.
        memberpages.valid_until(min((a.expires_at for a in alerts if a.expires_at),
                                    default=None))
    return banners

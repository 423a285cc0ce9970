"""The band of alerts in force at the top of every page, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g

from .. import memberpages
from ..i18n import current_language
from ..pageversions import GlobalMemo
from . import services, templates


@dataclass(frozen=True)
class Banner:
    alert_id: int
    level: int | None
    css_class: str
    headline: str
    url: str


_banners: GlobalMemo[list[Banner]] = GlobalMemo()


def alert_banners() -> list[Banner]:
    """Active alerts, most severe first (read once per request; alerts change only by
    writes that move the global page version, or by expiring)."""
    banners = g.get("_alert_banners")
    if banners is None:
        language = current_language().code
        city = current_app.config["CITY_NAME"]
        banners, until = _banners.get((language, city), lambda: _compute(language, city))
        g._alert_banners = banners
        # A kept copy of this page must not outlive an alert's expiry.
        memberpages.valid_until(until)
    return banners


def _compute(language: str, city: str) -> tuple[list[Banner], datetime | None]:
    alerts = services.active_alerts()
    banners = [Banner(alert.id, alert.level, templates.style_for(alert).css_class,
                      templates.alert_text(alert, language, city).headline,
                      f"/portal#alert-{alert.id}") for alert in alerts]
    return banners, min((a.expires_at for a in alerts if a.expires_at), default=None)

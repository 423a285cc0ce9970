"""Authorization cases: the staff alert composer (see tests/authz/features/__init__.py).

Alerts belong to the city, not to an association: only city staff may do anything
here, so sides A and B differ only in which alert a case acts on.
"""

from __future__ import annotations

import uuid

from chounaikai.models import Alert, AlertKind, AlertMessageType, AlertTarget, Hazard
from tests.authz.web_routes import STAFF_GET, STAFF_POST, Case, expect
from tests.authz.world import World

LEVEL4 = {"kind": "level4", "hazard": "flood", "target": "city"}


def _alert(w: World, s: str) -> int:
    def build() -> int:
        alert = Alert(identifier=f"urn:uuid:{uuid.uuid4()}", sender="authz@example.test",
                      message_type=AlertMessageType.ALERT, kind=AlertKind.LEVEL3,
                      hazard=Hazard.FLOOD, target=AlertTarget.CITY, active=True)
        w.factory._save(alert)
        return alert.id
    return w.once(f"alert-{s}", build)


WEB_CASES: list[Case] = [
    Case("alerts.index", "GET", lambda w, s: "/staff/alerts/", STAFF_GET),
    Case("alerts.compose", "GET", lambda w, s: "/staff/alerts/new", STAFF_GET),
    Case("alerts.preview", "POST", lambda w, s: "/staff/alerts/preview",
         expect(outsider=403, resident=403, block_leader=403, leader=403, staff=200),
         data=lambda w, s: LEVEL4),
    Case("alerts.send", "POST", lambda w, s: "/staff/alerts/", STAFF_POST,
         data=lambda w, s: {**LEVEL4, "confirmed": "1"}),
    Case("alerts.detail", "GET", lambda w, s: f"/staff/alerts/{_alert(w, s)}", STAFF_GET),
    Case("alerts.progress_json", "GET", lambda w, s: f"/staff/alerts/{_alert(w, s)}/progress",
         STAFF_GET),
    Case("alerts.cancel", "POST", lambda w, s: f"/staff/alerts/{_alert(w, s)}/cancel",
         STAFF_POST, data=lambda w, s: {"confirmed": "1"}),
]
API_CASES: list[Case] = []

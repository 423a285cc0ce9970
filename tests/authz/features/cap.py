"""Authorization cases: CAP documents, Atom feed, CAP import (see __init__.py).

The CAP document and the feed are public.  Import is city staff only; the API
matrix sends JSON bodies, so staff get past authorization to 415 (not XML).
"""

from __future__ import annotations

import io
import uuid

from tests.authz.web_routes import STAFF_GET, STAFF_POST, Case, everyone
from tests.authz.world import World

# (tests.authz.api_routes imports this package, so its expect() is not imported here.)

CAP_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>authz@example.jp</sender>
  <sent>2030-01-01T09:00:00+09:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>ja-JP</language>
    <category>Met</category>
    <event>洪水</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <headline>権限確認用</headline>
  </info>
</alert>
"""


def _alert_id(w: World, s: str) -> int:
    """One stored alert per world (alerts belong to the city, not to a side)."""

    def build() -> int:
        from chounaikai.models import Alert, AlertKind, AlertMessageType, AlertTarget

        alert = Alert(identifier=f"urn:uuid:{uuid.uuid4()}", sender="authz@example.jp",
                      message_type=AlertMessageType.ALERT, kind=AlertKind.LEVEL3,
                      target=AlertTarget.CITY, texts={}, districts=[], association_ids=[])
        w.factory._save(alert)
        return alert.id

    return w.once("cap_alert_id", build)


def _document(w: World, s: str) -> dict:
    # A fresh stream per request; the same identifier per world (a repeat is idempotent).
    identifier = w.once("cap_import_identifier", lambda: f"urn:uuid:{uuid.uuid4()}")
    body = CAP_TEMPLATE.format(identifier=identifier).encode()
    return {"file": (io.BytesIO(body), "alert.xml")}


WEB_CASES: list[Case] = [
    Case("cap.cap_document", "GET", lambda w, s: f"/alerts/{_alert_id(w, s)}/cap.xml",
         everyone(200)),
    Case("cap.atom_feed", "GET", lambda w, s: "/alerts.atom", everyone(200)),
    Case("cap.import_form", "GET", lambda w, s: "/staff/alerts/import", STAFF_GET),
    Case("cap.import_upload", "POST", lambda w, s: "/staff/alerts/import", STAFF_POST,
         data=_document),
]
API_CASES: list[Case] = [
    Case("api.import_cap", "POST", lambda w, s: "/api/v1/alerts/cap",
         {"anon": 401, "outsider": 403, "resident": 403, "block_leader": 403, "leader": 403,
          "staff": 415},
         data=lambda w, s: {"document": "not XML"}),
]

"""CAP 1.2 import: real documents are stored once, invalid and hostile ones store nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from chounaikai.alerts import cap_import
from chounaikai.extensions import db
from chounaikai.models import (
    Alert,
    AlertKind,
    AlertMessageType,
    AlertTarget,
    AuditLog,
    GlobalRole,
    Notification,
)
from tests.helpers import csrf_token, form_post
from tests.support import client_for, count, counts, html, load

SHARED_CAP = Path(__file__).resolve().parents[1] / "fixtures" / "cap"
VALID_FILES = ("wmo-at-valid.xml", "wmo-de-valid.xml", "wmo-us-valid.xml",
               "oasis-amber-alert-bilingual.xml")
CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
URL = "/api/v1/alerts/cap"


def minimal(identifier: str = "JP-TEST-1", *, sender: str = "sender@example.jp",
            msg_type: str = "Alert", references: str = "", status: str = "Actual",
            scope: str = "Public", event: str = "洪水", category: str = "Met",
            expires: str = "", language: str = "ja-JP", prolog: str = "",
            headline: str = "見出し") -> bytes:
    refs = f"<references>{references}</references>" if references else ""
    until = f"<expires>{expires}</expires>" if expires else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>{prolog}
<alert xmlns="{CAP_NS}">
  <identifier>{identifier}</identifier>
  <sender>{sender}</sender>
  <sent>2030-04-01T09:00:00+09:00</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>{scope}</scope>
  {refs}
  <info>
    <language>{language}</language>
    <category>{category}</category>
    <event>{event}</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    {until}
    <headline>{headline}</headline>
    <description>説明</description>
  </info>
</alert>
""".encode()


@pytest.fixture
def staff(factory):
    return factory.user(role=GlobalRole.STAFF)


def api_post(client, token: str, body: bytes, content_type: str = "application/xml"):
    return client.post(URL, data=body, content_type=content_type,
                       headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def post(client, factory, staff):
    token = factory.token(staff)

    def _post(body: bytes, content_type: str = "application/xml", user=None):
        return api_post(client, factory.token(user) if user is not None else token, body,
                        content_type)

    return _post


def nothing_stored(app) -> None:
    assert counts(app, Alert, Notification) == {"Alert": 0, "Notification": 0}
    assert count(app, AuditLog, AuditLog.action == "alert.import") == 0


def stored(app, alert_id: int) -> Alert:
    alert = load(app, Alert, alert_id)
    assert alert is not None
    return alert


@pytest.mark.parametrize("name", VALID_FILES)
def test_real_documents_import_once_and_are_served_verbatim(app, client, post, name):
    data = (SHARED_CAP / name).read_bytes()

    first = post(data)
    again = post(data, content_type="application/cap+xml")

    assert first.status_code == 201, first.get_json()
    assert again.status_code == 200
    assert again.json["id"] == first.json["id"]
    assert count(app, Alert) == 1
    assert count(app, AuditLog, AuditLog.action == "alert.import") == 2
    assert count(app, Notification) == 0  # imports are not pushed here
    alert = stored(app, first.json["id"])
    root = etree.fromstring(data)
    assert alert.identifier == root.findtext(f"{{{CAP_NS}}}identifier")
    assert alert.sender == root.findtext(f"{{{CAP_NS}}}sender")
    assert (alert.source, alert.kind, alert.target) == ("cap", AlertKind.FREE, AlertTarget.CITY)
    assert alert.cap_xml == data.decode("utf-8")
    served = client.get(f"/alerts/{alert.id}/cap.xml")
    assert served.status_code == 200
    assert served.data == data


def test_bilingual_amber_alert_keeps_both_languages(app, post):
    data = (SHARED_CAP / "oasis-amber-alert-bilingual.xml").read_bytes()

    body = post(data).json

    alert = stored(app, body["id"])
    assert set(alert.texts) == {"en", "es-US"}  # es has no interface language: raw tag
    assert alert.texts["en"]["headline"] == "Amber Alert in Los Angeles County"
    assert alert.texts["es-US"]["headline"] == "Alerta Amber en el condado de Los Ángeles"
    assert alert.message_type == AlertMessageType.ALERT
    assert alert.active
    assert alert.sent_at == datetime(2003, 6, 12, 5, 39, tzinfo=UTC)
    assert alert.hazard is None
    assert body["languages"] == ["en", "es-US"]
    assert body["cap_url"].endswith(f"/alerts/{alert.id}/cap.xml")


def test_expired_update_is_stored_inactive(app, post):
    body = post((SHARED_CAP / "wmo-at-valid.xml").read_bytes()).json

    alert = stored(app, body["id"])
    assert alert.message_type == AlertMessageType.UPDATE
    assert not alert.active
    assert alert.expires_at == datetime(2024, 7, 13, 4, 0, tzinfo=UTC)
    assert set(alert.texts) == {"de-DE", "en"}
    assert alert.references_id is None  # the referenced message was never imported


def test_schema_invalid_document_is_rejected_with_line_and_reason(app, post):
    response = post((SHARED_CAP / "wmo-tg-invalid-schema.xml").read_bytes())

    assert response.status_code == 400
    message = response.json["error"]["message"]
    assert "CAP 1.2 の形式に合わない" in message
    assert "16行目" in message
    assert "<audience>" in message
    assert "<certainty>" in message
    nothing_stored(app)


def test_web_upload_rejects_invalid_document_on_the_page(app, staff):
    client = client_for(app, staff)
    data = (SHARED_CAP / "wmo-tg-invalid-schema.xml").read_bytes()

    response = form_post(client, "/staff/alerts/import",
                         {"file": (io.BytesIO(data), "togo.xml")})

    assert response.status_code == 400
    page = html(response)
    assert "16行目" in page
    assert "&lt;certainty&gt;" in page
    assert 'name="file"' in page  # the form is shown again
    nothing_stored(app)


def test_web_upload_stores_and_shows_the_alert(app, staff):
    client = client_for(app, staff)
    data = (SHARED_CAP / "oasis-amber-alert-bilingual.xml").read_bytes()

    response = form_post(client, "/staff/alerts/import", {"file": (io.BytesIO(data), "a.xml")})
    again = form_post(client, "/staff/alerts/import", {"file": (io.BytesIO(data), "a.xml")})

    assert response.status_code == 302
    assert again.status_code == 302
    assert count(app, Alert) == 1
    page = html(client.get(response.headers["Location"]))
    assert "取り込みました。" in page
    assert "KAR0-0306112239-SW" in page
    assert "すでに取り込んであります" in html(client.get(again.headers["Location"]))


def test_web_upload_needs_a_file(app, staff):
    client = client_for(app, staff)

    response = form_post(client, "/staff/alerts/import", {})

    assert response.status_code == 400
    assert "ファイルを選んでください。" in html(response)
    nothing_stored(app)


XXE = minimal(prolog='\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
              headline="&xxe;")
BILLION_LAUGHS = minimal(prolog="""
<!DOCTYPE alert [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>""", headline="&lol9;")
EXTERNAL_DTD = minimal(prolog='\n<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/evil.dtd">')
PARAMETER_ENTITY = minimal(
    prolog='\n<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x"> %remote;]>')


@pytest.mark.parametrize("data", [XXE, BILLION_LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY],
                         ids=["xxe", "billion-laughs", "external-dtd", "parameter-entity"])
def test_hostile_xml_is_rejected_before_parsing(app, post, data):
    response = post(data)

    assert response.status_code == 400
    assert "DTD" in response.json["error"]["message"]
    assert "root:" not in response.get_data(as_text=True)
    nothing_stored(app)


def test_hostile_xml_is_rejected_on_the_web_too(app, staff):
    client = client_for(app, staff)

    response = form_post(client, "/staff/alerts/import", {"file": (io.BytesIO(XXE), "x.xml")})

    assert response.status_code == 400
    assert "DTD" in html(response)
    nothing_stored(app)


def test_too_large_and_wrong_media_type_and_non_staff(app, post, factory):
    large = minimal(headline="あ" * (cap_import.MAX_DOCUMENT_BYTES // 3 + 1))
    assert post(large).status_code == 413
    assert post(minimal(), content_type="application/json").status_code == 415
    leader = factory.user()
    assert post(minimal(), user=leader).status_code == 403
    nothing_stored(app)


def multipart(token: str, data: bytes) -> tuple[bytes, str]:
    """A browser's upload body, built by hand: werkzeug's builder leaves a temporary file
    open for bodies this large."""
    boundary = "cap-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"l.xml\"\r\nContent-Type: application/xml\r\n\r\n").encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_web_upload_too_large(app, staff):
    client = client_for(app, staff)
    large = minimal(headline="あ" * (cap_import.MAX_DOCUMENT_BYTES // 3 + 1))
    body, content_type = multipart(csrf_token(client), large)

    response = client.post("/staff/alerts/import", data=body, content_type=content_type)

    assert response.status_code == 413
    assert "1MB" in html(response)
    nothing_stored(app)


def test_service_refuses_non_staff(app, factory):
    from chounaikai.errors import PermissionDenied

    resident = factory.user()
    with app.test_request_context("/staff/alerts/import", method="POST"):
        with pytest.raises(PermissionDenied):
            cap_import.import_document(minimal(), db.session.merge(resident))
    nothing_stored(app)


def test_api_answers_match_the_openapi_document(post):
    from chounaikai.api.openapi import DOCUMENT

    validator = pytest.importorskip("openapi_schema_validator")
    operation = DOCUMENT["paths"][URL]["post"]
    data = (SHARED_CAP / "wmo-us-valid.xml").read_bytes()
    for status in (201, 200):
        response = post(data)
        assert response.status_code == status
        schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
        validator.validate(response.json, {**schema, "components": DOCUMENT["components"]},
                           cls=validator.OAS31Validator)
    error = post(b"<alert")
    validator.validate(error.json, {"$ref": "#/components/schemas/Error",
                                    "components": DOCUMENT["components"]},
                       cls=validator.OAS31Validator)

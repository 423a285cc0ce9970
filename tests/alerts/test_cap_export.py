"""CAP 1.2 export: every document the app serves validates against the OASIS schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from chounaikai.alerts import cap
from chounaikai.alerts import services as alert_services
from chounaikai.extensions import db
from chounaikai.models import AlertKind, AlertTarget, GlobalRole, Hazard, User

SHARED_CAP = Path(__file__).resolve().parents[1] / "fixtures" / "cap"
APP_XSD = Path(cap.__file__).with_name("CAP-v1.2.xsd")
NS = {"cap": cap.CAP_NS}
TOKYO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00$")
ALL_TAGS = {"ja-JP", "ja-JP-x-easy", "en-US", "zh-CN", "zh-TW", "ko-KR", "vi-VN", "fil-PH",
            "ne-NP", "pt-BR"}


@pytest.fixture(scope="module")
def oasis_schema() -> etree.XMLSchema:
    """The schema as published (the reference copy, not the app's own)."""
    return etree.XMLSchema(etree.parse(str(SHARED_CAP / "CAP-v1.2.xsd")))


def run_service(app, staff_id: int, *, kind=AlertKind.LEVEL4, hazard=Hazard.FLOOD,
                update_of: int | None = None, cancel_of: int | None = None, **fields) -> int:
    """Issue, update or cancel through the real services inside a staff request."""
    with app.test_request_context("/staff/alerts/", method="POST"):
        actor = db.session.get(User, staff_id)
        draft = alert_services.AlertDraft(kind=kind, hazard=hazard, **fields)
        if cancel_of is not None:
            alert = alert_services.cancel(actor=actor, alert_id=cancel_of)
        elif update_of is not None:
            alert = alert_services.update(actor=actor, alert_id=update_of, draft=draft)
        else:
            alert = alert_services.issue(actor=actor, draft=draft)
        alert_id = alert.id
        db.session.commit()
    return alert_id


def fetch(client, alert_id: int) -> etree._Element:
    response = client.get(f"/alerts/{alert_id}/cap.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=30"
    return etree.fromstring(response.data)


def valid(schema: etree.XMLSchema, root: etree._Element) -> etree._Element:
    assert schema.validate(root), [e.message for e in schema.error_log]
    return root


def one(root: etree._Element, path: str) -> str:
    found = root.findall(path, NS)
    assert len(found) == 1, path
    return found[0].text


def test_the_app_ships_the_oasis_schema_unchanged():
    assert APP_XSD.read_bytes() == (SHARED_CAP / "CAP-v1.2.xsd").read_bytes()
    assert b"Copyright OASIS Open 2010" in APP_XSD.read_bytes()


def test_level4_alert_has_ten_languages_tokyo_times_and_the_city_geocode(
        app, client, factory, oasis_schema):
    staff = factory.user(role=GlobalRole.STAFF)
    alert_id = run_service(app, staff.id)

    root = valid(oasis_schema, fetch(client, alert_id))

    assert one(root, "cap:msgType") == "Alert"
    assert one(root, "cap:status") == "Actual"
    assert one(root, "cap:scope") == "Public"
    assert one(root, "cap:sender") == app.config["CAP_SENDER"]
    assert one(root, "cap:identifier").startswith("urn:uuid:")
    assert TOKYO_TIME.match(one(root, "cap:sent"))
    assert root.find("cap:references", NS) is None
    infos = root.findall("cap:info", NS)
    assert len(infos) == 10
    assert {one(info, "cap:language") for info in infos} == ALL_TAGS
    for info in infos:
        assert one(info, "cap:category") == "Met"
        assert one(info, "cap:urgency") == "Immediate"
        assert one(info, "cap:severity") == "Severe"
        assert one(info, "cap:certainty") == "Likely"
        assert one(info, "cap:responseType") == "Evacuate"
        assert one(info, "cap:headline")
        assert one(info, "cap:instruction")
        assert one(info, "cap:web") == app.config["PUBLIC_BASE_URL"].rstrip("/") + "/portal"
        assert one(info, "cap:area/cap:geocode/cap:valueName") == "JIS X 0402"
        assert one(info, "cap:area/cap:geocode/cap:value") == "132098"
        assert one(info, "cap:area/cap:areaDesc")
    japanese = next(i for i in infos if one(i, "cap:language") == "ja-JP")
    assert one(japanese, "cap:headline") == "【警戒レベル4】避難指示"
    assert one(japanese, "cap:event") == "洪水"
    assert one(japanese, "cap:area/cap:areaDesc") == "町田市全域"


def test_update_and_cancel_reference_the_earlier_messages(app, client, factory, oasis_schema):
    staff = factory.user(role=GlobalRole.STAFF)
    first_id = run_service(app, staff.id)
    first = fetch(client, first_id)
    first_ref = ",".join((one(first, "cap:sender"), one(first, "cap:identifier"),
                          one(first, "cap:sent")))

    update_id = run_service(app, staff.id, kind=AlertKind.LEVEL5, update_of=first_id)
    update = valid(oasis_schema, fetch(client, update_id))
    assert one(update, "cap:msgType") == "Update"
    assert one(update, "cap:references") == first_ref
    info = update.find("cap:info", NS)
    assert (one(info, "cap:severity"), one(info, "cap:certainty")) == ("Extreme", "Observed")
    update_ref = ",".join((one(update, "cap:sender"), one(update, "cap:identifier"),
                           one(update, "cap:sent")))

    cancel_id = run_service(app, staff.id, cancel_of=update_id)
    cancelled = valid(oasis_schema, fetch(client, cancel_id))
    assert one(cancelled, "cap:msgType") == "Cancel"
    # The whole chain, oldest first, whitespace-separated.
    assert one(cancelled, "cap:references").split() == [first_ref, update_ref]
    infos = cancelled.findall("cap:info", NS)
    assert len(infos) == 10
    japanese = next(i for i in infos if one(i, "cap:language") == "ja-JP")
    assert one(japanese, "cap:headline") == "取り消し: 【警戒レベル5】緊急安全確保"
    assert one(japanese, "cap:description") == "この情報は取り消されました。"
    assert japanese.find("cap:instruction", NS) is None  # empty: left out
    assert japanese.find("cap:responseType", NS) is None


def test_free_text_alert_has_one_japanese_info(app, client, factory, oasis_schema):
    staff = factory.user(role=GlobalRole.STAFF)
    alert_id = run_service(app, staff.id, kind=AlertKind.FREE, hazard=None,
                           headline="断水のお知らせ", description="原町田で断水しています。")

    root = valid(oasis_schema, fetch(client, alert_id))

    infos = root.findall("cap:info", NS)
    assert [one(i, "cap:language") for i in infos] == ["ja-JP"]
    assert one(infos[0], "cap:category") == "Safety"
    assert (one(infos[0], "cap:urgency"), one(infos[0], "cap:severity")) == ("Expected", "Minor")
    assert one(infos[0], "cap:headline") == "断水のお知らせ"
    assert one(infos[0], "cap:description") == "原町田で断水しています。"
    assert infos[0].find("cap:instruction", NS) is None


@pytest.mark.parametrize(("kind", "hazard", "category", "certainty"), [
    (AlertKind.LEVEL3, Hazard.LANDSLIDE, "Geo", "Likely"),
    (AlertKind.SHELTER_OPENED, Hazard.FIRE, "Fire", "Observed"),
    (AlertKind.LIFTED, Hazard.INLAND_FLOODING, "Met", "Observed"),
])
def test_other_templates_map_to_cap_codes(app, client, factory, oasis_schema, kind, hazard,
                                          category, certainty):
    staff = factory.user(role=GlobalRole.STAFF)
    alert_id = run_service(app, staff.id, kind=kind, hazard=hazard)

    info = valid(oasis_schema, fetch(client, alert_id)).find("cap:info", NS)

    assert one(info, "cap:category") == category
    assert one(info, "cap:certainty") == certainty
    assert one(info, "cap:urgency") == "Expected"


def test_district_alert_names_its_districts(app, client, factory, oasis_schema):
    factory.association(district="鶴川")
    staff = factory.user(role=GlobalRole.STAFF)
    alert_id = run_service(app, staff.id, target=AlertTarget.DISTRICTS, districts=("鶴川",))

    root = valid(oasis_schema, fetch(client, alert_id))

    japanese = next(i for i in root.findall("cap:info", NS)
                    if one(i, "cap:language") == "ja-JP")
    assert one(japanese, "cap:area/cap:areaDesc") == "町田市の鶴川"


def test_unknown_alert_is_404(client):
    assert client.get("/alerts/999999/cap.xml").status_code == 404

"""The Atom feed of the alerts in force: valid Atom, links only active alerts."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from chounaikai.extensions import db
from chounaikai.models import Alert, AlertKind, GlobalRole, Hazard
from tests.alerts.test_cap_export import run_service

ATOM = "http://www.w3.org/2005/Atom"
NS = {"a": ATOM}


def feed(client) -> etree._Element:
    response = client.get("/alerts.atom")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = etree.fromstring(response.data)
    assert root.tag == f"{{{ATOM}}}feed"
    return root


def text(element: etree._Element, path: str) -> str:
    found = element.findall(path, NS)
    assert len(found) == 1, path
    return found[0].text


def cap_links(root: etree._Element) -> list[str]:
    return [entry.find("a:link[@rel='alternate']", NS).get("href")
            for entry in root.findall("a:entry", NS)]


def identifier_of(app, alert_id: int) -> str:
    with app.app_context():
        return db.session.get(Alert, alert_id).identifier


def test_feed_has_what_atom_requires(app, client):
    root = feed(client)
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    assert text(root, "a:id") == f"{base}/alerts.atom"
    assert text(root, "a:title") == "町田市の緊急情報"
    datetime.fromisoformat(text(root, "a:updated"))
    assert text(root, "a:author/a:name") == "町田市"
    self_link = root.find("a:link[@rel='self']", NS)
    assert self_link.get("href") == f"{base}/alerts.atom"
    assert root.findall("a:entry", NS) == []


def test_entries_link_active_alerts_and_a_cancelled_one_disappears(app, client, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    flood = run_service(app, staff.id)
    landslide = run_service(app, staff.id, kind=AlertKind.LEVEL3, hazard=Hazard.LANDSLIDE)
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")

    root = feed(client)

    # Most severe first, as services.active_alerts() orders them.
    assert cap_links(root) == [f"{base}/alerts/{flood}/cap.xml",
                               f"{base}/alerts/{landslide}/cap.xml"]
    entry = root.find("a:entry", NS)
    assert text(entry, "a:id") == identifier_of(app, flood)
    assert text(entry, "a:title") == "【警戒レベル4】避難指示"
    assert "洪水" in text(entry, "a:summary")
    assert entry.find("a:link[@rel='alternate']", NS).get("type") == "application/xml"
    datetime.fromisoformat(text(entry, "a:updated"))
    # The linked document is there.
    assert client.get(f"/alerts/{flood}/cap.xml").status_code == 200

    cancel = run_service(app, staff.id, cancel_of=flood)
    root = feed(client)

    assert cap_links(root) == [f"{base}/alerts/{landslide}/cap.xml"]
    assert identifier_of(app, cancel) not in etree.tostring(root).decode()
    # The cancel is the newest change, so it dates the feed.
    with app.app_context():
        cancel_sent = db.session.get(Alert, cancel).sent_at
    assert datetime.fromisoformat(text(root, "a:updated")) == cancel_sent.replace(microsecond=0)


def test_an_update_replaces_its_alert_in_the_feed(app, client, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    first = run_service(app, staff.id)
    update = run_service(app, staff.id, kind=AlertKind.LEVEL5, update_of=first)

    entries = feed(client).findall("a:entry", NS)

    assert [text(e, "a:id") for e in entries] == [identifier_of(app, update)]
    assert text(entries[0], "a:title") == "【警戒レベル5】緊急安全確保"

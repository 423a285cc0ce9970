"""Circulars through the API: inbox, receipts, writing, status, paper, attachments."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import func, select

from chounaikai.extensions import db
from chounaikai.models import Attachment, AuditLog, Circular, Receipt, utcnow
from tests.support import recorded_sql

PDF = b"%PDF-1.4\n%test\n"


def _receipts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Receipt))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    return out.getvalue()


def test_inbox_with_own_receipts_and_unread_count(client, factory, cast):
    first = factory.circular(cast.association, title="古い回覧",
                             publish_at=utcnow() - timedelta(days=1))
    factory.circular(cast.association, title="新しい回覧")
    factory.circular(cast.association, title="2班だけ", blocks=[cast.block2])
    factory.circular(cast.association, title="予約", publish_at=utcnow() + timedelta(days=1))
    factory.circular(cast.other, title="よその回覧")
    headers = cast.headers("resident")
    client.post(f"/api/v1/circulars/{first.id}/read", headers=headers)

    response = client.get(f"/api/v1/associations/{cast.association.id}/circulars",
                          headers=headers)

    assert response.status_code == 200
    items = response.json["items"]
    assert [i["title"] for i in items] == ["新しい回覧", "古い回覧"]
    assert response.json["unread"] == 1
    assert items[1]["read_at"] is not None
    assert items[1]["acknowledged_at"] is None
    assert items[0]["read_at"] is None
    assert datetime.fromisoformat(items[0]["publish_at"]).utcoffset() == timedelta(0)


def test_inbox_needs_membership(client, cast):
    url = f"/api/v1/associations/{cast.association.id}/circulars"
    assert client.get(url, headers=cast.headers("outsider")).status_code == 404
    assert client.get(url, headers=cast.headers("staff")).status_code == 404
    assert client.get(url).status_code == 401


def test_read_and_ack_are_idempotent(app, client, factory, cast):
    circular = factory.circular(cast.association, ack_required=True)
    headers = cast.headers("resident")
    url = f"/api/v1/circulars/{circular.id}"

    first = client.post(f"{url}/read", headers=headers)
    second = client.post(f"{url}/read", headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json["read_at"] == second.json["read_at"]
    assert first.json["acknowledged_at"] is None

    ack1 = client.post(f"{url}/ack", headers=headers)
    ack2 = client.post(f"{url}/ack", headers=headers)
    assert ack1.status_code == ack2.status_code == 200
    assert ack1.json["acknowledged_at"] == ack2.json["acknowledged_at"] is not None
    assert ack1.json["read_at"] == first.json["read_at"]
    assert _receipts(app) == 1

    shown = client.get(url, headers=headers)
    assert shown.json["read_at"] == first.json["read_at"]
    assert shown.json["acknowledged_at"] == ack1.json["acknowledged_at"]


def test_read_outside_audience_or_association_is_404(app, client, factory, cast):
    block2_only = factory.circular(cast.association, blocks=[cast.block2])
    scheduled = factory.circular(cast.association, publish_at=utcnow() + timedelta(hours=1))
    for circular in (block2_only, scheduled):
        for action in ("read", "ack"):
            response = client.post(f"/api/v1/circulars/{circular.id}/{action}",
                                   headers=cast.headers("resident"))
            assert response.status_code == 404
    assert client.post(f"/api/v1/circulars/{block2_only.id}/read",
                       headers=cast.headers("outsider")).status_code == 404
    assert client.get(f"/api/v1/circulars/{block2_only.id}",
                      headers=cast.headers("resident2")).status_code == 200
    assert client.post("/api/v1/circulars/999999/read",
                       headers=cast.headers("resident")).status_code == 404
    assert _receipts(app) == 0


def test_create_circular_with_json(app, client, cast):
    deadline = datetime(2099, 4, 1, 9, 0, tzinfo=UTC).isoformat()
    response = client.post(
        f"/api/v1/associations/{cast.association.id}/circulars", headers=cast.headers("leader"),
        json={"title": "清掃のお知らせ", "body": "**日曜**に清掃します。<script>x</script>",
              "audience_all": False, "block_ids": [cast.block1.id],
              "deadline_at": "2099-04-01T18:00:00+09:00", "ack_required": True})

    assert response.status_code == 201, response.json
    body = response.json
    assert body["block_ids"] == [cast.block1.id]
    assert body["deadline_at"] == deadline
    assert "<strong>日曜</strong>" in body["body_html"]
    assert "<script>" not in body["body_html"]
    assert body["read_at"] is None
    resident2 = client.get(f"/api/v1/circulars/{body['id']}", headers=cast.headers("resident2"))
    assert resident2.status_code == 404


def test_create_circular_multipart_with_files_and_download(app, client, cast):
    response = client.post(
        f"/api/v1/associations/{cast.association.id}/circulars", headers=cast.headers("leader"),
        content_type="multipart/form-data",
        data={"title": "写真つき", "body": "本文", "ack_required": "true",
              "block_ids": str(cast.block1.id),
              "files": [(io.BytesIO(PDF), "お知らせ.pdf"), (io.BytesIO(_png()), "photo.png")]})

    assert response.status_code == 201, response.json
    attachments = response.json["attachments"]
    assert [a["content_type"] for a in attachments] == ["application/pdf", "image/png"]
    assert response.json["ack_required"] is True

    with client.get(attachments[0]["url"], headers=cast.headers("resident")) as pdf:
        assert pdf.status_code == 200
        assert pdf.data == PDF
        assert pdf.headers["X-Content-Type-Options"] == "nosniff"
        assert pdf.headers["Content-Disposition"].startswith("attachment")
    with client.get(attachments[1]["url"], headers=cast.headers("resident")) as png:
        assert png.headers["Content-Disposition"].startswith("inline")
        assert png.mimetype == "image/png"
    assert client.get(attachments[0]["url"], headers=cast.headers("outsider")).status_code == 404
    assert client.get(attachments[0]["url"]).status_code == 401


def test_bad_upload_is_400_and_leaves_no_file(app, client, cast):
    folder = app.config["UPLOAD_FOLDER"]
    before = set(os.listdir(folder))
    response = client.post(
        f"/api/v1/associations/{cast.association.id}/circulars", headers=cast.headers("leader"),
        content_type="multipart/form-data",
        data={"title": "t", "body": "b",
              "files": [(io.BytesIO(PDF), "ok.pdf"), (io.BytesIO(b"MZ\x90\x00"), "evil.exe")]})

    assert response.status_code == 400
    assert set(os.listdir(folder)) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Circular)) == 0
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_create_circular_permissions(client, cast):
    url = f"/api/v1/associations/{cast.association.id}/circulars"
    body = {"title": "t", "body": "b"}
    assert client.post(url, headers=cast.headers("block_leader"), json=body).status_code == 403
    assert client.post(url, headers=cast.headers("outsider"), json=body).status_code == 404
    assert client.post(url, headers=cast.headers("staff"), json=body).status_code == 404


def test_correct_published_circular(app, client, factory, cast):
    circular = factory.circular(cast.association)
    headers = cast.headers("leader")
    client.post(f"/api/v1/circulars/{circular.id}/read", headers=cast.headers("resident"))

    response = client.put(f"/api/v1/circulars/{circular.id}", headers=headers,
                          json={"title": "訂正版", "body": "新しい本文",
                                "publish_at": "2000-01-01T00:00:00Z"})

    assert response.status_code == 200, response.json
    assert response.json["revision"] == 2
    assert response.json["corrected_at"] is not None
    assert response.json["publish_at"] != "2000-01-01T00:00:00+00:00"  # kept
    assert _receipts(app) == 1
    assert client.put(f"/api/v1/circulars/{circular.id}", headers=cast.headers("resident"),
                      json={"title": "x", "body": "y"}).status_code == 403


def test_leader_list_and_status_report(app, client, factory, cast):
    circular = factory.circular(cast.association)
    client.post(f"/api/v1/circulars/{circular.id}/read", headers=cast.headers("resident"))
    client.post(f"/api/v1/circulars/{circular.id}/ack", headers=cast.headers("resident2"))

    listed = client.get(f"/api/v1/associations/{cast.association.id}/circulars/manage",
                        headers=cast.headers("block_leader"))
    assert listed.status_code == 200
    assert listed.json["items"][0]["households_read"] == 2

    report = client.get(f"/api/v1/circulars/{circular.id}/status", headers=cast.headers("leader"))
    assert report.status_code == 200
    totals = report.json["totals"]
    assert totals == {"households": 4, "households_read": 2, "households_acknowledged": 1,
                      "members": 4, "members_read": 2}
    names = [b["name"] for b in report.json["blocks"]]
    assert names == ["1班", "2班"]
    members = [m for b in report.json["blocks"] for h in b["households"] for m in h["members"]]
    assert {"id", "display_name", "role", "read_at", "acknowledged_at"} == set(members[0])
    assert "email" not in report.get_data(as_text=True)

    mine = client.get(f"/api/v1/circulars/{circular.id}/status",
                      headers=cast.headers("block_leader"))
    assert [b["name"] for b in mine.json["blocks"]] == ["1班"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "receipts.view")) == 2


def test_status_permissions(client, factory, cast):
    circular = factory.circular(cast.association)
    url = f"/api/v1/circulars/{circular.id}/status"
    assert client.get(url, headers=cast.headers("resident")).status_code == 403
    assert client.get(url, headers=cast.headers("outsider")).status_code == 404
    assert client.get(url, headers=cast.headers("staff")).status_code == 404
    manage = f"/api/v1/associations/{cast.association.id}/circulars/manage"
    assert client.get(manage, headers=cast.headers("resident")).status_code == 403


def test_paper_receipt(app, client, factory, cast):
    circular = factory.circular(cast.association)
    paper = factory.household(cast.association, block=cast.block1, has_smartphone=False)
    paper2 = factory.household(cast.association, block=cast.block2, has_smartphone=False)
    url = f"/api/v1/circulars/{circular.id}/paper/{paper.id}"

    first = client.post(url, headers=cast.headers("block_leader"))
    again = client.post(url, headers=cast.headers("block_leader"), json={"acknowledge": True})

    assert first.status_code == again.status_code == 200
    assert first.json["proxy"] is True
    assert first.json["acknowledged_at"] is None
    assert again.json["acknowledged_at"] is not None
    assert again.json["read_at"] == first.json["read_at"]
    assert _receipts(app) == 1
    other_block = client.post(f"/api/v1/circulars/{circular.id}/paper/{paper2.id}",
                              headers=cast.headers("block_leader"))
    assert other_block.status_code == 403
    foreign = factory.household(cast.other)
    assert client.post(f"/api/v1/circulars/{circular.id}/paper/{foreign.id}",
                       headers=cast.headers("leader")).status_code == 404
    assert client.post(url, headers=cast.headers("resident")).status_code == 403


def test_listing_runs_the_same_statements_for_3_or_30_circulars(app, client, factory, cast):
    """Blocks and attachments of the summaries are loaded together, not per circular."""
    def statements(path: str, headers) -> int:
        with recorded_sql(app) as seen:
            assert client.get(path, headers=headers).status_code == 200
        return len(seen)

    inbox = f"/api/v1/associations/{cast.association.id}/circulars"
    manage = inbox + "/manage"
    counts = []
    for total in (3, 30):
        existing = _circulars(app)
        for index in range(existing, total):
            factory.circular(cast.association, title=f"回覧 {index}", blocks=[cast.block1])
        counts.append((statements(inbox, cast.headers("resident")),
                       statements(manage, cast.headers("leader"))))
    assert counts[0] == counts[1]


def _circulars(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Circular))

"""Circular pages through the web: writing, audiences, schedule, corrections, inbox, status."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from chounaikai.extensions import db
from chounaikai.models import Circular, MemberRole, Receipt, utcnow
from tests.helpers import fetch_post, form_post
from tests.support import client_for, count, html

TOKYO = ZoneInfo("Asia/Tokyo")




def _only_circular(app) -> Circular:
    with app.app_context():
        circulars = list(db.session.scalars(select(Circular)))
        assert len(circulars) == 1
        circular = circulars[0]
        circular.blocks  # noqa: B018 - load before detaching
        db.session.expunge_all()
        return circular


def _local(value: datetime) -> str:
    return value.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")


def test_leader_writes_circular_for_everyone(app, town):
    leader = client_for(app, town["leader"].user)

    response = form_post(leader, f"/a/{town['association'].id}/circulars", {
        "title": "防災訓練", "body": "# 集合\n\n9時に校庭へ", "audience": "all",
        "ack_required": "1"})

    circular = _only_circular(app)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/circulars/{circular.id}/status"
    assert circular.audience_all
    assert circular.ack_required
    assert circular.author_id == town["leader"].user.id
    assert "<h2>集合</h2>" in circular.body_html
    for member in ("in_one", "in_two"):
        reader = client_for(app, town[member].user)
        assert reader.get(f"/circulars/{circular.id}").status_code == 200


def test_circular_for_chosen_blocks_is_invisible_outside_them(app, town):
    leader = client_for(app, town["leader"].user)

    form_post(leader, f"/a/{town['association'].id}/circulars", {
        "title": "2班の清掃当番", "body": "本文", "audience": "blocks",
        "block_ids": [str(town["two"].id)]})

    circular = _only_circular(app)
    assert not circular.audience_all
    assert [b.id for b in circular.blocks] == [town["two"].id]
    inside = client_for(app, town["in_two"].user)
    outside = client_for(app, town["in_one"].user)
    assert "2班の清掃当番" in html(inside.get(f"/a/{town['association'].id}/circulars"))
    assert inside.get(f"/circulars/{circular.id}").status_code == 200
    assert "2班の清掃当番" not in html(outside.get(f"/a/{town['association'].id}/circulars"))
    assert outside.get(f"/circulars/{circular.id}").status_code == 404
    assert fetch_post(outside, f"/circulars/{circular.id}/read").status_code == 404
    assert form_post(outside, f"/circulars/{circular.id}/ack").status_code == 404
    assert count(app, Receipt) == 0


def test_blocks_audience_without_blocks_is_refused(app, town):
    leader = client_for(app, town["leader"].user)

    response = form_post(leader, f"/a/{town['association'].id}/circulars", {
        "title": "誰にも", "body": "本文", "audience": "blocks"})

    assert response.status_code == 400
    assert "この町内会の班を1つ以上選んでください。" in html(response)
    assert count(app, Circular) == 0


def test_scheduled_circular_reads_the_form_time_as_tokyo_and_waits(app, town):
    publish = (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)
    leader = client_for(app, town["leader"].user)

    form_post(leader, f"/a/{town['association'].id}/circulars", {
        "title": "来週の予定", "body": "本文", "audience": "all", "publish_at": _local(publish)})

    circular = _only_circular(app)
    assert circular.publish_at == publish
    resident = client_for(app, town["in_one"].user)
    assert "来週の予定" not in html(resident.get(f"/a/{town['association'].id}/circulars"))
    assert resident.get(f"/circulars/{circular.id}").status_code == 404
    manage = html(leader.get(f"/a/{town['association'].id}/circulars/manage"))
    assert "来週の予定" in manage
    assert "予約" in manage
    assert leader.get(f"/circulars/{circular.id}").status_code == 200


@pytest.mark.parametrize(("fields", "message"), [
    ({"title": ""}, "入力してください"),
    ({"body": "  "}, "入力してください"),
    ({"title": "あ" * 201}, "200文字以内にしてください。"),
    ({"body": "あ" * 20_001}, "20000文字以内にしてください。"),
    ({"publish_at": "2031-05-01T10:00", "deadline_at": "2031-05-01T09:00"},
     "締め切りは公開日時より後にしてください。"),
    ({"publish_at": "来週"}, "日付と時刻を入れてください。"),
])
def test_invalid_circular_form_is_shown_again_and_nothing_is_saved(app, town, fields, message):
    leader = client_for(app, town["leader"].user)
    data = {"title": "題名", "body": "本文です", "audience": "all"}
    data.update(fields)

    response = form_post(leader, f"/a/{town['association'].id}/circulars", data)

    assert response.status_code == 400
    page = html(response)
    assert message in page
    if data["title"]:
        assert f'value="{data["title"]}"' in page  # what they typed is kept
    assert count(app, Circular) == 0


def test_resident_cannot_open_the_writing_page_or_post(app, town):
    resident = client_for(app, town["in_one"].user)

    assert resident.get(f"/a/{town['association'].id}/circulars/new").status_code == 403
    response = form_post(resident, f"/a/{town['association'].id}/circulars",
                         {"title": "t", "body": "b", "audience": "all"})
    assert response.status_code == 403
    assert count(app, Circular) == 0


def test_correction_keeps_receipts_and_residents_see_the_notice(app, town, factory):
    circular = factory.circular(town["association"], title="誤り", body="古い本文")
    resident = client_for(app, town["in_one"].user)
    assert fetch_post(resident, f"/circulars/{circular.id}/read").status_code == 200
    before = html(resident.get(f"/circulars/{circular.id}"))
    assert "訂正されました" not in before
    leader = client_for(app, town["leader"].user)

    response = form_post(leader, f"/circulars/{circular.id}/edit",
                         {"title": "正しい題", "body": "新しい本文", "audience": "all"})

    assert response.status_code == 302
    updated = _only_circular(app)
    assert updated.revision == 2
    assert updated.corrected_at is not None
    assert count(app, Receipt, Receipt.circular_id == circular.id) == 1
    page = html(resident.get(f"/circulars/{circular.id}"))
    assert "正しい題" in page
    assert "新しい本文" in page
    assert "この回覧は" in page
    assert "訂正されました" in page
    assert "訂正あり" in html(resident.get(f"/a/{town['association'].id}/circulars"))


def test_saving_the_edit_form_unchanged_keeps_schedule_and_deadline(app, town, factory):
    publish = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    deadline = publish + timedelta(days=7)
    circular = factory.circular(town["association"], publish_at=publish)
    with app.app_context():
        db.session.get(Circular, circular.id).deadline_at = deadline
        db.session.commit()
    leader = client_for(app, town["leader"].user)
    page = html(leader.get(f"/circulars/{circular.id}/edit"))
    values = dict(re.findall(r'name="(publish_at|deadline_at)" type="datetime-local" '
                             r'value="([^"]*)"', page))
    assert values == {"publish_at": _local(publish), "deadline_at": _local(deadline)}

    response = form_post(leader, f"/circulars/{circular.id}/edit", {
        "title": circular.title, "body": circular.body_md, "audience": "all", **values})

    assert response.status_code == 302
    saved = _only_circular(app)
    assert saved.publish_at == publish
    assert saved.deadline_at == deadline
    assert saved.revision == 1


def test_inbox_lists_newest_first_with_unread_markers_and_count(app, town, factory):
    association = town["association"]
    now = utcnow()
    factory.circular(association, title="一番古い", publish_at=now - timedelta(days=5))
    middle = factory.circular(association, title="真ん中", publish_at=now - timedelta(days=2))
    factory.circular(association, title="一番新しい", publish_at=now - timedelta(minutes=5))
    resident = client_for(app, town["in_one"].user)
    fetch_post(resident, f"/circulars/{middle.id}/read")

    page = html(resident.get(f"/a/{association.id}/circulars"))

    titles = re.findall(r'<span class="circular-title"[^>]*>([^<]+)</span>', page)
    assert titles == ["一番新しい", "真ん中", "一番古い"]
    states = re.findall(r'<li class="circular-item (unread|read)">', page)
    assert states == ["unread", "read", "unread"]
    assert 'data-count="2"' in page
    assert "未読が2件あります" in page


def test_inbox_says_all_read_when_nothing_is_unread(app, town, factory):
    circular = factory.circular(town["association"])
    resident = client_for(app, town["in_one"].user)
    fetch_post(resident, f"/circulars/{circular.id}/read")

    page = html(resident.get(f"/a/{town['association'].id}/circulars"))

    assert 'data-count="0"' in page
    assert "すべて読みました" in page


@pytest.mark.parametrize(("role", "shown"), [
    (MemberRole.RESIDENT, False), (MemberRole.BLOCK_LEADER, True), (MemberRole.LEADER, True)])
def test_inbox_links_block_leaders_and_leaders_to_circular_management(
        app, town, factory, role, shown):
    member = factory.member(town["association"], role=role, block=town["two"])
    client = client_for(app, member.user)
    # With a single association, home sends members straight to the inbox.
    assert client.get("/").headers["Location"] == f"/a/{town['association'].id}/circulars"

    page = html(client.get(f"/a/{town['association'].id}/circulars"))

    assert (f"/a/{town['association'].id}/circulars/manage" in page) is shown


def test_acknowledge_button_records_read_and_ack_once(app, town, factory):
    circular = factory.circular(town["association"], ack_required=True)
    resident = client_for(app, town["in_one"].user)

    first = form_post(resident, f"/circulars/{circular.id}/ack")
    with app.app_context():
        acked_at = db.session.scalar(select(Receipt.acknowledged_at))
    second = form_post(resident, f"/circulars/{circular.id}/ack")

    assert first.status_code == second.status_code == 302
    with app.app_context():
        receipt = db.session.scalar(select(Receipt))
        assert receipt.user_id == town["in_one"].user.id
        assert receipt.read_at is not None
        assert receipt.acknowledged_at == acked_at
    assert count(app, Receipt) == 1
    page = html(resident.get(f"/circulars/{circular.id}"))
    assert "確認済み" in page
    assert f'action="/circulars/{circular.id}/ack"' not in page


def test_block_leader_records_paper_receipt_in_own_block_only(app, town, factory):
    association = town["association"]
    block_leader = factory.member(association, role=MemberRole.BLOCK_LEADER, block=town["one"])
    own = factory.household(association, block=town["one"], has_smartphone=False)
    other = factory.household(association, block=town["two"], has_smartphone=False)
    circular = factory.circular(association)
    client = client_for(app, block_leader.user)

    allowed = form_post(client, f"/circulars/{circular.id}/paper/{own.id}", {"acknowledge": "1"})
    refused = form_post(client, f"/circulars/{circular.id}/paper/{other.id}", {"acknowledge": "1"})

    assert allowed.status_code == 302
    assert refused.status_code == 403
    with app.app_context():
        rows = list(db.session.execute(select(Receipt.household_id, Receipt.proxy_by_id,
                                              Receipt.user_id)))
    assert rows == [(own.id, block_leader.user.id, None)]


def test_resident_cannot_record_paper_receipts(app, town, factory):
    paper = factory.household(town["association"], block=town["one"], has_smartphone=False)
    circular = factory.circular(town["association"])
    client = client_for(app, town["in_one"].user)

    assert form_post(client, f"/circulars/{circular.id}/paper/{paper.id}").status_code == 403
    assert count(app, Receipt) == 0


def test_status_page_for_block_leader_shows_only_own_block(app, town, factory):
    association = town["association"]
    block_leader = factory.member(association, role=MemberRole.BLOCK_LEADER, block=town["two"])
    factory.household(association, block=town["one"], name="一班の佐藤家")
    factory.household(association, block=town["two"], name="二班の鈴木家")
    circular = factory.circular(association)
    client = client_for(app, block_leader.user)

    response = client.get(f"/circulars/{circular.id}/status")

    assert response.status_code == 200
    page = html(response)
    assert "二班の鈴木家" in page
    assert "一班の佐藤家" not in page
    assert "2班" in page
    assert "1班" not in page
    assert f"/circulars/{circular.id}/edit" not in page  # correcting is for leaders


def test_status_page_totals_for_leader(app, town, factory):
    association = town["association"]
    circular = factory.circular(association, ack_required=True)
    paper = factory.household(association, block=town["two"], has_smartphone=False)
    form_post(client_for(app, town["in_one"].user), f"/circulars/{circular.id}/ack")
    leader = client_for(app, town["leader"].user)
    form_post(leader, f"/circulars/{circular.id}/paper/{paper.id}")

    page = html(leader.get(f"/circulars/{circular.id}/status"))

    totals = re.search(r'<dl class="totals" id="totals">(.*?)</dl>', page, re.S).group(1)
    # 4 households (leader, in_one, in_two, paper): in_one read+acked, paper read only.
    assert re.findall(r"<strong>(\d+)</strong> / (\d+)", totals) == [
        ("2", "4"), ("1", "4"), ("1", "3")]


def test_leader_list_shows_read_household_counts(app, town, factory):
    association = town["association"]
    circular = factory.circular(association, title="集計対象")
    family = factory.member(association, household=town["in_one"].household)
    for member in (town["in_one"], family, town["in_two"]):
        fetch_post(client_for(app, member.user), f"/circulars/{circular.id}/read")

    page = html(client_for(app, town["leader"].user).get(
        f"/a/{association.id}/circulars/manage"))

    assert "集計対象" in page
    assert "2世帯が既読" in page


def test_publish_time_is_shown_in_tokyo_time(app, town, factory):
    circular = factory.circular(town["association"],
                                publish_at=datetime(2024, 3, 1, 0, 30, tzinfo=UTC))

    page = html(client_for(app, town["in_one"].user).get(f"/circulars/{circular.id}"))

    assert "公開: 2024/03/01 9:30" in page

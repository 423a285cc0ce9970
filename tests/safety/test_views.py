"""What leaders, block leaders and city staff see: by block, notes, door-knock list, CSV."""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import re

import pytest

from chounaikai.extensions import db
from chounaikai.models import Household
from tests.helpers import form_post
from tests.safety.helpers import audits
from tests.support import client_for, html

NOTE = "母が持病の薬を切らしています"


@pytest.fixture
def answered(app, town):
    """An open round: 山田家 needs help (with a note), 佐藤家 is safe; the rest unanswered."""
    a = town.association.id
    leader = client_for(app, town.user("leader"))
    form_post(leader, f"/a/{a}/safety/rounds")
    form_post(client_for(app, town.user("resident")), f"/a/{a}/safety/answer",
              {"status": "needs_help", "note": NOTE})
    form_post(client_for(app, town.user("resident2")), f"/a/{a}/safety/answer",
              {"status": "safe"})
    return leader


def test_leader_sees_every_block_with_unanswered_households_and_notes(app, town, answered):
    page = html(answered.get(f"/a/{town.association.id}/safety/manage"))

    for name in ("1班", "2班", "紙野家", "班長家", "会長家", "山田家", "佐藤家"):
        assert name in page
    assert NOTE in page
    assert 'data-count="unanswered">3<' in page
    assert 'data-count="needs_help">1<' in page
    # Unanswered households come first in their block (who to visit).
    block1 = page[page.index("1班"):page.index("2班")]
    assert block1.index("紙野家") < block1.index("山田家")
    assert block1.index("班長家") < block1.index("山田家")
    entry = audits(app, "safety.view_notes")
    assert len(entry) == 1
    assert entry[0].actor_id == town.user("leader").id
    assert entry[0].association_id == town.association.id


def test_every_view_showing_notes_is_audit_logged(app, town, answered):
    for _ in range(3):
        answered.get(f"/a/{town.association.id}/safety/manage")
    assert len(audits(app, "safety.view_notes")) == 3


def test_block_leader_sees_only_their_block_and_no_notes(app, town, answered):
    client = client_for(app, town.user("block_leader"))
    page = html(client.get(f"/a/{town.association.id}/safety/manage"))

    for name in ("紙野家", "班長家", "山田家"):
        assert name in page
    for name in ("会長家", "佐藤家", "2班"):
        assert name not in page
    assert NOTE not in page
    assert 'data-count="households">3<' in page
    assert 'data-count="unanswered">2<' in page
    assert audits(app, "safety.view_notes") == []
    assert audits(app, "safety.view")[0].actor_id == town.user("block_leader").id


def test_residents_and_staff_cannot_open_the_leaders_page(app, town, answered):
    a = town.association.id
    assert client_for(app, town.user("resident")).get(f"/a/{a}/safety/manage").status_code == 403
    assert client_for(app, town.staff).get(f"/a/{a}/safety/manage").status_code == 404


def _live_rooms(page: str) -> dict:
    match = re.search(r"<body data-live-rooms='([^']*)'", page)
    assert match, "no data-live-rooms on <body>"
    return json.loads(html_lib.unescape(match.group(1)))


def test_leaders_page_listens_to_the_leaders_room(app, town, answered):
    room = f"leaders:{town.association.id}"
    page = html(answered.get(f"/a/{town.association.id}/safety/manage"))
    assert room in _live_rooms(page)
    assert "js/safety.js" in page
    block_leader = client_for(app, town.user("block_leader"))
    assert room in _live_rooms(html(block_leader.get(f"/a/{town.association.id}/safety/manage")))
    resident = client_for(app, town.user("resident"))
    assert room not in _live_rooms(html(resident.get(f"/a/{town.association.id}/safety")))


def test_staff_see_counts_only(app, town, answered):
    page = html(client_for(app, town.staff).get("/staff/safety"))

    assert town.association.name in page
    assert town.other.name in page
    row = page[page.index(town.association.name):]
    row = row[:row.index("</tr>")]
    # households, answered, safe, needs help, at shelter, unanswered
    assert "<td>5</td><td>2</td><td>1</td>" in row
    assert "<td>1</td><td>0</td><td>3</td>" in row
    for secret in (NOTE, "山田家", "佐藤家", "紙野家", town.user("resident").display_name):
        assert secret not in page
    assert len(audits(app, "safety.staff_counts")) == 1


def test_door_knock_list_has_unanswered_households_by_block(app, town, answered):
    page = html(answered.get(f"/a/{town.association.id}/safety/door-knock"))

    for name in ("紙野家", "班長家", "会長家"):
        assert name in page
    for name in ("山田家", "佐藤家", NOTE):
        assert name not in page
    assert "css/safety.css" in page  # its print rules hide the header and buttons
    assert len(audits(app, "safety.door_knock")) == 1


def test_block_leader_door_knock_list_is_their_block(app, town, answered):
    client = client_for(app, town.user("block_leader"))
    page = html(client.get(f"/a/{town.association.id}/safety/door-knock"))
    assert "紙野家" in page
    assert "会長家" not in page


def _rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export_of_unanswered_households(app, town, answered):
    response = answered.get(f"/a/{town.association.id}/safety/door-knock.csv")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "private, no-store"
    rows = _rows(response)
    assert rows[0] == ["班", "世帯"]
    assert sorted(rows[1:]) == sorted([["1班", "班長家"], ["1班", "紙野家"], ["2班", "会長家"]])
    assert NOTE not in response.get_data(as_text=True)
    entry = audits(app, "safety.export")
    assert len(entry) == 1
    assert entry[0].detail == {"households": 3}


def test_csv_export_is_limited_to_the_block_leaders_block(app, town, answered):
    client = client_for(app, town.user("block_leader"))
    rows = _rows(client.get(f"/a/{town.association.id}/safety/door-knock.csv"))
    assert sorted(rows[1:]) == sorted([["1班", "班長家"], ["1班", "紙野家"]])


def test_csv_cells_cannot_run_as_spreadsheet_formulas(app, town, answered):
    with app.app_context():
        db.session.get(Household, town.paper.id).name = "=HYPERLINK(\"http://x\")"
        db.session.commit()
    rows = _rows(answered.get(f"/a/{town.association.id}/safety/door-knock.csv"))
    assert ["1班", "'=HYPERLINK(\"http://x\")"] in rows


def test_residents_cannot_export(app, town, answered):
    client = client_for(app, town.user("resident"))
    assert client.get(f"/a/{town.association.id}/safety/door-knock.csv").status_code == 403
    assert audits(app, "safety.export") == []


def test_closed_round_results_stay_readable(app, town, answered):
    a = town.association.id
    form_post(answered, f"/a/{a}/safety/close")
    page = html(answered.get(f"/a/{a}/safety/manage"))
    assert "終了した安否確認の結果" in page
    assert "山田家" in page
    assert "代理で回答する" not in page
    resident_page = html(client_for(app, town.user("resident")).get(f"/a/{a}/safety"))
    assert "いまは安否確認をしていません" in resident_page

"""Households answer in one tap; answering again replaces; block leaders answer by proxy."""

from __future__ import annotations

import pytest

from chounaikai.models import SafetyAnswer, Shelter
from tests.helpers import form_post
from tests.safety.helpers import answers, audits, live_events, rounds
from tests.support import client_for, html


@pytest.fixture
def open_round(app, town):
    leader = client_for(app, town.user("leader"))
    assert form_post(leader, f"/a/{town.association.id}/safety/rounds").status_code == 302
    return rounds(app, town.association.id)[0]["id"]


def _shelter(factory, name: str, *, is_open: bool) -> Shelter:
    shelter = Shelter(source_key=f"test-{name}", name=name, address="町田市", is_open=is_open)
    factory._save(shelter)
    return shelter


def test_resident_page_shows_three_big_buttons(app, town, open_round):
    client = client_for(app, town.user("resident"))
    page = html(client.get(f"/a/{town.association.id}/safety"))
    assert page.count('class="button button-big safety-button') == 3
    for label in ("無事", "助けが必要", "避難所にいる", "まだ回答していません"):
        assert label in page


def test_without_a_round_the_page_says_so_and_answers_are_refused(app, town):
    client = client_for(app, town.user("resident"))
    page = html(client.get(f"/a/{town.association.id}/safety"))
    assert "いまは安否確認をしていません" in page
    assert "safety-button" not in page
    response = form_post(client, f"/a/{town.association.id}/safety/answer", {"status": "safe"})
    assert response.status_code == 409
    assert answers(app) == []


def test_household_answer_is_one_row_and_a_retry_changes_nothing(app, town, open_round):
    client = client_for(app, town.user("resident"))
    url = f"/a/{town.association.id}/safety/answer"

    first = form_post(client, url, {"status": "safe"})
    second = form_post(client, url, {"status": "safe"})

    assert first.status_code == second.status_code == 302
    rows = answers(app)
    assert len(rows) == 1
    assert rows[0]["household_id"] == town.household("resident").id
    assert rows[0]["status"] == "safe"
    assert rows[0]["proxy"] is False
    assert rows[0]["answered_by_id"] == town.user("resident").id
    page = html(client.get(f"/a/{town.association.id}/safety"))
    assert "いまの回答: 無事" in page


def test_another_member_of_the_household_replaces_the_answer(app, town, open_round):
    url = f"/a/{town.association.id}/safety/answer"
    form_post(client_for(app, town.user("resident")), url, {"status": "safe"})

    spouse = client_for(app, town.user("spouse"))
    assert form_post(spouse, url, {"status": "needs_help", "note": "父が足をけがしました"}
                     ).status_code == 302

    rows = answers(app)
    assert len(rows) == 1
    assert rows[0]["status"] == "needs_help"
    assert rows[0]["note"] == "父が足をけがしました"
    assert rows[0]["answered_by_id"] == town.user("spouse").id
    # The note is for leaders: not shown back on the household's own page.
    assert "父が足をけがしました" not in html(spouse.get(f"/a/{town.association.id}/safety"))

    form_post(spouse, url, {"status": "safe", "note": "ignored"})
    assert answers(app)[0]["note"] is None  # a note belongs to 助けが必要 only


def test_note_longer_than_500_characters_is_refused(app, town, open_round):
    client = client_for(app, town.user("resident"))
    response = form_post(client, f"/a/{town.association.id}/safety/answer",
                         {"status": "needs_help", "note": "あ" * 501})
    assert response.status_code == 400
    assert "500文字以内" in html(response)
    assert answers(app) == []


def test_unknown_status_is_refused(app, town, open_round):
    client = client_for(app, town.user("resident"))
    response = form_post(client, f"/a/{town.association.id}/safety/answer", {"status": "ok"})
    assert response.status_code == 400
    assert answers(app) == []


def test_at_a_shelter_lists_open_shelters_first_and_records_the_choice(app, town, factory,
                                                                         open_round):
    closed = _shelter(factory, "あさひ小学校", is_open=False)
    opened = _shelter(factory, "わかば中学校", is_open=True)
    client = client_for(app, town.user("resident"))
    page = html(client.get(f"/a/{town.association.id}/safety"))
    assert page.index("わかば中学校") < page.index("あさひ小学校")

    form_post(client, f"/a/{town.association.id}/safety/answer",
              {"status": "at_shelter", "shelter_id": str(opened.id)})

    row = answers(app)[0]
    assert row["status"] == "at_shelter"
    assert row["shelter_id"] == opened.id
    bad = form_post(client, f"/a/{town.association.id}/safety/answer",
                    {"status": "at_shelter", "shelter_id": str(closed.id + 1000)})
    assert bad.status_code == 400


def test_block_leader_answers_for_a_paper_household_by_proxy(app, town, open_round):
    a = town.association.id
    block_leader = client_for(app, town.user("block_leader"))
    url = f"/a/{a}/safety/households/{town.paper.id}/answer"
    page = html(block_leader.get(url))
    assert "紙野家の代わりに回答します" in page

    response = form_post(block_leader, url, {"status": "needs_help", "note": "薬が切れそう"})

    assert response.status_code == 302
    row = answers(app, SafetyAnswer.household_id == town.paper.id)[0]
    assert row["proxy"] is True
    assert row["answered_by_id"] == town.user("block_leader").id
    entry = audits(app, "safety.proxy_answer")[0]
    assert entry.target_id == town.paper.id
    assert "薬が切れそう" not in str(entry.detail)  # health information stays out of the log
    leader = client_for(app, town.user("leader"))
    manage = html(leader.get(f"/a/{a}/safety/manage"))
    assert f"代理回答: {town.user('block_leader').display_name}" in manage


def test_block_leader_cannot_answer_for_another_block(app, town, open_round):
    block_leader = client_for(app, town.user("block_leader"))
    other_block = town.household("resident2").id
    response = form_post(block_leader,
                         f"/a/{town.association.id}/safety/households/{other_block}/answer",
                         {"status": "safe"})
    assert response.status_code == 403
    assert answers(app) == []


def test_leader_answers_for_any_household_and_residents_for_none(app, town, open_round):
    a = town.association.id
    leader = client_for(app, town.user("leader"))
    target = town.household("resident2").id
    assert form_post(leader, f"/a/{a}/safety/households/{target}/answer",
                     {"status": "safe"}).status_code == 302
    resident = client_for(app, town.user("resident"))
    assert form_post(resident, f"/a/{a}/safety/households/{town.paper.id}/answer",
                     {"status": "safe"}).status_code == 403
    foreign = town.household("other_leader").id  # another association's household
    assert form_post(leader, f"/a/{a}/safety/households/{foreign}/answer",
                     {"status": "safe"}).status_code == 404
    assert [r["household_id"] for r in answers(app)] == [target]


def test_an_answer_announces_counts_only_to_the_leaders_room(app, town, open_round):
    client = client_for(app, town.user("resident"))
    form_post(client, f"/a/{town.association.id}/safety/answer",
              {"status": "needs_help", "note": "秘密のメモ"})

    events = live_events(app, f"leaders:{town.association.id}")
    safety = [e["data"] for e in events if e["kind"] == "safety"]
    assert len(safety) == 1
    data = safety[0]
    assert data["round_id"] == open_round
    assert (data["households"], data["answered"], data["needs_help"], data["unanswered"]) == (
        5, 1, 1, 4)
    block1 = next(b for b in data["blocks"] if b["block_id"] == town.block1.id)
    assert (block1["households"], block1["answered"]) == (3, 1)
    text = str(data)
    assert "秘密のメモ" not in text
    assert "山田家" not in text

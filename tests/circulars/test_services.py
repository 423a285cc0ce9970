"""Circular use cases called directly: audience, schedule, validation, correction, receipts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from chounaikai.circulars import receipts, services
from chounaikai.circulars.services import MAX_BODY, MAX_TITLE, CircularInput
from chounaikai.errors import NotFound, PermissionDenied, ValidationFailed
from chounaikai.extensions import db
from chounaikai.models import AuditLog, Circular, MemberRole, Receipt, User, utcnow
from tests.support import count


def _user(member) -> User:
    return db.session.get(User, member.user.id)


def _ids(items) -> list[int]:
    return [item.circular.id for item in items]




# --- audience ---------------------------------------------------------------------------

def test_circular_for_everyone_reaches_every_block(app, town):
    with app.test_request_context():
        circular = services.create_circular(
            actor=_user(town["leader"]), association_id=town["association"].id,
            data=CircularInput(title="  回覧板  ", body_md="**本文**"))
        assert circular.title == "回覧板"
        assert circular.audience_all
        assert circular.blocks == []
        assert circular.body_html == "<p><strong>本文</strong></p>\n"
        assert circular.revision == 1
        assert circular.corrected_at is None
        for member in ("in_one", "in_two"):
            user = _user(town[member])
            assert services.visible_circular(user=user, circular_id=circular.id) is circular
            assert _ids(services.inbox(user=user, association_id=town["association"].id)) == [
                circular.id]


def test_circular_for_chosen_blocks_is_hidden_from_other_blocks(app, town):
    association = town["association"]
    with app.test_request_context():
        circular = services.create_circular(
            actor=_user(town["leader"]), association_id=association.id,
            data=CircularInput(title="2班だけ", body_md="本文", audience_all=False,
                               block_ids=(town["two"].id,)))
        assert [b.id for b in circular.blocks] == [town["two"].id]
        inside, outside = _user(town["in_two"]), _user(town["in_one"])
        assert _ids(services.inbox(user=inside, association_id=association.id)) == [circular.id]
        assert services.inbox(user=outside, association_id=association.id) == []
        with pytest.raises(NotFound):
            services.visible_circular(user=outside, circular_id=circular.id)
        with pytest.raises(NotFound):
            services.mark_read(user=outside, circular_id=circular.id)
        # The leader (in 1班) still sees it: leaders see every circular.
        assert services.visible_circular(user=_user(town["leader"]), circular_id=circular.id)


def test_members_without_a_block_see_only_circulars_for_everyone(app, town, factory):
    association = town["association"]
    blockless = factory.member(association, household=factory.household(association, block=None))
    for_all = factory.circular(association, title="全員")
    factory.circular(association, title="1班", blocks=[town["one"]])
    with app.test_request_context():
        assert _ids(services.inbox(user=_user(blockless), association_id=association.id)) == [
            for_all.id]


@pytest.mark.parametrize("block_ids", ["none", "foreign", "foreign_and_own", "unknown"])
def test_audience_blocks_must_be_blocks_of_the_association(app, town, factory, block_ids):
    foreign = factory.association().blocks[0]
    chosen = {"none": (), "foreign": (foreign.id,), "unknown": (999_999,),
              "foreign_and_own": (foreign.id, town["one"].id)}[block_ids]
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            services.create_circular(
                actor=_user(town["leader"]), association_id=town["association"].id,
                data=CircularInput(title="t", body_md="b", audience_all=False, block_ids=chosen))
        assert "block_ids" in caught.value.fields
    assert count(app, Circular) == 0


@pytest.mark.parametrize("role", [MemberRole.RESIDENT, MemberRole.BLOCK_LEADER])
def test_only_leaders_write_circulars(app, town, factory, role):
    writer = factory.member(town["association"], role=role)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            services.create_circular(actor=_user(writer), association_id=town["association"].id,
                                     data=CircularInput(title="t", body_md="b"))


def test_outsiders_get_not_found_for_circulars(app, town, factory):
    outsider = factory.member(factory.association(), role=MemberRole.LEADER)
    circular = factory.circular(town["association"])
    with app.test_request_context():
        user = _user(outsider)
        with pytest.raises(NotFound):
            services.create_circular(actor=user, association_id=town["association"].id,
                                     data=CircularInput(title="t", body_md="b"))
        with pytest.raises(NotFound):
            services.visible_circular(user=user, circular_id=circular.id)
        with pytest.raises(NotFound):
            services.inbox(user=user, association_id=town["association"].id)
        with pytest.raises(NotFound):
            services.visible_circular(user=user, circular_id=999_999)


# --- schedule ---------------------------------------------------------------------------

def test_scheduled_circular_is_hidden_from_residents_until_its_time(app, town):
    association = town["association"]
    with app.test_request_context():
        circular = services.create_circular(
            actor=_user(town["leader"]), association_id=association.id,
            data=CircularInput(title="予約", body_md="本文",
                               publish_at=utcnow() + timedelta(hours=2)))
        resident, leader = _user(town["in_one"]), _user(town["leader"])
        assert services.inbox(user=resident, association_id=association.id) == []
        with pytest.raises(NotFound):
            services.visible_circular(user=resident, circular_id=circular.id)
        with pytest.raises(NotFound):
            services.acknowledge(user=resident, circular_id=circular.id)
        # Leaders see it in their list and can open it.
        assert services.visible_circular(user=leader, circular_id=circular.id) is circular
        assert _ids(services.leader_list(actor=leader, association_id=association.id)) == [
            circular.id]
        # Once the publish time has passed (moved into the past), residents see it.
        db.session.execute(update(Circular).where(Circular.id == circular.id)
                           .values(publish_at=utcnow() - timedelta(seconds=1)))
        db.session.expire_all()
        resident = _user(town["in_one"])
        assert _ids(services.inbox(user=resident, association_id=association.id)) == [
            circular.id]
        assert services.visible_circular(user=resident, circular_id=circular.id).id == circular.id


# --- validation -------------------------------------------------------------------------

NOW = datetime(2030, 4, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("publish_at", "deadline_at", "ok"), [
    (NOW, NOW - timedelta(minutes=1), False),
    (NOW, NOW, False),
    (NOW, NOW + timedelta(minutes=1), True),
    (None, datetime(2020, 1, 1, tzinfo=UTC), False),  # published now, deadline in the past
    (None, utcnow() + timedelta(days=3), True),
])
def test_deadline_must_come_after_publication(app, town, publish_at, deadline_at, ok):
    data = CircularInput(title="締め切り", body_md="本文", publish_at=publish_at,
                         deadline_at=deadline_at)
    with app.test_request_context():
        actor = _user(town["leader"])
        if ok:
            circular = services.create_circular(actor=actor, association_id=town["association"].id,
                                                data=data)
            assert circular.deadline_at == deadline_at
        else:
            with pytest.raises(ValidationFailed) as caught:
                services.create_circular(actor=actor, association_id=town["association"].id,
                                         data=data)
            assert caught.value.fields == {
                "deadline_at": "締め切りは公開日時より後にしてください。"}


@pytest.mark.parametrize(("title", "body", "field"), [
    ("", "本文", "title"),
    ("   ", "本文", "title"),
    ("題", "", "body"),
    ("題", " \n\t ", "body"),
    ("あ" * (MAX_TITLE + 1), "本文", "title"),
    ("題", "あ" * (MAX_BODY + 1), "body"),
])
def test_title_and_body_are_required_and_limited(app, town, title, body, field):
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            services.create_circular(actor=_user(town["leader"]),
                                     association_id=town["association"].id,
                                     data=CircularInput(title=title, body_md=body))
        assert set(caught.value.fields) == {field}
    assert count(app, Circular) == 0


def test_title_and_body_at_their_limits_are_accepted(app, town):
    with app.test_request_context():
        circular = services.create_circular(
            actor=_user(town["leader"]), association_id=town["association"].id,
            data=CircularInput(title="あ" * MAX_TITLE, body_md="い" * MAX_BODY))
        db.session.flush()
        assert len(circular.title) == MAX_TITLE
        assert len(circular.body_md) == MAX_BODY


def test_naive_datetimes_are_refused(app, town):
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            services.create_circular(
                actor=_user(town["leader"]), association_id=town["association"].id,
                data=CircularInput(title="t", body_md="b", publish_at=datetime(2030, 1, 1)))
        assert "publish_at" in caught.value.fields


# --- correction -------------------------------------------------------------------------

def test_correcting_published_circular_bumps_revision_and_keeps_receipts(app, town, factory):
    circular = factory.circular(town["association"], title="誤字あり", ack_required=True)
    original_publish = circular.publish_at
    with app.test_request_context():
        reader = _user(town["in_one"])
        first = services.acknowledge(user=reader, circular_id=circular.id)
        read_at, acked_at = first.read_at, first.acknowledged_at
        services.correct_circular(
            actor=_user(town["leader"]), circular_id=circular.id,
            data=CircularInput(title="訂正済み", body_md="正しい本文", ack_required=True,
                               publish_at=utcnow() + timedelta(days=5)))
        db.session.commit()
    with app.app_context():
        corrected = db.session.get(Circular, circular.id)
        assert corrected.title == "訂正済み"
        assert corrected.body_html == "<p>正しい本文</p>\n"
        assert corrected.revision == 2
        assert corrected.corrected_at is not None
        assert corrected.publish_at == original_publish  # a published circular keeps its date
        receipt = db.session.scalar(select(Receipt).where(Receipt.circular_id == circular.id))
        assert (receipt.read_at, receipt.acknowledged_at) == (read_at, acked_at)


def test_each_correction_counts_a_revision(app, town, factory):
    circular = factory.circular(town["association"])
    with app.test_request_context():
        leader = _user(town["leader"])
        for n in (2, 3):
            corrected = services.correct_circular(
                actor=leader, circular_id=circular.id,
                data=CircularInput(title=f"第{n}版", body_md="本文"))
            assert corrected.revision == n


def test_editing_scheduled_circular_is_not_a_correction(app, town, factory):
    later = utcnow() + timedelta(days=2)
    circular = factory.circular(town["association"], publish_at=later)
    new_time = later + timedelta(days=1)
    with app.test_request_context():
        edited = services.correct_circular(
            actor=_user(town["leader"]), circular_id=circular.id,
            data=CircularInput(title="予定変更", body_md="本文", publish_at=new_time))
        assert edited.revision == 1
        assert edited.corrected_at is None
        assert edited.publish_at == new_time


def test_residents_cannot_correct(app, town, factory):
    circular = factory.circular(town["association"], title="元の題")
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            services.correct_circular(actor=_user(town["in_one"]), circular_id=circular.id,
                                      data=CircularInput(title="改ざん", body_md="x"))
    with app.app_context():
        assert db.session.get(Circular, circular.id).title == "元の題"


# --- inbox and receipts -------------------------------------------------------------------

def test_inbox_is_newest_first_with_own_read_times(app, town, factory):
    association = town["association"]
    now = utcnow()
    old = factory.circular(association, title="古い", publish_at=now - timedelta(days=3))
    new = factory.circular(association, title="新しい", publish_at=now - timedelta(hours=1))
    mid = factory.circular(association, title="中", publish_at=now - timedelta(days=1))
    factory.circular(association, title="予約", publish_at=now + timedelta(days=1))
    with app.test_request_context():
        reader = _user(town["in_one"])
        services.mark_read(user=reader, circular_id=mid.id)
        # Someone else's read does not count as mine.
        services.mark_read(user=_user(town["in_two"]), circular_id=new.id)
        items = services.inbox(user=reader, association_id=association.id)
        assert _ids(items) == [new.id, mid.id, old.id]
        assert [item.read_at is not None for item in items] == [False, True, False]
        assert services.unread_count(items) == 2


def test_acknowledge_records_read_and_ack_and_keeps_first_time(app, town, factory):
    circular = factory.circular(town["association"], ack_required=True)
    with app.test_request_context():
        reader = _user(town["in_one"])
        opened = services.mark_read(user=reader, circular_id=circular.id)
        read_at = opened.read_at
        assert opened.acknowledged_at is None
        first = services.acknowledge(user=reader, circular_id=circular.id)
        first_ack = first.acknowledged_at
        again = services.acknowledge(user=reader, circular_id=circular.id)
        services.mark_read(user=reader, circular_id=circular.id)
        assert first_ack is not None
        assert first_ack >= read_at
        assert again.acknowledged_at == first_ack
        assert again.read_at == read_at
        assert again.household_id == town["in_one"].household.id
        db.session.commit()
    assert count(app, Receipt) == 1


def test_acknowledge_without_opening_first_sets_both_times(app, town, factory):
    circular = factory.circular(town["association"], ack_required=True)
    with app.test_request_context():
        receipt = services.acknowledge(user=_user(town["in_two"]), circular_id=circular.id)
        assert receipt.read_at is not None
        assert receipt.acknowledged_at == receipt.read_at


# --- paper receipts ---------------------------------------------------------------------------

def test_block_leader_records_paper_receipt_for_household_in_own_block(app, town, factory):
    association = town["association"]
    block_leader = factory.member(association, role=MemberRole.BLOCK_LEADER, block=town["one"])
    paper = factory.household(association, block=town["one"], has_smartphone=False)
    circular = factory.circular(association, ack_required=True)
    with app.test_request_context():
        actor = _user(block_leader)
        receipt = receipts.record_paper_receipt(actor=actor, circular_id=circular.id,
                                                household_id=paper.id, acknowledge=True)
        again = receipts.record_paper_receipt(actor=actor, circular_id=circular.id,
                                              household_id=paper.id, acknowledge=True)
        assert receipt.user_id is None
        assert receipt.proxy_by_id == block_leader.user.id
        assert receipt.acknowledged_at is not None
        assert again.id == receipt.id
        assert again.acknowledged_at == receipt.acknowledged_at
        db.session.commit()
    assert count(app, Receipt) == 1
    assert count(app, AuditLog, AuditLog.action == "receipt.proxy") == 2


def test_block_leader_cannot_record_for_another_block(app, town, factory):
    association = town["association"]
    block_leader = factory.member(association, role=MemberRole.BLOCK_LEADER, block=town["one"])
    paper = factory.household(association, block=town["two"], has_smartphone=False)
    circular = factory.circular(association)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            receipts.record_paper_receipt(actor=_user(block_leader), circular_id=circular.id,
                                          household_id=paper.id, acknowledge=False)
        # The leader may record for any block.
        receipts.record_paper_receipt(actor=_user(town["leader"]), circular_id=circular.id,
                                      household_id=paper.id, acknowledge=False)


def test_paper_receipt_needs_matching_association_and_a_block_leader(app, town, factory):
    association = town["association"]
    circular = factory.circular(association)
    foreign_household = factory.household(factory.association())
    with app.test_request_context():
        with pytest.raises(NotFound):
            receipts.record_paper_receipt(actor=_user(town["leader"]), circular_id=circular.id,
                                          household_id=foreign_household.id, acknowledge=False)
        with pytest.raises(PermissionDenied):
            receipts.record_paper_receipt(actor=_user(town["in_one"]), circular_id=circular.id,
                                          household_id=town["in_one"].household.id,
                                          acknowledge=False)


def test_paper_receipt_only_for_households_in_the_audience(app, town, factory):
    association = town["association"]
    outside = factory.household(association, block=town["two"], has_smartphone=False)
    circular = factory.circular(association, blocks=[town["one"]])
    with app.test_request_context():
        with pytest.raises(NotFound):
            receipts.record_paper_receipt(actor=_user(town["leader"]), circular_id=circular.id,
                                          household_id=outside.id, acknowledge=True)
    assert count(app, Receipt) == 0


# --- status report and leader list ------------------------------------------------------------

def test_status_report_groups_blocks_households_members_with_totals(app, town, factory):
    association = town["association"]
    one, two = town["one"], town["two"]
    reader = town["in_one"]
    family = factory.member(association, household=reader.household)  # same household, unread
    paper = factory.household(association, block=two, name="紙の家", has_smartphone=False)
    blockless = factory.member(association, household=factory.household(association, block=None))
    circular = factory.circular(association, ack_required=True)
    with app.test_request_context():
        services.mark_read(user=_user(reader), circular_id=circular.id)
        receipts.record_paper_receipt(actor=_user(town["leader"]), circular_id=circular.id,
                                      household_id=paper.id, acknowledge=True)
        report = receipts.status_report(actor=_user(town["leader"]), circular_id=circular.id)

        assert [b.block.name if b.block else None for b in report.blocks] == ["1班", "2班", None]
        by_block = {b.block.id if b.block else None: b for b in report.blocks}
        assert {h.household.id for h in by_block[one.id].households} == {
            town["leader"].household.id, reader.household.id}
        assert {h.household.id for h in by_block[two.id].households} == {
            town["in_two"].household.id, paper.id}
        assert [h.household.id for h in by_block[None].households] == [blockless.household.id]
        reader_household = next(h for h in by_block[one.id].households
                                if h.household.id == reader.household.id)
        assert reader_household.read
        assert not reader_household.acknowledged
        assert {m.membership.user_id: m.read_at is not None
                for m in reader_household.members} == {reader.user.id: True,
                                                       family.user.id: False}
        paper_status = next(h for h in by_block[two.id].households if h.household.id == paper.id)
        assert paper_status.read
        assert paper_status.acknowledged
        assert paper_status.members == []
        assert (by_block[one.id].read, by_block[two.id].read, by_block[None].read) == (1, 1, 0)
        assert report.households == 5
        assert report.households_read == 2
        assert report.households_acknowledged == 1
        assert report.members == 5  # leader, reader, family, resident of 2班, blockless
        assert report.members_read == 1
        db.session.commit()
    assert count(app, AuditLog, AuditLog.action == "receipts.view") == 1


def test_status_report_for_chosen_blocks_counts_only_their_households(app, town, factory):
    circular = factory.circular(town["association"], blocks=[town["two"]])
    with app.test_request_context():
        report = receipts.status_report(actor=_user(town["leader"]), circular_id=circular.id)
        assert [b.block.id for b in report.blocks] == [town["two"].id]
        assert report.households == 1


def test_block_leader_sees_only_own_block_in_status_report(app, town, factory):
    association = town["association"]
    block_leader = factory.member(association, role=MemberRole.BLOCK_LEADER, block=town["two"])
    circular = factory.circular(association)
    with app.test_request_context():
        report = receipts.status_report(actor=_user(block_leader), circular_id=circular.id)
        assert [b.block.id for b in report.blocks] == [town["two"].id]
        households = {h.household.id for b in report.blocks for h in b.households}
        assert households == {town["in_two"].household.id, block_leader.household.id}


def test_residents_and_outsiders_get_no_status_report(app, town, factory):
    circular = factory.circular(town["association"])
    outsider = factory.member(factory.association(), role=MemberRole.LEADER)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            receipts.status_report(actor=_user(town["in_one"]), circular_id=circular.id)
        with pytest.raises(NotFound):
            receipts.status_report(actor=_user(outsider), circular_id=circular.id)
    assert count(app, AuditLog) == 0


def test_leader_list_counts_read_households_not_members(app, town, factory):
    association = town["association"]
    reader = town["in_one"]
    family = factory.member(association, household=reader.household)
    paper = factory.household(association, block=town["two"], has_smartphone=False)
    read_by_two = factory.circular(association, title="読まれた")
    unread = factory.circular(association, title="まだ")
    with app.test_request_context():
        services.mark_read(user=_user(reader), circular_id=read_by_two.id)
        services.mark_read(user=_user(family), circular_id=read_by_two.id)
        receipts.record_paper_receipt(actor=_user(town["leader"]), circular_id=read_by_two.id,
                                      household_id=paper.id, acknowledge=False)
        listing = services.leader_list(actor=_user(town["leader"]),
                                       association_id=association.id)
        counts = {item.circular.id: item.households_read for item in listing}
        assert counts == {read_by_two.id: 2, unread.id: 0}
        with pytest.raises(PermissionDenied):
            services.leader_list(actor=_user(town["in_two"]), association_id=association.id)

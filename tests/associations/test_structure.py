"""Leaders shape their association: blocks (班) and households (世帯); staff create associations."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chounaikai.associations import services
from chounaikai.errors import NotFound, PermissionDenied, ValidationFailed
from chounaikai.extensions import db
from chounaikai.models import (
    Association,
    AuditLog,
    Block,
    GlobalRole,
    Household,
    MemberRole,
    User,
)
from tests.helpers import form_post
from tests.support import client_for, count, html, load


@pytest.fixture
def world(factory):
    """One association with a leader, a resident, a block leader, and a foreign association."""
    association = factory.association(blocks=("1班", "2班"))
    leader = factory.member(association, role=MemberRole.LEADER)
    resident = factory.member(association)
    block_leader = factory.member(association, role=MemberRole.BLOCK_LEADER)
    other = factory.association(blocks=("A棟",))
    other_leader = factory.member(other, role=MemberRole.LEADER)
    return {"association": association, "leader": leader, "resident": resident,
            "block_leader": block_leader, "other": other, "other_leader": other_leader}


# --- associations (staff) -----------------------------------------------------------

def test_staff_create_association_through_dashboard(app, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    client = client_for(app, staff)

    response = form_post(client, "/staff/associations",
                         {"name": "成瀬台自治会", "district": "成瀬"})

    assert response.status_code == 302
    with app.app_context():
        created = db.session.scalar(select(Association).where(Association.name == "成瀬台自治会"))
        assert created is not None
        assert created.district == "成瀬"
        assert db.session.scalar(select(AuditLog.action).where(
            AuditLog.association_id == created.id)) == "association.create"


@pytest.mark.parametrize("kind", ["leader", "no membership"])
def test_non_staff_cannot_create_association(app, factory, kind):
    user = (factory.member(factory.association(), role=MemberRole.LEADER).user
            if kind == "leader" else factory.user())
    client = client_for(app, user)
    before = count(app, Association)

    response = form_post(client, "/staff/associations", {"name": "偽の町内会", "district": "x"})

    assert response.status_code == 403
    assert count(app, Association) == before


@pytest.mark.parametrize(("name", "district"), [("", "成瀬"), ("成瀬台自治会", "  ")])
def test_create_association_needs_name_and_district(app, factory, name, district):
    staff = factory.user(role=GlobalRole.STAFF)
    with app.test_request_context():
        actor = db.session.get(User, staff.id)
        with pytest.raises(ValidationFailed):
            services.create_association(actor=actor, name=name, district=district)
    assert count(app, Association) == 0


# --- blocks ---------------------------------------------------------------------------

def test_leader_creates_block(app, world):
    client = client_for(app, world["leader"].user)

    response = form_post(client, f"/a/{world['association'].id}/blocks", {"name": "3班"})

    assert response.status_code == 302
    assert count(app, Block, Block.association_id == world["association"].id,
                 Block.name == "3班") == 1


@pytest.mark.parametrize("name", ["", "   ", "1班"])
def test_block_needs_a_new_nonblank_name(app, world, name):
    client = client_for(app, world["leader"].user)
    before = count(app, Block)

    response = form_post(client, f"/a/{world['association'].id}/blocks", {"name": name})

    assert response.status_code == 400
    assert count(app, Block) == before


def test_leader_deletes_empty_block(app, world, factory):
    association = world["association"]
    with app.app_context():
        empty = Block(association_id=association.id, name="空の班")
        db.session.add(empty)
        db.session.commit()
        empty_id = empty.id
    client = client_for(app, world["leader"].user)

    response = form_post(client, f"/blocks/{empty_id}/delete")

    assert response.status_code == 302
    assert load(app, Block, empty_id) is None


def test_deleting_block_with_households_is_a_conflict(app, world):
    block = world["association"].blocks[0]
    assert count(app, Household, Household.block_id == block.id) > 0
    client = client_for(app, world["leader"].user)

    response = form_post(client, f"/blocks/{block.id}/delete")

    assert response.status_code == 409
    assert "先にこの班の世帯を別の班へ移してください。" in html(response)
    assert load(app, Block, block.id) is not None


@pytest.mark.parametrize("actor", ["resident", "block_leader"])
def test_members_below_leader_cannot_touch_blocks(app, world, actor):
    association = world["association"]
    client = client_for(app, world[actor].user)
    before = count(app, Block)

    created = form_post(client, f"/a/{association.id}/blocks", {"name": "勝手な班"})
    deleted = form_post(client, f"/blocks/{association.blocks[1].id}/delete")

    assert created.status_code == deleted.status_code == 403
    assert count(app, Block) == before


# --- households -----------------------------------------------------------------------

def test_leader_creates_paper_household_in_a_block(app, world):
    association = world["association"]
    block = association.blocks[1]
    client = client_for(app, world["leader"].user)

    response = form_post(client, f"/a/{association.id}/households",
                         {"name": "紙の田中家", "block_id": str(block.id), "paper": "1"})

    assert response.status_code == 302
    with app.app_context():
        household = db.session.scalar(select(Household).where(Household.name == "紙の田中家"))
        assert household.block_id == block.id
        assert household.association_id == association.id
        assert household.has_smartphone is False
        assert len(household.join_code) == 8


def test_household_in_a_block_of_another_association_is_refused(app, world):
    client = client_for(app, world["leader"].user)
    foreign_block = world["other"].blocks[0]
    before = count(app, Household)

    response = form_post(client, f"/a/{world['association'].id}/households",
                         {"name": "田中家", "block_id": str(foreign_block.id)})

    assert response.status_code == 400
    assert count(app, Household) == before


def test_leader_moves_household_between_blocks(app, world):
    household = world["resident"].household
    target = world["association"].blocks[1]
    assert household.block_id != target.id
    client = client_for(app, world["leader"].user)

    response = form_post(client, f"/households/{household.id}/block", {"block_id": str(target.id)})

    assert response.status_code == 302
    assert load(app, Household, household.id).block_id == target.id


def test_moving_household_to_no_block(app, world):
    household = world["resident"].household
    client = client_for(app, world["leader"].user)

    response = form_post(client, f"/households/{household.id}/block", {"block_id": ""})

    assert response.status_code == 302
    assert load(app, Household, household.id).block_id is None


def test_moving_household_to_block_of_another_association_is_refused(app, world):
    household = world["resident"].household
    client = client_for(app, world["leader"].user)

    response = form_post(client, f"/households/{household.id}/block",
                         {"block_id": str(world["other"].blocks[0].id)})

    assert response.status_code == 400
    assert load(app, Household, household.id).block_id == household.block_id


def test_leader_of_another_association_cannot_move_household(app, world):
    household = world["resident"].household
    client = client_for(app, world["other_leader"].user)

    response = form_post(client, f"/households/{household.id}/block",
                         {"block_id": str(world["association"].blocks[1].id)})

    assert response.status_code == 404
    assert load(app, Household, household.id).block_id == household.block_id


def test_services_raise_not_found_for_outsiders_and_forbidden_for_residents(app, world):
    association = world["association"]
    with app.test_request_context():
        outsider = db.session.get(User, world["other_leader"].user.id)
        resident = db.session.get(User, world["resident"].user.id)
        with pytest.raises(NotFound):
            services.create_block(actor=outsider, association_id=association.id, name="x")
        with pytest.raises(PermissionDenied):
            services.create_household(actor=resident, association_id=association.id,
                                      name="x", block_id=None, has_smartphone=False)
        with pytest.raises(NotFound):
            services.move_household(actor=resident, household_id=999_999, block_id=None)

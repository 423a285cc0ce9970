"""A small town for the safety-check tests: one association with two blocks, its
leader, a block leader of 1班, residents, a paper household, another association,
and a city staff member."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from chounaikai.models import (
    Association,
    Block,
    GlobalRole,
    Household,
    MemberRole,
    Membership,
    User,
)
from tests.factories import Factory


@dataclass
class Town:
    association: Association
    other: Association
    block1: Block
    block2: Block
    paper: Household  # 1班, no smartphone
    members: dict[str, Membership] = field(default_factory=dict)
    staff: User | None = None

    def user(self, name: str) -> User:
        return self.members[name].user

    def household(self, name: str) -> Household:
        return self.members[name].household


@pytest.fixture
def town(factory: Factory) -> Town:
    association = factory.association(name="原町田一丁目町内会", blocks=("1班", "2班"))
    other = factory.association(name="森野町内会", district="森野")
    block1, block2 = association.blocks
    paper = factory.household(association, block=block1, name="紙野家", has_smartphone=False)
    result = Town(association, other, block1, block2, paper)
    for name, role, block, household_name in (
        ("leader", MemberRole.LEADER, block2, "会長家"),
        ("block_leader", MemberRole.BLOCK_LEADER, block1, "班長家"),
        ("resident", MemberRole.RESIDENT, block1, "山田家"),
        ("resident2", MemberRole.RESIDENT, block2, "佐藤家"),
        ("other_leader", MemberRole.LEADER, None, "森野家"),
    ):
        assoc = other if name == "other_leader" else association
        household = factory.household(assoc, block=block or assoc.blocks[0], name=household_name)
        result.members[name] = factory.member(assoc, role=role, household=household)
    # A second member of the resident's household: any member may answer for it.
    result.members["spouse"] = factory.member(association, household=result.household("resident"))
    result.staff = factory.user(role=GlobalRole.STAFF)
    return result

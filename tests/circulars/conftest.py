"""Fixtures shared by the circular tests."""

from __future__ import annotations

import pytest

from chounaikai.models import MemberRole


@pytest.fixture
def town(factory):
    """An association with blocks 1班 and 2班, a leader and one resident in each block."""
    association = factory.association(blocks=("1班", "2班"))
    one, two = association.blocks
    return {
        "association": association, "one": one, "two": two,
        "leader": factory.member(association, role=MemberRole.LEADER, block=one),
        "in_one": factory.member(association, block=one),
        "in_two": factory.member(association, block=two),
    }

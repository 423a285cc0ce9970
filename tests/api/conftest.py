"""Fixtures for the JSON API: a small cast with bearer tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from chounaikai.models import Association, Block, GlobalRole, MemberRole, Membership, User
from tests.factories import Factory


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Cast:
    """Association A with a leader, a block leader (1班) and residents in 1班 and 2班;
    association B with its own leader; a city staff member; a token for each."""

    association: Association
    other: Association
    block1: Block
    block2: Block
    members: dict[str, Membership] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return bearer(self.tokens[who]) if who != "anonymous" else {}


@pytest.fixture
def cast(factory: Factory) -> Cast:
    association = factory.association(name="原町田一丁目町内会")
    other = factory.association(name="森野町内会")
    block1, block2 = association.blocks
    result = Cast(association, other, block1, block2)
    for name, assoc, role, block in (
        ("leader", association, MemberRole.LEADER, block1),
        ("block_leader", association, MemberRole.BLOCK_LEADER, block1),
        ("resident", association, MemberRole.RESIDENT, block1),
        ("resident2", association, MemberRole.RESIDENT, block2),
        ("outsider", other, MemberRole.LEADER, other.blocks[0]),
    ):
        membership = factory.member(assoc, role=role, block=block)
        result.members[name] = membership
        result.users[name] = membership.user
    result.users["staff"] = factory.user(role=GlobalRole.STAFF)
    result.tokens = {name: factory.token(user) for name, user in result.users.items()}
    return result


@pytest.fixture
def call(client):
    """``call(method, path, who_token=None, **kwargs)``: a request with a bearer token."""

    def _call(method: str, path: str, token: str | None = None, **kwargs: Any):
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers.update(bearer(token))
        return client.open(path, method=method, headers=headers, **kwargs)

    return _call

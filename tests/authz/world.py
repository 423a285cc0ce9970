"""The fixed cast for the authorization matrix: two associations and seven actors.

Association A is "own" for the A-side actors, B is "foreign"; the B-side
actors (resident_other, leader_other) see it the other way round.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from chounaikai.models import (
    Association,
    Attachment,
    Circular,
    GlobalRole,
    Household,
    Invite,
    MemberRole,
    Membership,
    User,
)
from tests.factories import Factory

ACTORS = ("anonymous", "resident", "resident_other", "block_leader", "leader", "leader_other",
          "staff")

# The actor's relation to an object in association A or B.
RELATIONS = {
    "anonymous": {"A": "anon", "B": "anon"},
    "resident": {"A": "resident", "B": "outsider"},
    "resident_other": {"A": "outsider", "B": "resident"},
    "block_leader": {"A": "block_leader", "B": "outsider"},
    "leader": {"A": "leader", "B": "outsider"},
    "leader_other": {"A": "outsider", "B": "leader"},
    "staff": {"A": "staff", "B": "staff"},
}


@dataclass
class Side:
    """Objects of one association."""

    association: Association
    circular: Circular
    attachment: Attachment
    household: Household  # in the block leader's block (1班)
    invite: Invite
    members: dict[str, Membership] = field(default_factory=dict)


@dataclass
class World:
    factory: Factory
    upload_folder: Path
    users: dict[str, User | None]
    sides: dict[str, Side]
    extras: dict[str, object] = field(default_factory=dict)

    def once(self, key: str, build):
        """``build()`` the first time ``key`` is asked for, then the same object."""
        if key not in self.extras:
            self.extras[key] = build()
        return self.extras[key]

    def fresh_member(self, side: str) -> Membership:
        """A new resident to change or remove, so destructive cases never collide."""
        return self.factory.member(self.sides[side].association)

    def fresh_block_id(self, side: str) -> int:
        from chounaikai.models import Block

        block = Block(association_id=self.sides[side].association.id,
                      name=f"削除用{secrets.token_hex(3)}")
        self.factory._save(block)
        return block.id


def _side(factory: Factory, upload_folder: Path, name: str) -> Side:
    association = factory.association(name=f"町内会{name}", blocks=("1班", "2班"))
    block1, block2 = association.blocks
    circular = factory.circular(association, title=f"回覧{name}")
    stored = secrets.token_hex(16)
    (upload_folder / stored).write_bytes(b"%PDF-1.4\n%test\n")
    attachment = Attachment(circular_id=circular.id, original_name="お知らせ.pdf",
                            stored_name=stored, content_type="application/pdf", size=15)
    factory._save(attachment)
    household = factory.household(association, block=block1)
    side = Side(association, circular, attachment, household, factory.invite(association))
    side.members["resident"] = factory.member(association, block=block1)
    side.members["block_leader"] = factory.member(association, role=MemberRole.BLOCK_LEADER,
                                                  block=block1)
    side.members["leader"] = factory.member(association, role=MemberRole.LEADER, block=block2)
    return side


def build_world(factory: Factory, upload_folder: Path) -> World:
    a = _side(factory, upload_folder, "A")
    b = _side(factory, upload_folder, "B")
    users: dict[str, User | None] = {
        "anonymous": None,
        "resident": a.members["resident"].user,
        "resident_other": b.members["resident"].user,
        "block_leader": a.members["block_leader"].user,
        "leader": a.members["leader"].user,
        "leader_other": b.members["leader"].user,
        "staff": factory.user(role=GlobalRole.STAFF),
    }
    return World(factory, upload_folder, users, {"A": a, "B": b})

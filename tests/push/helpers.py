"""Builders for push tests: many members at once, publishing as a leader does, reading rows."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from chounaikai.circulars.services import CircularInput, create_circular
from chounaikai.codes import new_code
from chounaikai.extensions import db
from chounaikai.models import (
    GlobalRole,
    Household,
    MemberRole,
    Membership,
    PushDelivery,
    User,
)
from tests.factories import password_hash


def bulk_members(engine: Engine, association, count: int, *, block=None) -> list[int]:
    """``count`` residents (two per household) in ``block`` (default: the first); user ids."""
    tag = secrets.token_hex(3)
    block = block if block is not None else association.blocks[0]
    with Session(engine) as session:
        households = list(session.scalars(
            insert(Household).returning(Household.id, sort_by_parameter_order=True),
            [{"association_id": association.id, "block_id": block.id, "name": f"世帯{tag}-{i}",
              "join_code": new_code(12), "has_smartphone": True}
             for i in range((count + 1) // 2)]))
        users = list(session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [{"login_id": f"p{tag}-{i}", "display_name": f"住民{i}",
              "password_hash": password_hash(), "global_role": GlobalRole.NONE,
              "session_version": 1} for i in range(count)]))
        session.execute(insert(Membership), [
            {"user_id": uid, "association_id": association.id,
             "household_id": households[i // 2], "role": MemberRole.RESIDENT}
            for i, uid in enumerate(users)])
        session.commit()
    return users


def publish(app: Flask, leader_id: int, association_id: int, title: str = "防災訓練のお知らせ",
            **fields: Any) -> int:
    """A leader publishes through the real service; the request's transaction commits."""
    with app.test_request_context("/circulars/new", method="POST"):
        actor = db.session.get(User, leader_id)
        circular = create_circular(actor=actor, association_id=association_id,
                                   data=CircularInput(title=title, body_md="本文です。", **fields))
        circular_id = circular.id
        db.session.commit()
    return circular_id


def set_user(app: Flask, user_id: int, **values: Any) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        for key, value in values.items():
            setattr(user, key, value)
        db.session.commit()


def deliveries(app: Flask, *where: Any) -> list[Any]:
    """Delivery rows (as plain rows) matching ``where``."""
    with app.app_context():
        return list(db.session.execute(select(PushDelivery.__table__).where(*where)))


def at_tokyo(day: datetime, hour: int, minute: int = 0) -> datetime:
    """``day`` (aware) at hour:minute Asia/Tokyo, as UTC."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    local = day.astimezone(tokyo).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return local.astimezone(UTC)

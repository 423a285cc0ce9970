"""Idempotent demo data: two associations in Machida, ~30 households, half-read circulars."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from .auth.passwords import hash_password
from .circulars.receipts import upsert_receipt
from .circulars.rendering import render_markdown
from .codes import new_code
from .extensions import db
from .models import (
    Association,
    Block,
    Circular,
    Congestion,
    GlobalRole,
    Household,
    MemberRole,
    Membership,
    Shelter,
    User,
    utcnow,
)

DEMO_PASSWORD = "machida-demo"  # noqa: S105 - printed on purpose: demo accounts only
SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
            "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "清水", "山崎",
            "阿部", "森", "池田", "橋本", "石川", "前田", "小川", "藤田", "岡田", "後藤"]


@dataclass(frozen=True)
class DemoAssociation:
    key: str
    name: str
    district: str
    blocks: tuple[str, ...]
    households: int


ASSOCIATIONS = (
    DemoAssociation("haramachida", "原町田一丁目町内会", "原町田", ("1班", "2班", "3班"), 18),
    DemoAssociation("tsurukawa", "鶴川団地自治会", "鶴川", ("A棟", "B棟"), 12),
)

CIRCULARS = (
    ("秋の防災訓練のお知らせ",
     "11月30日（日）9時から、**町田第一小学校**の校庭で防災訓練を行います。\n\n"
     "- 持ち物: 飲み物、タオル\n- 雨天の場合は中止します\n\n"
     "参加できる方は下の確認ボタンを押してください。",
     True),
    ("ごみ集積所の清掃当番",
     "12月の清掃当番は2班です。第1・第3土曜日の8時からお願いします。", False),
    ("年末夜警への協力のお願い",
     "12月27日から30日まで、20時から夜警を行います。ご協力をお願いします。", True),
)


def _user(login_id: str, name: str, role: GlobalRole = GlobalRole.NONE) -> User:
    user = db.session.scalar(select(User).where(User.login_id == login_id))
    if user is None:
        user = User(login_id=login_id, display_name=name, global_role=role,
                    password_hash=hash_password(DEMO_PASSWORD))
        db.session.add(user)
        db.session.flush()
    return user


def _seed_association(spec: DemoAssociation, rng: random.Random) -> None:
    association = Association(name=spec.name, district=spec.district)
    blocks = [Block(name=name) for name in spec.blocks]
    association.blocks = blocks
    db.session.add(association)
    db.session.flush()
    for index in range(spec.households):
        surname = SURNAMES[index % len(SURNAMES)]
        block = blocks[index % len(blocks)]
        paper = index % 9 == 8  # a few households without smartphones
        household = Household(association_id=association.id, block=block, name=f"{surname}家",
                              join_code=new_code(8), has_smartphone=not paper)
        db.session.add(household)
        if paper:
            continue
        if index == 0:
            role, login = MemberRole.LEADER, f"{spec.key}-leader"
        elif index < len(blocks) + 1:
            role, login = MemberRole.BLOCK_LEADER, f"{spec.key}-hancho{index}"
        else:
            role, login = MemberRole.RESIDENT, f"{spec.key}-{index:02d}"
        user = _user(login, f"{surname} {'太郎花子一郎'[index % 5:index % 5 + 2]}")
        db.session.add(Membership(user=user, association=association, household=household,
                                  role=role))
    db.session.flush()
    _seed_circulars(association, rng)


def _seed_circulars(association: Association, rng: random.Random) -> None:
    now = utcnow()
    members = list(db.session.scalars(select(Membership).where(
        Membership.association_id == association.id)))
    for age_days, (title, body, ack) in enumerate(CIRCULARS):
        circular = Circular(association_id=association.id, title=title, body_md=body,
                            body_html=render_markdown(body), ack_required=ack,
                            publish_at=now - timedelta(days=age_days * 3 + 1),
                            deadline_at=now + timedelta(days=7) if ack else None)
        db.session.add(circular)
        db.session.flush()
        # About half the members have read each circular; leaders have read all.
        for membership in members:
            if membership.role == MemberRole.LEADER or rng.random() < 0.5:
                upsert_receipt(circular_id=circular.id, user_id=membership.user_id,
                               household_id=membership.household_id,
                               acknowledge=ack and rng.random() < 0.6)


# The city's real shelters (GSI open data, copied into the repository for the tests).
SHELTER_FILES = sorted((Path(__file__).resolve().parent.parent / "tests" / "fixtures"
                        / "shelters").glob("gsi-machida-*.geojson"))
OPEN_SHELTERS = (("鶴川", Congestion.SOMEWHAT, 120), ("原町田", Congestion.EMPTY, 35))


def _seed_shelters() -> None:
    """Machida's shelters, two of them open, the 原町田 leader as one's contact."""
    if not SHELTER_FILES or db.session.scalar(select(Shelter.id).limit(1)):
        return
    from .shelters.importers import import_files

    import_files(SHELTER_FILES)
    leader = db.session.scalar(select(User).where(User.login_id == "haramachida-leader"))
    for district, congestion, evacuees in OPEN_SHELTERS:
        shelter = db.session.scalar(select(Shelter).where(
            Shelter.district.like(f"{district}%"), Shelter.is_evacuation_shelter.is_(True))
            .order_by(Shelter.id).limit(1))
        if shelter is None:
            continue
        shelter.is_open, shelter.congestion, shelter.evacuees = True, congestion, evacuees
        shelter.status_updated_at = utcnow()
        if district == "原町田" and leader is not None:
            shelter.contacts.append(leader)


def seed_demo() -> list[tuple[str, str]]:
    """Create the demo once; return (login, description) pairs to print."""
    rng = random.Random(2022)  # noqa: S311 - demo data, not security
    logins: list[tuple[str, str]] = []
    _user("staff", "町田市 防災課", GlobalRole.STAFF)
    logins.append(("staff", "city staff (市職員)"))
    for spec in ASSOCIATIONS:
        if not db.session.scalar(select(Association.id).where(Association.name == spec.name)):
            _seed_association(spec, rng)
        logins.extend(_demo_logins(spec))
    db.session.flush()
    _seed_shelters()
    return logins


def _demo_logins(spec: DemoAssociation) -> list[tuple[str, str]]:
    first_resident = len(spec.blocks) + 1
    return [(f"{spec.key}-leader", f"{spec.name} leader (会長)"),
            (f"{spec.key}-hancho1", f"{spec.name} block leader (班長)"),
            (f"{spec.key}-{first_resident:02d}", f"{spec.name} resident (住民)")]

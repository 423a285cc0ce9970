"""Shelter use cases: live status (staff and contacts), contacts, 福祉避難所, listings.

Who may change a shelter's status: city staff, and the users staff named as
its contacts (町内会の会長・役員 who run the shelter).  Every change writes a
:class:`ShelterStatusUpdate` row (who, when, the new state) and an audit entry.
Services flush, never commit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select

from .. import audit
from ..alerts.templates import HAZARD_NAMES
from ..errors import NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..models import (
    Congestion,
    MemberRole,
    Membership,
    Shelter,
    ShelterStatusUpdate,
    User,
    shelter_contacts,
    utcnow,
)
from ..permissions import require_staff
from .records import city_of

MAX_EVACUEES = 100_000
MAX_STEP = 1_000
HISTORY_LENGTH = 20
MAX_QUERY = 100

CONGESTION_LABELS = {
    Congestion.EMPTY: _l("空いています"),
    Congestion.SOMEWHAT: _l("やや混雑"),
    Congestion.CROWDED: _l("混雑"),
    Congestion.FULL: _l("満"),
}
# Never colour alone: each step also has its own symbol.
CONGESTION_SYMBOLS = {Congestion.EMPTY: "○", Congestion.SOMEWHAT: "△",
                      Congestion.CROWDED: "▲", Congestion.FULL: "✕"}
# The same words as the alerts use, from one place.
HAZARD_LABELS = HAZARD_NAMES


@dataclass(frozen=True)
class StatusChange:
    """What one tap (or one API call) changes; ``None`` keeps the current value.

    ``evacuees_delta`` is applied to the stored count, not to what the page
    showed, so two leaders counting arrivals at once both count.
    """

    is_open: bool | None = None
    congestion: Congestion | None = None
    evacuees: int | None = None
    evacuees_delta: int = 0


@dataclass(frozen=True)
class HistoryEntry:
    update: ShelterStatusUpdate
    updated_by: str | None  # display name; None once the account is gone


# -- reading ------------------------------------------------------------------------------

def get_shelter(shelter_id: int) -> Shelter:
    """The shelter or NotFound (shelters are public information)."""
    shelter = db.session.get(Shelter, shelter_id)
    if shelter is None:
        raise NotFound()
    return shelter


def is_contact(user: User, shelter_id: int) -> bool:
    """Read fresh, so a contact removed by staff loses access at once."""
    return bool(db.session.scalar(select(exists().where(
        shelter_contacts.c.shelter_id == shelter_id, shelter_contacts.c.user_id == user.id))))


def can_update_status(user: User | None, shelter: Shelter) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff) or is_contact(user, shelter.id)


def require_status_editor(user: User, shelter: Shelter) -> None:
    if not can_update_status(user, shelter):
        raise PermissionDenied()


def history(shelter_id: int, limit: int = HISTORY_LENGTH) -> list[HistoryEntry]:
    """The newest status changes first, with who made them."""
    rows = db.session.execute(
        select(ShelterStatusUpdate, User.display_name)
        .outerjoin(User, User.id == ShelterStatusUpdate.updated_by_id)
        .where(ShelterStatusUpdate.shelter_id == shelter_id)
        .order_by(ShelterStatusUpdate.created_at.desc(), ShelterStatusUpdate.id.desc())
        .limit(limit)).all()
    return [HistoryEntry(update, name) for update, name in rows]


def status_page(*, actor: User, shelter_id: int) -> tuple[Shelter, list[HistoryEntry]]:
    """The shelter and its last changes, for staff and its contacts."""
    shelter = get_shelter(shelter_id)
    require_status_editor(actor, shelter)
    return shelter, history(shelter.id)


def my_shelters(*, actor: User) -> list[Shelter]:
    """Shelters the user is a contact of."""
    return list(db.session.scalars(
        select(Shelter).join(shelter_contacts, shelter_contacts.c.shelter_id == Shelter.id)
        .where(shelter_contacts.c.user_id == actor.id).order_by(Shelter.name)))


def public_shelters(*, open_only: bool = False, district: str | None = None,
                    near: tuple[float, float] | None = None) -> list[Shelter]:
    """Every shelter (public information): nearest first when ``near`` is given,
    else by district then name, as the portal lists them without a location."""
    query = select(Shelter)
    if open_only:
        query = query.where(Shelter.is_open.is_(True))
    if district:
        query = query.where(Shelter.district == district)
    shelters = list(db.session.scalars(query))
    if near is not None:
        far = float("inf")
        return sorted(shelters, key=lambda s: (
            distance_km(near, (s.latitude, s.longitude))
            if s.latitude is not None and s.longitude is not None else far, s.name))
    return sorted(shelters, key=lambda s: (s.district is None, s.district or "", s.name, s.id))


def distance_km(a: tuple[float, float], b: tuple[float | None, float | None]) -> float:
    """Great-circle distance (haversine): plenty for "which shelter is nearest"."""
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = math.radians(b[0] or 0.0), math.radians(b[1] or 0.0)
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def source_of(shelter: Shelter) -> str:
    """``gsi`` or ``da``: which kind of file the site came from (``other`` otherwise)."""
    prefix = shelter.source_key.split(":", 1)[0]
    return prefix if prefix in ("gsi", "da") else "other"


def attribution(shelter: Shelter) -> str:
    """The credit the open data's licence asks for, shown wherever the site is shown."""
    if source_of(shelter) == "gsi":
        return _("出典: 国土地理院「指定緊急避難場所・指定避難所データ」")
    city = city_of(shelter.address)
    if city:
        return _("出典: %(city)sのオープンデータ", city=city)
    return _("出典: 自治体のオープンデータ")


# -- status -------------------------------------------------------------------------------

def _check(change: StatusChange) -> None:
    errors: dict[str, str] = {}
    if change.evacuees is not None and not 0 <= change.evacuees <= MAX_EVACUEES:
        errors["evacuees"] = _("0から%(max)dまでの数字にしてください。", max=MAX_EVACUEES)
    if not -MAX_STEP <= change.evacuees_delta <= MAX_STEP:
        errors["evacuees"] = _("一度に増やせるのは%(max)d人までです。", max=MAX_STEP)
    if (change.is_open is None and change.congestion is None and change.evacuees is None
            and not change.evacuees_delta and not errors):
        errors["status"] = _("変える内容を選んでください。")
    if errors:
        raise ValidationFailed(fields=errors)


def update_status(*, actor: User, shelter_id: int, change: StatusChange) -> Shelter:
    """Save a status change and its history row.

    Raises NotFound, PermissionDenied (not staff, not a contact) or ValidationFailed.
    """
    shelter = get_shelter(shelter_id)
    require_status_editor(actor, shelter)
    _check(change)
    # Lock the row (PostgreSQL; SQLite already holds its write lock) so a delta
    # from two phones at once is applied to the latest count.
    shelter = db.session.scalars(
        select(Shelter).where(Shelter.id == shelter_id).with_for_update()
        .execution_options(populate_existing=True)).one()
    if change.is_open is not None:
        shelter.is_open = change.is_open
    if change.congestion is not None:
        shelter.congestion = change.congestion
    if change.evacuees is not None:
        shelter.evacuees = change.evacuees
    if change.evacuees_delta:
        shelter.evacuees = max(0, min(MAX_EVACUEES, shelter.evacuees + change.evacuees_delta))
    shelter.status_updated_at = now = utcnow()
    db.session.add(ShelterStatusUpdate(
        shelter_id=shelter.id, is_open=shelter.is_open, congestion=shelter.congestion,
        evacuees=shelter.evacuees, updated_by_id=actor.id, created_at=now))
    audit.record(actor=actor, action="shelters.status", target_type="shelter",
                 target_id=shelter.id,
                 detail={"is_open": shelter.is_open, "congestion": shelter.congestion.value,
                         "evacuees": shelter.evacuees})
    db.session.flush()
    return shelter


# -- staff --------------------------------------------------------------------------------

def staff_list(*, actor: User, query: str = "") -> list[Shelter]:
    """Every shelter for staff, by district and name; ``query`` matches name, district
    or address."""
    require_staff(actor)
    statement = select(Shelter)
    words = query.strip()[:MAX_QUERY]
    if words:
        statement = statement.where(or_(Shelter.name.contains(words, autoescape=True),
                                        Shelter.district.contains(words, autoescape=True),
                                        Shelter.address.contains(words, autoescape=True)))
    return list(db.session.scalars(statement.order_by(
        Shelter.district.is_(None), Shelter.district, Shelter.name, Shelter.id)))


def staff_detail(*, actor: User, shelter_id: int) -> Shelter:
    """One shelter with its contacts (names and login ids: the view is audit-logged)."""
    require_staff(actor)
    shelter = get_shelter(shelter_id)
    audit.record(actor=actor, action="shelters.view_contacts", target_type="shelter",
                 target_id=shelter.id)
    return shelter


def _is_leader(user: User) -> bool:
    return bool(db.session.scalar(select(exists().where(
        Membership.user_id == user.id, Membership.role == MemberRole.LEADER))))


def add_contact(*, actor: User, shelter_id: int, login_id: str) -> User:
    """Name a leader (会長・役員 of an association) as the shelter's contact.

    Raises PermissionDenied, NotFound or ValidationFailed (unknown login id, not a leader).
    """
    require_staff(actor)
    shelter = get_shelter(shelter_id)
    login_id = login_id.strip()
    user = db.session.scalar(select(User).where(User.login_id == login_id)) if login_id \
        else None
    if user is None:
        raise ValidationFailed(fields={"login_id": _("このログインIDの人はいません。")})
    if not _is_leader(user):
        raise ValidationFailed(fields={"login_id": _(
            "担当者にできるのは町内会の会長・役員だけです。")})
    if not is_contact(user, shelter.id):
        shelter.contacts.append(user)
        audit.record(actor=actor, action="shelters.add_contact", target_type="shelter",
                     target_id=shelter.id, detail={"user_id": user.id})
        db.session.flush()
    return user


def remove_contact(*, actor: User, shelter_id: int, user_id: int) -> None:
    """Remove a contact; removing someone who is not one does nothing."""
    require_staff(actor)
    shelter = get_shelter(shelter_id)
    result = db.session.execute(shelter_contacts.delete().where(
        shelter_contacts.c.shelter_id == shelter.id, shelter_contacts.c.user_id == user_id))
    if result.rowcount:
        db.session.expire(shelter, ["contacts"])
        audit.record(actor=actor, action="shelters.remove_contact", target_type="shelter",
                     target_id=shelter.id, detail={"user_id": user_id})


def set_welfare(*, actor: User, shelter_id: int, welfare: bool) -> Shelter:
    """Mark or unmark a 福祉避難所 (the data has no column for it; staff decide)."""
    require_staff(actor)
    shelter = get_shelter(shelter_id)
    if shelter.welfare != welfare:
        shelter.welfare = welfare
        audit.record(actor=actor, action="shelters.welfare", target_type="shelter",
                     target_id=shelter.id, detail={"welfare": welfare})
        db.session.flush()
    return shelter

"""City staff views: counts per association, never who read what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..models import Association, Circular, Household, Membership, Receipt, User, utcnow
from ..permissions import require_staff


@dataclass(frozen=True)
class AssociationCounts:
    association: Association
    households: int
    members: int
    circulars: int
    household_reads: int  # (circular, household) pairs read, summed over circulars


def association_counts(*, actor: User, now: datetime | None = None) -> list[AssociationCounts]:
    """Aggregates for every association.  The view is audit-logged."""
    require_staff(actor)
    now = now or utcnow()

    def count(model, *where):
        return (select(func.count()).select_from(model)
                .where(model.association_id == Association.id, *where).scalar_subquery())

    pairs = (select(Circular.association_id.label("association_id"), Receipt.circular_id,
                    Receipt.household_id)
             .join(Circular, Circular.id == Receipt.circular_id).distinct().subquery())
    reads = dict(db.session.execute(
        select(pairs.c.association_id, func.count()).group_by(pairs.c.association_id)).all())
    rows = db.session.execute(
        select(Association, count(Household), count(Membership),
               count(Circular, Circular.publish_at <= now))
        .order_by(Association.district, Association.name)).all()
    audit.record(actor=actor, action="staff.counts")
    return [AssociationCounts(a, h, m, c, reads.get(a.id, 0)) for a, h, m, c in rows]

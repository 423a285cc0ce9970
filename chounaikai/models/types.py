"""Column types shared by the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Ids are 32-bit integer columns: a larger id cannot exist and must not reach the database.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    """Current time, timezone-aware, in UTC (pass the function, not its result, as a default)."""
    return datetime.now(UTC)


def enum_column(cls: type[enum.Enum]) -> Enum:
    """An enum stored as its values in a VARCHAR (no native type to migrate on PostgreSQL)."""
    return Enum(cls, native_enum=False, length=16,
                values_callable=lambda members: [m.value for m in members])


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC on every backend.

    SQLite has no time zones, so values are normalised to UTC before they are
    written and come back aware; comparisons then behave the same on SQLite and
    PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime in UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

"""People who log in, and their API tokens."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:
    from .association import Membership


class GlobalRole(enum.StrEnum):
    """City-wide roles; association roles live on :class:`Membership`."""

    NONE = "none"
    STAFF = "staff"  # 市職員: aggregates only, never residents' private data
    ADMIN = "admin"


class User(UserMixin, db.Model):
    """A person with a login.  Contact data is never shown to other residents."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login_id: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    global_role: Mapped[GlobalRole] = mapped_column(enum_column(GlobalRole),
                                                    default=GlobalRole.NONE)
    # Bumped to end every session of this user at once (removal, password change).
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    locale: Mapped[str | None] = mapped_column(String(16))
    large_text: Mapped[bool] = mapped_column(Boolean, default=False)
    # Furigana over Japanese content; None means "automatic": on for Easy Japanese readers.
    furigana: Mapped[bool | None] = mapped_column(Boolean)
    # Quiet hours as minutes after midnight in Asia/Tokyo (None: no quiet hours).
    # Circular pushes wait until the end; emergencies never wait.
    quiet_start_minute: Mapped[int | None] = mapped_column(Integer)
    quiet_end_minute: Mapped[int | None] = mapped_column(Integer)
    # One morning summary instead of a push per circular (emergencies still ring).
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def get_id(self) -> str:
        """Flask-Login session id; embeds the version so old sessions stop matching."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_staff(self) -> bool:
        """City staff or administrator."""
        return self.global_role in (GlobalRole.STAFF, GlobalRole.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.global_role == GlobalRole.ADMIN


class ApiToken(db.Model):
    """A bearer token for non-browser clients; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Tokens die with the sessions when the user's session_version is bumped.
    session_version: Mapped[int] = mapped_column(Integer)

    user: Mapped[User] = relationship()

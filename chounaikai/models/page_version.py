"""Versions of what members' cached pages show (see chounaikai/pageversions.py)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class PageVersion(db.Model):
    """One scope's version: ``*`` (everything) or ``u:<user id>`` (one member's own rows).

    A version is a random number, not a counter, so an entry cached under an old
    version can never match again, even after the table has been emptied.
    """

    __tablename__ = "page_versions"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)

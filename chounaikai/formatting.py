"""Template filters: dates in Asia/Tokyo, formatted for the reader's locale."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import format_datetime


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """Show an aware UTC datetime in Asia/Tokyo in the current locale."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["local_dt"] = local_datetime

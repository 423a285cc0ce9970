"""Template filters: dates in Asia/Tokyo, formatted for the reader's locale."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import format_datetime

from .config import TIMEZONE

_TOKYO = ZoneInfo(TIMEZONE)


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """Show an aware UTC datetime in Asia/Tokyo in the current locale."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def datetime_input_value(value: datetime | None) -> str:
    """The value for an ``<input type=datetime-local>``: Tokyo wall-clock time."""
    if value is None:
        return ""
    return value.astimezone(_TOKYO).strftime("%Y-%m-%dT%H:%M")


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["local_dt"] = local_datetime
    app.jinja_env.filters["input_dt"] = datetime_input_value

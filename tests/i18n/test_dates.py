"""Dates shown in Asia/Tokyo, in the reader's language (and remembered per language only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from chounaikai.formatting import local_datetime
from chounaikai.i18n import force_language

MOMENT = datetime(2026, 11, 26, 3, 10, tzinfo=UTC)  # 12:10 in Tokyo


def test_dates_are_tokyo_time_in_each_readers_language(app):
    with app.test_request_context("/"):
        shown = {}
        for code in ("ja", "en", "ko", "ja", "en"):  # repeats come from memory
            with force_language(code):
                text = local_datetime(MOMENT, "short")
                assert shown.setdefault(code, text) == text
    assert "12:10" in shown["ja"]
    assert "2026/11/26" in shown["ja"]
    assert "12:10" in shown["en"]
    assert "11/26/26" in shown["en"]
    assert len(set(shown.values())) == 3


def test_the_same_moment_in_another_zone_is_the_same_date(app):
    same = MOMENT.astimezone(timezone(timedelta(hours=-5)))
    with app.test_request_context("/"), force_language("ja"):
        assert local_datetime(same, "short") == local_datetime(MOMENT, "short")
        assert local_datetime(MOMENT + timedelta(minutes=1), "short").endswith("12:11")
        assert local_datetime(None) == ""

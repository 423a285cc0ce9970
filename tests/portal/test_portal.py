"""The public disaster portal: alerts in force, shelters' state, light, no login, no cookies."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime

from chounaikai import pagecache as cache
from chounaikai.models import AlertKind, Congestion, GlobalRole
from tests.alerts.helpers import draft, issue
from tests.support import html

STATIC = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def test_visitors_see_alerts_and_shelters_without_logging_in(app, client, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    issue(app, staff.id, draft(AlertKind.LEVEL4))
    factory.shelter("鶴川第一小学校", is_open=True, congestion=Congestion.CROWDED, evacuees=312,
                    capacity=400, welfare=True,
                    status_updated_at=datetime(2026, 11, 26, 3, 10, tzinfo=UTC))
    factory.shelter("つくし野中学校", is_open=False)
    response = client.get("/portal")
    page = html(response)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers  # nothing personal: cacheable
    assert "csrf" not in page.lower()
    assert "【警戒レベル4】避難指示" in page
    assert "alert-level-4" in page
    assert page.index("鶴川第一小学校") < page.index("つくし野中学校")  # open first
    assert "▲</span> 混雑" in page  # a symbol with the word, never colour alone
    assert "避難している人: 312 人" in page
    assert "定員 400 人" in page
    assert "洪水" in page
    assert "地震" in page
    assert "要配慮者向け（福祉避難所）" in page
    assert "更新: 2026/11/26 12:10" in page  # Asia/Tokyo
    assert "出典: 国土地理院" in page


def test_a_cancelled_alert_leaves_the_portal(app, client, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    first = issue(app, staff.id, draft(AlertKind.LEVEL5))
    assert "【警戒レベル5】緊急安全確保" in html(client.get("/portal"))
    issue(app, staff.id, cancel_of=first)
    page = html(client.get("/portal"))
    assert "緊急安全確保" not in page
    assert "いま発表中の緊急情報はありません。" in page


def test_an_update_replaces_the_alert(app, client, factory):
    staff = factory.user(role=GlobalRole.STAFF)
    first = issue(app, staff.id, draft(AlertKind.LEVEL3))
    issue(app, staff.id, draft(AlertKind.LEVEL4), update_of=first)
    page = html(client.get("/portal"))
    assert "【警戒レベル4】避難指示" in page
    assert "高齢者等避難" not in page


def _bytes(client, path: str) -> int:
    with client.get(path) as response:
        return len(response.data)


def test_first_load_is_well_under_100_kb(app, client, factory):
    """Bytes on the wire: the page (gzip, as every phone browser asks) plus every
    stylesheet and script it loads (uncompressed), with 150 shelters listed."""
    staff = factory.user(role=GlobalRole.STAFF)
    issue(app, staff.id, draft(AlertKind.LEVEL4))
    for n in range(150):
        factory.shelter(f"避難所{n}", is_open=n % 3 == 0, evacuees=n, hazards=[
            "flood", "landslide", "earthquake", "fire"])
    response = client.get("/portal", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    page = gzip.decompress(response.data).decode()
    assert page.count('class="shelter ') == 150
    assets = sorted(set(STATIC.findall(page)))
    total = len(response.data) + sum(_bytes(client, path) for path in assets)
    print(f"portal first load: {len(response.data)} B gzip page ({len(page)} B raw), "
          f"{total} B total")
    assert total < 60_000, (len(response.data), total, assets)


def test_rendered_pages_are_reused_for_a_few_seconds(app, client, factory, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_CACHE_SECONDS", 60)
    cache.clear()
    try:
        client.get("/portal")
        factory.shelter("新しい避難所")
        assert "新しい避難所" not in html(client.get("/portal"))  # the cached copy
        assert "新しい避難所" not in html(client.get("/portal"))
        english = html(client.get("/portal?lang=en"))  # another language: its own copy
        assert "新しい避難所" in english
        cache.clear()
        assert "新しい避難所" in html(client.get("/portal?lang=ja"))
    finally:
        cache.clear()


def test_the_portal_has_a_language_switcher_and_furigana_without_forms(client, factory):
    factory.shelter("避難所A")
    page = html(client.get("/portal"))
    assert page.count('href="?lang=') == 10
    response = client.get("/portal?ruby=1")
    assert "<ruby>" in html(response)
    assert "furigana=1" in response.headers["Set-Cookie"]

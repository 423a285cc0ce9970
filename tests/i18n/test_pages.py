"""Every interface language renders the resident's pages and the login page fully translated."""

from __future__ import annotations

import re

import pytest

from chounaikai.i18n import LANGUAGES
from tests.i18n.conftest import translate
from tests.i18n.page_text import interface_text, page_lang
from tests.support import client_for, html

KANA = re.compile(r"[\u3040-\u30ff]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
ANY_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
CHOICES = list(LANGUAGES)


def untranslated(code: str, texts: list[str]) -> list[str]:
    """The interface texts that are (or contain) Japanese the reader was not meant to see."""
    if code == "ja":
        return []
    if code == "ja-easy":  # written in kana only: any kanji is a msgid that slipped through
        return [t for t in texts if HAN.search(t)]
    if code in {"zh-Hans", "zh-Hant"}:  # Han is Chinese here; kana never is
        return [t for t in texts if KANA.search(t)]
    return [t for t in texts if ANY_JAPANESE.search(t)]


def check(page: str, code: str, *msgids: str) -> None:
    """Right <html lang>, translated samples on the page, no Japanese UI text left.

    The samples are looked up in the compiled catalog; at least one must differ from
    the Japanese (katakana words such as ログイン stay as they are in Easy Japanese).
    """
    assert page_lang(page) == LANGUAGES[code].html
    samples = {msgid: translate(code, msgid) for msgid in msgids}
    for msgid, sample in samples.items():
        assert sample in page, f"{code}: {sample!r} (for {msgid!r}) not on the page"
    if code != "ja":
        assert any(sample != msgid for msgid, sample in samples.items()), \
            f"{code} translates none of {msgids}"
    assert untranslated(code, interface_text(page)) == []


@pytest.mark.parametrize("code", CHOICES)
def test_resident_home(app, factory, ascii_town, code):
    association, _leader, _circular = ascii_town
    member = factory.member(association, user=factory.user(name="Alex Smith", locale=code))
    client = client_for(app, member.user)
    page = html(client.get("/", follow_redirects=True))
    assert "Cleanup day" in page
    check(page, code, "回覧", "すべて読みました")


@pytest.mark.parametrize("code", CHOICES)
def test_circular_page(app, factory, ascii_town, code):
    association, _leader, circular = ascii_town
    member = factory.member(association, user=factory.user(name="Alex Smith", locale=code))
    page = html(client_for(app, member.user).get(f"/circulars/{circular.id}"))
    assert "Bring gloves, please." in page
    check(page, code, "確認しました", "回覧の一覧へ")


@pytest.mark.parametrize("code", CHOICES)
def test_login_page(client, code):
    page = html(client.get(f"/login?lang={code}"))
    check(page, code, "ログイン", "パスワード", "言語")
    assert 'name="locale"' in page  # the switcher is there before anyone logs in


def test_the_check_finds_untranslated_text():
    """Control: the detector is not blind (a Japanese word in an English page is caught)."""
    page = '<html lang="en"><body><p>Hello</p><button aria-label="閉じる">x</button>' \
           '<select><option lang="ja">日本語</option></select></body></html>'
    assert untranslated("en", interface_text(page)) == ["閉じる"]
    assert untranslated("ja-easy", ["よみました", "既読"]) == ["既読"]
    assert untranslated("zh-Hans", ["已读", "既読です"]) == ["既読です"]


@pytest.mark.parametrize("code", CHOICES)
def test_public_portal(app, client, factory, code):
    from chounaikai.models import AlertKind, GlobalRole
    from tests.alerts.helpers import draft, issue

    issue(app, factory.user(role=GlobalRole.STAFF).id, draft(AlertKind.LEVEL4))
    factory.shelter("Sunny Hill School", is_open=True, evacuees=12, welfare=True)
    page = html(client.get(f"/portal?lang={code}"))
    check(page, code, "【警戒レベル4】避難指示", "避難所", "洪水")

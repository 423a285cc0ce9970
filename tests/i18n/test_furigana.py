"""Furigana: readings over kanji, exact for disaster words, valid HTML, kana untouched."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3
import pytest

from chounaikai.furigana import annotate_html, annotate_text
from tests.helpers import form_post
from tests.support import client_for, html

RUBY = re.compile(r"<ruby>([^<]+)<rp>\(</rp><rt>([^<]+)</rt><rp>\)</rp></ruby>")


def readings(markup: str) -> list[tuple[str, str]]:
    return RUBY.findall(str(markup))


def test_disaster_vocabulary_reads_as_the_country_says():
    assert readings(annotate_text("避難所")) == [("避難所", "ひなんじょ")]
    assert readings(annotate_text("高齢者等避難")) == [("高齢者等避難", "こうれいしゃとうひなん")]
    assert readings(annotate_text("近くの避難所へ")) == [
        ("近", "ちか"), ("避難所", "ひなんじょ")]


def test_the_analyzer_reads_ordinary_words_and_leaves_okurigana_bare():
    assert readings(annotate_text("防災訓練")) == [("防災", "ぼうさい"), ("訓練", "くんれん")]
    marked = str(annotate_text("持ち物"))
    assert readings(marked) == [("持", "も"), ("物", "もの")]
    assert RUBY.sub(r"\1", marked) == "持ち物"  # the base text is unchanged


@pytest.mark.parametrize("text", ["ひらがなだけ", "カタカナのテキスト", "ABC 123", ""])
def test_kana_and_latin_are_left_alone(text):
    assert str(annotate_text(text)) == text


class _Tree(HTMLParser):
    """Fails on any end tag that does not close the open element (not well-formed)."""

    def __init__(self):
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open, f"</{tag}> closes nothing"
        assert self.open[-1] == tag, (tag, self.open)
        self.open.pop()


def test_ruby_markup_is_valid_html():
    source = ('<p>明日は<strong>避難所</strong>で訓練します。<a href="https://example.test/?a=1&amp;b=2"'
              ' title="詳しく&gt;こちら">詳細</a> &lt;script&gt;</p>')
    marked = str(annotate_html(source))
    tree = _Tree()
    tree.feed(marked)
    tree.close()
    assert tree.open == []
    # Every ruby is base text then one rt inside rp parentheses, and a sanitizer that
    # allows ruby leaves the markup exactly as it is: nothing odd slipped in.
    assert marked.count("<ruby>") == marked.count("</ruby>") == len(readings(marked))
    assert nh3.clean(marked, tags={"p", "strong", "a", "ruby", "rt", "rp"},
                     attributes={"a": {"href", "title"}}, link_rel=None) == marked
    # Attributes and escaped text are untouched; only text nodes gained readings.
    assert 'title="詳しく&gt;こちら"' in marked
    assert "&lt;script&gt;" in marked
    assert RUBY.sub(r"\1", marked) == source


def test_text_is_escaped():
    assert str(annotate_text("<b>避難</b>")).startswith("&lt;b&gt;")


def test_toggle_is_saved_for_a_member_and_shows_readings(app, factory):
    association = factory.association()
    circular = factory.circular(association, title="避難所の案内", body="避難所が開きました。")
    member = factory.member(association)
    client = client_for(app, member.user)
    assert "<ruby>" not in html(client.get(f"/circulars/{circular.id}"))
    form_post(client, "/furigana", {"next": f"/circulars/{circular.id}"})
    client.delete_cookie("furigana")  # saved on the member, not only in the cookie
    page = html(client.get(f"/circulars/{circular.id}"))
    assert ("避難所", "ひなんじょ") in readings(page)
    assert 'aria-pressed="true"' in page
    form_post(client, "/furigana", {"next": "/"})
    assert "<rt>" not in html(client.get(f"/circulars/{circular.id}"))


def test_easy_japanese_readers_get_furigana_by_default(app, factory):
    association = factory.association()
    circular = factory.circular(association, title="避難所", body="高齢者等避難")
    member = factory.member(association, user=factory.user(locale="ja-easy"))
    page = html(client_for(app, member.user).get(f"/circulars/{circular.id}"))
    assert ("高齢者等避難", "こうれいしゃとうひなん") in readings(page)


def test_anonymous_toggle_uses_a_cookie(client):
    form_post(client, "/furigana", {"next": "/login"})
    assert 'aria-pressed="true"' in html(client.get("/login"))

"""Furigana: ``<ruby>`` readings over the kanji of Japanese text.

Readings come from SudachiPy with the Sudachi core dictionary (both Apache-2.0,
installed from PyPI, run offline).  An analyzer reads 避難所 as 避難 + 所 (ひなん
+ しょ), so disaster vocabulary that must never be misread goes through
:data:`OVERRIDES` first: those words are cut out of the text before the
analyzer sees it and get the reading written there.

Results are cached by the content itself (an LRU keyed by the exact text or
HTML), which is the same as "per content version": a corrected circular has a
new body, hence a new entry, while every reader of one version shares one.
"""

from __future__ import annotations

import html
import re
import threading
from functools import lru_cache
from html.parser import HTMLParser

from markupsafe import Markup

# Words whose reading must be exactly this (longest match wins).  Mostly the national
# evacuation vocabulary, where the analyzer's dictionary reading differs or a compound
# is split in a way that misleads (所 → しょ instead of じょ).
OVERRIDES: dict[str, str] = {
    "避難所": "ひなんじょ",
    "福祉避難所": "ふくしひなんじょ",
    "指定避難所": "していひなんじょ",
    "指定緊急避難場所": "していきんきゅうひなんばしょ",
    "避難場所": "ひなんばしょ",
    "高齢者等避難": "こうれいしゃとうひなん",
    "高齢者等": "こうれいしゃとう",
    "避難指示": "ひなんしじ",
    "緊急安全確保": "きんきゅうあんぜんかくほ",
    "警戒レベル": "けいかいレベル",
    "要配慮者": "ようはいりょしゃ",
    "安否確認": "あんぴかくにん",
    "土砂災害": "どしゃさいがい",
    "内水氾濫": "ないすいはんらん",
    "高潮": "たかしお",
    "津波": "つなみ",
    "町内会": "ちょうないかい",
    "自治会": "じちかい",
    "回覧": "かいらん",
    "班長": "はんちょう",
    "解除": "かいじょ",
}
_OVERRIDE_PATTERN = re.compile("|".join(sorted(map(re.escape, OVERRIDES), key=len, reverse=True)))
_KANJI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヶ"
_HAS_KANJI = re.compile(f"[{_KANJI}]")
_RUNS = re.compile(f"([{_KANJI}]+)|([^{_KANJI}]+)")
# Elements whose text is not prose to annotate.
_SKIP = {"rt", "rp", "ruby", "script", "style", "code", "pre", "textarea", "option", "title"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}

_local = threading.local()


def _tokenizer():
    """One Sudachi tokenizer per thread: tokenizers are not safe to share."""
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        from sudachipy import Dictionary, SplitMode  # loaded on first use: ~50 MB dictionary

        tokenizer = _local.tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
    return tokenizer


def to_hiragana(text: str) -> str:
    return "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in text)


def ruby(base: str, reading: str) -> str:
    """One ``<ruby>`` element; the ``<rp>`` parentheses show where ruby is unsupported."""
    return (f"<ruby>{html.escape(base)}<rp>(</rp><rt>{html.escape(reading)}</rt>"
            "<rp>)</rp></ruby>")


def _annotate_word(surface: str, reading: str) -> str:
    """Ruby over the kanji runs of one word, leaving its kana (okurigana) bare.

    持ち物/もちもの becomes 持(も)ち物(もの).  When the kana do not line up with the
    reading (an irregular word), the whole word gets one ruby.
    """
    if not _HAS_KANJI.search(surface) or not reading:
        return html.escape(surface)
    reading = to_hiragana(reading)
    runs = [(kanji, kana) for kanji, kana in _RUNS.findall(surface)]
    pattern = "".join("(.+?)" if kanji else f"({re.escape(to_hiragana(kana))})"
                      for kanji, kana in runs)
    match = re.fullmatch(pattern, reading)
    if match is None:
        return ruby(surface, reading)
    parts = []
    for (kanji, kana), said in zip(runs, match.groups(), strict=True):
        parts.append(ruby(kanji, said) if kanji else html.escape(kana))
    return "".join(parts)


def _annotate_plain(text: str) -> str:
    """Escaped HTML for ``text`` with ruby on its kanji (no overrides)."""
    if not _HAS_KANJI.search(text):
        return html.escape(text)
    return "".join(_annotate_word(token.surface(), token.reading_form())
                   for token in _tokenizer().tokenize(text))


@lru_cache(maxsize=4096)
def annotate_text(text: str) -> Markup:
    """Plain text in, escaped HTML with ``<ruby>`` readings out."""
    out, position = [], 0
    for match in _OVERRIDE_PATTERN.finditer(text):
        out.append(_annotate_plain(text[position:match.start()]))
        out.append(ruby(match.group(), OVERRIDES[match.group()]))
        position = match.end()
    out.append(_annotate_plain(text[position:]))
    return Markup("".join(out))  # noqa: S704 - every piece was escaped above


class _Annotator(HTMLParser):
    """Copies HTML through, annotating text outside :data:`_SKIP` elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.out.append(self.get_starttag_text() or "")
        if tag in _SKIP and tag not in _VOID:
            self.skipping.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()
        self.out.append(f"</{tag}>")

    def handle_data(self, data):
        self.out.append(html.escape(data, quote=False) if self.skipping else annotate_text(data))

    def handle_comment(self, data):
        pass  # sanitized content has none; dropping them is harmless


@lru_cache(maxsize=1024)
def annotate_html(fragment: str) -> Markup:
    """Sanitized HTML in, the same HTML with ruby readings on its text out."""
    if not _HAS_KANJI.search(fragment):
        return Markup(fragment)  # noqa: S704 - sanitized HTML in, unchanged
    parser = _Annotator()
    parser.feed(fragment)
    parser.close()
    return Markup("".join(parser.out))  # noqa: S704 - tags copied, text escaped

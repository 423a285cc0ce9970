"""The interface text of a rendered page, for "is anything left untranslated?" checks.

Collected: text nodes and the attributes people see or hear (aria-label, title, alt,
placeholder, value of buttons, and the data-text-* strings the page scripts show).
Left out: <script> and <style>; any element whose own ``lang`` differs from the
page's (content shown in its original language is marked that way, which is also what
screen readers need); and ``translate="no"`` elements, such as the switcher's list of
language names (日本語, 한국어…), each written in its own language on purpose.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

SPOKEN_ATTRIBUTES = {"aria-label", "title", "alt", "placeholder"}
HTML_LANG = re.compile(r'<html lang="([^"]+)"')
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class _Collector(HTMLParser):
    def __init__(self, page_lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_lang = page_lang
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden from the check)
        self.parts: list[str] = []

    def _hidden(self) -> bool:
        return any(hidden for _tag, hidden in self.stack)

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        lang = values.get("lang")
        hidden = tag in {"script", "style"} or values.get("translate") == "no" or (
            lang is not None and tag != "html" and lang != self.page_lang)
        if not hidden and not self._hidden():
            for name, value in attrs:
                if value and (name in SPOKEN_ATTRIBUTES or name.startswith("data-text-") or (
                        name == "value" and values.get("type") in {"submit", "button"})):
                    self.parts.append(value)
        if tag not in _VOID:
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if data.strip() and not self._hidden():
            self.parts.append(data.strip())


def page_lang(page: str) -> str:
    match = HTML_LANG.search(page)
    assert match, "the page has no <html lang>"
    return match.group(1)


def interface_text(page: str) -> list[str]:
    collector = _Collector(page_lang(page))
    collector.feed(page)
    collector.close()
    return collector.parts

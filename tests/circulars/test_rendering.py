"""Circular bodies: Markdown rendered to HTML that cannot carry script."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from chounaikai.circulars.rendering import ALLOWED_TAGS, render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    "<iframe src=https://evil.example></iframe>",
    "<object data=javascript:alert(1)></object>",
    "<a href=\"https://example.com\" onclick=\"alert(1)\">x</a>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<style>body{display:none}</style>",
    "<meta http-equiv=refresh content=0;url=https://evil.example>",
    "<form action=https://evil.example><input name=password></form>",
    "<!-- <script>alert(1)</script> -->",
    "<<script>script>alert(1)<</script>/script>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "[x]: javascript:alert(1)\n\n[x]",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x\" onerror=\"alert(1)](https://example.com/a.png)",
    "[x](https://example.com \"t\\\" onmouseover=\\\"alert(1)\")",
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
    "> <img src=x onerror=alert(1)>\n> [x](javascript:alert(1))",
    "- <a href=javascript:alert(1)>x</a>",
    "# <script>alert(1)</script>",
]


class _Tags(HTMLParser):
    """Every real element and attribute in the output (escaped text is not a tag)."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_renders_harmless(source):
    output = render_markdown(source)

    for tag, attributes in _Tags(output).tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attributes.items():
            assert not name.startswith("on"), name
            assert name in {"href", "title", "rel", "align"}, name
            if name == "href":
                scheme = re.sub(r"[\x00-\x20]", "", value or "").split(":", 1)
                assert len(scheme) == 1 or scheme[0].lower() in {"http", "https", "mailto"}, value
    lowered = output.lower()
    for element in ("<script", "<img", "<iframe", "<svg", "<style", "<form", "<meta", "<object"):
        assert element not in lowered


@pytest.mark.parametrize("source", [
    "<b>bold</b>",
    "<p onclick=\"x\">para</p>",
    "<span>span</span>",
    "<details><summary>s</summary>d</details>",
])
def test_raw_html_is_shown_as_text_not_passed_through(source):
    output = render_markdown(source)

    assert output.startswith("<p>&lt;")
    assert "&gt;" in output


@pytest.mark.parametrize(("source", "expected"), [
    ("# 見出し", "<h2>見出し</h2>"),
    ("## 小見出し", "<h3>小見出し</h3>"),
    ("### 項目", "<h4>項目</h4>"),
])
def test_headings_start_at_h2(source, expected):
    output = render_markdown(source)

    assert output.strip() == expected
    assert "<h1" not in output


def test_headings_deeper_than_allowed_keep_their_text():
    output = render_markdown("##### 小さな見出し")

    assert "小さな見出し" in output
    assert "<h5" not in output
    assert "<h6" not in output


@pytest.mark.parametrize("url", [
    "https://www.city.machida.tokyo.jp/",
    "http://example.com/a?b=c&d=e",
    "mailto:kaicho@example.jp",
])
def test_safe_links_keep_their_href_and_get_rel(url):
    output = render_markdown(f"[リンク]({url})")

    href = url.replace("&", "&amp;")
    assert f'href="{href}"' in output
    assert 'rel="noopener noreferrer nofollow"' in output


def test_autolinks_get_rel_too():
    output = render_markdown("<https://example.com>")

    assert output.strip() == ('<p><a href="https://example.com" '
                              'rel="noopener noreferrer nofollow">https://example.com</a></p>')


def test_everyday_formatting_survives():
    source = ("**太字** と *斜体* と ~~取り消し~~\n\n- 一つ目\n- 二つ目\n\n1. 順番\n\n"
              "> 引用\n\n`コード`\n\n---\n\n1行目\n2行目")
    output = render_markdown(source)

    for fragment in ("<strong>太字</strong>", "<em>斜体</em>", "<li>一つ目</li>", "<ol>",
                     "<blockquote>", "<code>コード</code>", "<hr>", "1行目<br>"):
        assert fragment in output, fragment


def test_tables_render_and_keep_alignment_without_inline_style():
    output = render_markdown("| 品目 | 数 |\n|:--|--:|\n| 水 | 2 |")

    assert "<table>" in output
    assert "<th" in output
    assert "<td" in output
    assert "style=" not in output  # the CSP forbids inline styles
    assert '<th align="left">品目</th>' in output
    assert '<td align="right">2</td>' in output


def test_text_that_looks_like_entities_stays_text():
    assert render_markdown("&lt;script&gt; 5 < 6 & 7 > 3") == (
        "<p>&lt;script&gt; 5 &lt; 6 &amp; 7 &gt; 3</p>\n")

"""Markdown to sanitized HTML for circular bodies.

markdown-it-py parses CommonMark with raw HTML disabled; nh3 (ammonia) then
allows a fixed set of tags and attributes and only http, https and mailto
links, so no script, event handler or ``javascript:`` URL can survive.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
    "table"
)

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "h4", "blockquote",
    "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td", "del",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
# markdown-it writes column alignment as inline style, which the CSP would block anyway.
_CELL_ALIGN = re.compile(r'<(th|td) style="text-align:(left|center|right)">')


def render_markdown(source: str) -> str:
    """Render ``source`` to HTML that is safe to insert into a page."""
    html = _markdown.render(source)
    # Headings start at h2: the page's h1 is the circular's title.
    for level in (3, 2, 1):  # deepest first so a heading moves only once
        html = html.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>"
        )
    html = _CELL_ALIGN.sub(r'<\1 align="\2">', html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )

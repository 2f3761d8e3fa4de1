"""Links of a page without converting it: what ``docspasta map`` and discovery read.

The same rules as :func:`docspasta.core.page.analyze_page` apply: ``<base href>`` honoured,
links absolute and normalised, deduplicated with their first position kept, the page's own URL
left out, nothing filtered by scope.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from docspasta.core.page import decode_html
from docspasta.core.urls import normalize_url


def page_links(html: str | bytes, url: str, *, encoding: str | None = None) -> tuple[str, ...]:
    """The links of a page at ``url`` (its final URL), in document order."""
    text = html if isinstance(html, str) else decode_html(html, encoding)
    tree = LexborHTMLParser(text)
    own = normalize_url(url)
    base = own or url
    tag = tree.css_first("base[href]")
    href = tag.attributes.get("href") if tag is not None else None
    if href:
        base = normalize_url(href, base) or base
    seen: dict[str, None] = {}
    for anchor in tree.css("a[href]"):
        target = anchor.attributes.get("href")
        if not target:
            continue
        link = normalize_url(target, base)
        if link is not None and link != own:
            seen.setdefault(link, None)
    return tuple(seen)

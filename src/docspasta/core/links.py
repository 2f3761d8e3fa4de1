"""Links of a page without converting it: what ``docspasta map`` and discovery read.

The same rules as :func:`docspasta.core.page.analyze_page` apply: ``<base href>`` honoured,
links absolute and normalised, deduplicated with their first position kept, the page's own URL
left out, nothing filtered by scope.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from docspasta.core.page import anchor_links, decode_html, document_base
from docspasta.core.urls import normalize_url


def page_links(html: str | bytes, url: str, *, encoding: str | None = None) -> tuple[str, ...]:
    """The links of a page at ``url`` (its final URL), in document order."""
    text = html if isinstance(html, str) else decode_html(html, encoding)
    tree = LexborHTMLParser(text)
    own = normalize_url(url)
    return anchor_links(tree, document_base(tree, own or url), own)

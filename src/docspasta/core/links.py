"""Links of a page without converting it: what ``docspasta map`` and discovery read.

The same rules as :func:`docspasta.core.page.analyze_page` apply: ``<base href>`` honoured,
links absolute and normalised, deduplicated with their first position kept, the page's own URL
left out, nothing filtered by scope.
"""

from __future__ import annotations

from docspasta.core.page import anchor_links, document_base, parse_html
from docspasta.core.urls import normalize_url


def page_links(html: str | bytes, url: str, *, encoding: str | None = None) -> tuple[str, ...]:
    """The links of a page at ``url`` (its final URL), in document order."""
    tree = parse_html(html, encoding)
    own = normalize_url(url)
    return anchor_links(tree, document_base(tree, own or url), own)

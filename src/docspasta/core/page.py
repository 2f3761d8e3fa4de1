"""One fetched page in, everything the worker needs out: :func:`analyze_page`.

The HTML is parsed once. Links are read from the whole page first (navigation included: a docs
sidebar gives the reading order), then the main content is extracted and converted.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from docspasta.core.extract import extract_content, page_title
from docspasta.core.markdown import node_to_markdown
from docspasta.core.tokens import count_tokens, count_words
from docspasta.core.urls import normalize_url

#: How far into the bytes a ``<meta charset>`` is looked for (the HTML spec says 1024).
_SNIFF_BYTES = 4096
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PageAnalysis:
    """What a page holds.

    ``links`` are absolute, normalised, deduplicated (first position kept), in document order,
    without the page's own URL and NOT filtered by scope.
    """

    title: str
    markdown: str
    links: tuple[str, ...]
    word_count: int
    token_count: int


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def decode_html(html: bytes, encoding: str | None = None) -> str:
    """Decode a page body: ``encoding`` if known, else its ``<meta charset>``, else UTF-8.

    A UTF-8 byte-order mark wins over everything; undecodable bytes become U+FFFD.
    """
    if html.startswith(codecs.BOM_UTF8):
        return html[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    codec = _codec(encoding)
    if codec is None:
        match = _META_CHARSET.search(html[:_SNIFF_BYTES])
        codec = _codec(match.group(1).decode("ascii")) if match else None
    return html.decode(codec or "utf-8", errors="replace")


def _base_url(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    if href:
        resolved = normalize_url(href, url)
        if resolved is not None:
            return resolved
    return url


def _links(tree: LexborHTMLParser, base_url: str, own_url: str | None) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for anchor in tree.css("a[href]"):
        href = anchor.attributes.get("href")
        if not href:
            continue
        link = normalize_url(href, base_url)
        if link is not None and link != own_url:
            seen.setdefault(link, None)
    return tuple(seen)


def analyze_page(html: str | bytes, url: str, *, encoding: str | None = None) -> PageAnalysis:
    """Parse a page once and return its title, main-content markdown, links and counts.

    ``url`` is the page's final URL (after redirects). ``encoding`` is the charset from the
    response headers, if any; it is used only when ``html`` is bytes. Word count is taken from
    the text of the main content, token count from the markdown (what a model will read).
    """
    text = html if isinstance(html, str) else decode_html(html, encoding)
    tree = LexborHTMLParser(text)
    own_url = normalize_url(url)
    base_url = _base_url(tree, own_url or url)
    links = _links(tree, base_url, own_url)

    content = extract_content(tree)
    title = page_title(tree, content, own_url or url)
    if content is None:
        markdown, words = "", 0
    else:
        words = count_words(content.text(separator=" "))
        markdown = node_to_markdown(content, base_url)
    return PageAnalysis(
        title=title,
        markdown=markdown,
        links=links,
        word_count=words,
        token_count=count_tokens(markdown),
    )

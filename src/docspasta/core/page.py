"""One fetched page in, everything the worker needs out: :func:`analyze_page`.

The HTML is parsed once. Links and page-level quality signals are read from the whole page first
(navigation included: a docs sidebar gives the reading order), then the generator is detected,
the main content extracted (tabs and admonitions rescued before chrome removal), prepared,
counted for the fidelity record, converted, and judged (:mod:`docspasta.core.quality`).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from selectolax.lexbor import LexborHTMLParser

from docspasta.core.boilerplate import block_keys, pack_keys
from docspasta.core.extract import clean_content, find_main_content, page_title
from docspasta.core.fidelity import Fidelity, count_html, measure
from docspasta.core.generators import detect_generator
from docspasta.core.markdown import convert_html, prepare_content
from docspasta.core.nav import Nav, read_nav
from docspasta.core.quality import page_signals, quality_score, rejection
from docspasta.core.structures import rescue_structures
from docspasta.core.tokens import count_tokens, count_words
from docspasta.core.urls import normalize_url, resolve_link

if TYPE_CHECKING:
    # Typing only: the analysis workers import this module and must not load pydantic.
    from docspasta.domain import TokenEncoding

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
    without the page's own URL and NOT filtered by scope. ``rejection`` is ``None`` for a page
    that belongs in the document, else why it does not (a soft 404, a login wall…: the page
    is then skipped with that reason; its links are still given). ``nav`` is the page's own
    navigation tree and ``rel=next`` link (:mod:`docspasta.core.nav`). ``quality`` is the 0-100
    score compared with the ``quality_threshold`` option; ``generator`` the docs generator
    detected (``generic`` when none). ``canonical`` is the page's ``<link rel=canonical>``,
    absolute and normalised (None when it has none, or names the page itself), NOT checked
    against scope.
    """

    title: str
    markdown: str
    links: tuple[str, ...]
    word_count: int
    token_count: int
    generator: str = "generic"
    rejection: str | None = None
    quality: int = 0
    fidelity: Fidelity = field(default_factory=Fidelity)
    nav: Nav = field(default_factory=Nav)
    canonical: str | None = None
    #: :func:`core.boilerplate.pack_keys` of ``block_keys(markdown)``: computed here, in an
    #: analysis worker, so that finalize does not have to read every page twice.
    block_keys: bytes = b"\x00"


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def _body_codec(html: bytes, encoding: str | None) -> tuple[bytes, str]:
    """The bytes to decode (a UTF-8 byte-order mark removed) and their codec."""
    if html.startswith(codecs.BOM_UTF8):
        return html[len(codecs.BOM_UTF8) :], "utf-8"
    codec = _codec(encoding)
    if codec is None:
        match = _META_CHARSET.search(html[:_SNIFF_BYTES])
        codec = _codec(match.group(1).decode("ascii")) if match else None
    return html, codec or "utf-8"


def decode_html(html: bytes, encoding: str | None = None) -> str:
    """Decode a page body: ``encoding`` if known, else its ``<meta charset>``, else UTF-8.

    A UTF-8 byte-order mark wins over everything; undecodable bytes become U+FFFD.
    """
    body, codec = _body_codec(html, encoding)
    return body.decode(codec, errors="replace")


def parse_html(html: str | bytes, encoding: str | None = None) -> LexborHTMLParser:
    """Parse a page body, decoded as :func:`decode_html` does.

    A UTF-8 body is handed to lexbor as bytes: a ``str`` is encoded back to UTF-8 for lexbor,
    and that round trip costs as much as the parse itself on large pages. lexbor's decoder
    replaces bad bytes with U+FFFD as Python's ``errors="replace"`` does (the WHATWG rule).
    """
    if isinstance(html, str):
        return LexborHTMLParser(html)
    body, codec = _body_codec(html, encoding)
    if codec == "utf-8":
        return LexborHTMLParser(body)
    return LexborHTMLParser(body.decode(codec, errors="replace"))


def document_base(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    if href:
        resolved = normalize_url(href, url)
        if resolved is not None:
            return resolved
    return url


def _canonical(tree: LexborHTMLParser, base_url: str, own_url: str | None) -> str | None:
    for link in tree.css("link[rel][href]"):
        if "canonical" not in (link.attributes.get("rel") or "").lower().split():
            continue
        href = (link.attributes.get("href") or "").strip()
        canonical = normalize_url(href, base_url) if href else None
        return canonical if canonical != own_url else None
    return None


def anchor_links(tree: LexborHTMLParser, base_url: str, own_url: str | None) -> tuple[str, ...]:
    """Every ``<a href>`` resolved against ``base_url`` and normalised, first position kept,
    without ``own_url``; not filtered by scope."""
    seen: dict[str, None] = {}
    for anchor in tree.css("a[href]"):
        href = anchor.attributes.get("href")
        if not href:
            continue
        link = resolve_link(href, base_url)
        if link is not None and link != own_url:
            seen.setdefault(link, None)
    return tuple(seen)


class AnalysisOptions(Protocol):
    """The crawl options that change what a page becomes (``domain.CrawlOptions`` has them)."""

    @property
    def include_selectors(self) -> tuple[str, ...]: ...
    @property
    def exclude_selectors(self) -> tuple[str, ...]: ...
    @property
    def quality_threshold(self) -> int: ...
    @property
    def token_encoding(self) -> TokenEncoding: ...


@dataclass(frozen=True)
class PageOptions:
    """:class:`AnalysisOptions` as a plain value: what an analysis worker process is sent with
    each page (validated by ``CrawlOptions`` before; the defaults are ``CrawlOptions``')."""

    include_selectors: tuple[str, ...] = ()
    exclude_selectors: tuple[str, ...] = ()
    quality_threshold: int = 0
    token_encoding: TokenEncoding = "o200k_base"

    @classmethod
    def of(cls, options: AnalysisOptions) -> PageOptions:
        if isinstance(options, PageOptions):
            return options
        return cls(
            include_selectors=tuple(options.include_selectors),
            exclude_selectors=tuple(options.exclude_selectors),
            quality_threshold=options.quality_threshold,
            token_encoding=options.token_encoding,
        )


_DEFAULT_OPTIONS = PageOptions()


def analyze_page(
    html: str | bytes,
    url: str,
    *,
    encoding: str | None = None,
    options: AnalysisOptions = _DEFAULT_OPTIONS,
    tokens: bool = True,
) -> PageAnalysis:
    """Parse a page once and return its title, main-content markdown, links, counts and verdict.

    ``url`` is the page's final URL (after redirects). ``encoding`` is the charset from the
    response headers, if any; it is used only when ``html`` is bytes. ``options`` gives the
    include/exclude selectors and the quality threshold. Word count is taken from the text of
    the main content, token count from the markdown (what a model will read); ``tokens=False``
    leaves it 0 for the caller to count (an analysis worker that is not the token counter: see
    ``docspasta.analysis``).
    """
    tree = parse_html(html, encoding)
    own_url = normalize_url(url)
    base_url = document_base(tree, own_url or url)
    links = anchor_links(tree, base_url, own_url)
    signals = page_signals(tree)
    document_title = tree.css_first("title")
    head_title = document_title.text(strip=True) if document_title is not None else ""

    generator = detect_generator(tree)
    nav = read_nav(tree, generator.name, base_url)
    content = find_main_content(tree, generator, options.include_selectors)
    words, link_words, counts, content_html, content_text = 0, 0, None, "", ""
    if content is not None:
        rescue_structures(content)
        clean_content(content, generator, options.exclude_selectors)
        content_text = content.text(separator=" ")
        words = count_words(content_text)
        if options.quality_threshold:
            link_words = sum(count_words(a.text(separator=" ")) for a in content.css("a"))
        prepare_content(content)
        counts = count_html(content)
        content_html = content.html or ""
    title = page_title(tree, content, own_url or url)
    heading = content.css_first("h1") if content is not None else None
    first_heading = heading.text(strip=True) if heading is not None else ""
    canonical = _canonical(tree, base_url, own_url)
    # The parsed page is done with: let it go before the converter parses the content again
    # (on a 700 kB page, ~10 MB less at the peak of an analysis worker).
    del tree, content, heading, document_title
    markdown, fidelity = "", Fidelity()
    if counts is not None:
        markdown = convert_html(content_html, base_url)
        fidelity = measure(counts, markdown)
    del content_html
    score = quality_score(words, link_words)
    verdict = rejection(
        signals,
        title=head_title,
        first_heading=first_heading,
        text=content_text[:2000],
        word_count=words,
        score=score,
        threshold=options.quality_threshold,
    )
    return PageAnalysis(
        title=title,
        markdown=markdown,
        links=links,
        word_count=words,
        token_count=count_tokens(markdown, options.token_encoding) if tokens else 0,
        generator=generator.name,
        rejection=verdict,
        quality=score,
        fidelity=fidelity,
        nav=nav,
        canonical=canonical,
        block_keys=pack_keys(block_keys(markdown)),
    )

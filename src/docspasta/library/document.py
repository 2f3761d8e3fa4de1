"""A finished crawl as values: the document, its pages, and what a reader with a token budget
can do with them (an excerpt that fits, a search by heading or text, one page).

Everything here is pure: no database, no network. ``docspasta.library.jobs`` builds these from
the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from docspasta.core.assemble import SectionPage, render_section, section_anchors
from docspasta.core.markdown import code_fence_mask
from docspasta.core.tokens import count_tokens
from docspasta.domain import CrawlOptions, JobStatus

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_SNIPPET_CHARS = 240


@dataclass(frozen=True)
class Page:
    """One converted page, in the document's reading order (``index`` counts from 1)."""

    index: int
    url: str
    title: str
    markdown: str
    tokens: int
    words: int


@dataclass(frozen=True)
class SearchHit:
    """A section of a page that matches a query: the page, the nearest heading above the
    match (``None`` before the first heading) and a snippet of the matching text."""

    page: int
    url: str
    title: str
    heading: str | None
    snippet: str
    in_heading: bool
    """True when the query matched the heading itself (such hits rank first)."""


@dataclass(frozen=True)
class Excerpt:
    """Part of a document that fits a token budget."""

    text: str
    tokens: int
    pages: int
    """How many pages (from the first, in order) are in ``text`` whole."""
    complete: bool
    """True when ``text`` is the whole document."""


@dataclass(frozen=True)
class Document:
    """A crawled documentation site: the assembled markdown and its pages.

    ``tokens`` counts the whole ``markdown`` (table of contents and section headers included)
    with the crawl's tiktoken encoding; each page's ``tokens`` counts its own markdown.
    ``failed_pages`` are ``(url, reason)`` pairs. ``reused`` is True when the crawl was not run
    again but taken from the store (``reuse=True``).
    """

    job_id: str
    url: str
    title: str
    status: JobStatus
    options: CrawlOptions
    markdown: str
    tokens: int
    words: int
    pages: tuple[Page, ...]
    failed_pages: tuple[tuple[str, str], ...]
    created_at: datetime
    completed_at: datetime | None
    reused: bool = False

    def page(self, ref: int | str) -> Page | None:
        """The page by its 1-based index or its URL; None when there is no such page."""
        if isinstance(ref, int):
            return self.pages[ref - 1] if 1 <= ref <= len(self.pages) else None
        wanted = ref.strip()
        return next((p for p in self.pages if p.url == wanted), None)

    def excerpt(self, max_tokens: int) -> Excerpt:
        """The whole document when it fits in ``max_tokens``; otherwise its header, a table of
        contents with each page's size (cut short when it alone would take half the budget),
        then whole pages in reading order while they fit."""
        if self.tokens <= max_tokens:
            return Excerpt(self.markdown, self.tokens, len(self.pages), complete=True)
        encoding = self.options.token_encoding
        intro = (
            f"# {self.title}\n\nSource: {self.url}\n\n"
            f"{len(self.pages)} pages, {self.tokens:,} tokens in all. This excerpt holds the "
            f"pages that fit in {max_tokens:,} tokens; the others are listed with their index "
            "and size: fetch one by its index, or search the pages.\n\n## Contents\n\n"
        )
        used = count_tokens(intro, encoding)
        outline: list[str] = []
        for page in self.pages:
            line = f"{page.index}. [{page.title}]({page.url}) — {page.tokens:,} tokens\n"
            cost = count_tokens(line, encoding)
            if used + cost > max_tokens // 2:
                outline.append(f"… and {len(self.pages) - len(outline)} more pages\n")
                used += count_tokens(outline[-1], encoding)
                break
            outline.append(line)
            used += cost
        parts = [intro, *outline]
        included = 0
        for page in self.pages:
            section = render_section(
                SectionPage(url=page.url, title=page.title, markdown=page.markdown)
            )
            cost = count_tokens(section, encoding)
            if used + cost > max_tokens:
                break
            parts.append(section)
            used += cost
            included += 1
        text = "".join(parts)
        return Excerpt(text, count_tokens(text, encoding), included, complete=False)

    def search(self, query: str, *, limit: int = 10) -> list[SearchHit]:
        """Sections whose heading or text holds every word of ``query`` (case-insensitive).

        Hits in headings come first, then the rest in reading order; at most ``limit``, one per
        section.
        """
        terms = [t for t in query.casefold().split() if t]
        if not terms:
            return []
        heading_hits: list[SearchHit] = []
        text_hits: list[SearchHit] = []
        for page in self.pages:
            for heading, body in _sections(page):
                in_heading = heading is not None and all(t in heading.casefold() for t in terms)
                haystack = f"{heading or ''}\n{body}".casefold()
                if not in_heading and not all(t in haystack for t in terms):
                    continue
                hit = SearchHit(
                    page=page.index,
                    url=page.url,
                    title=page.title,
                    heading=heading,
                    snippet=_snippet(body, terms),
                    in_heading=in_heading,
                )
                (heading_hits if in_heading else text_hits).append(hit)
        return (heading_hits + text_hits)[:limit]

    def anchors(self) -> list[str]:
        """The table-of-contents anchor of each page's section in ``markdown``, in order."""
        return section_anchors([p.title for p in self.pages], self.title)


def _sections(page: Page) -> list[tuple[str | None, str]]:
    """A page's markdown cut at its headings: (heading text or None, the text below it)."""
    lines = page.markdown.split("\n")
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line, in_code in zip(lines, code_fence_mask(lines), strict=True):
        match = None if in_code else _HEADING.match(line)
        if match is not None:
            sections.append((match.group(2).strip(), []))
        else:
            sections[-1][1].append(line)
    return [(heading, "\n".join(body).strip()) for heading, body in sections if heading or body]


def _snippet(body: str, terms: list[str]) -> str:
    """About ``_SNIPPET_CHARS`` characters of ``body`` around the first term found, one line."""
    flat = " ".join(body.split())
    folded = flat.casefold()
    positions = [p for t in terms if (p := folded.find(t)) >= 0]
    start = max(0, min(positions, default=0) - _SNIPPET_CHARS // 3)
    snippet = flat[start : start + _SNIPPET_CHARS]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + _SNIPPET_CHARS < len(flat) else ""
    return f"{prefix}{snippet}{suffix}"

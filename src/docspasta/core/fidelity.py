"""The fidelity record of one page: what its content held vs what its markdown holds.

Code blocks, table rows, headings and links are counted twice: in the cleaned content just
before conversion (after tables GFM cannot hold became lists, and code-like markup became
``<pre>``), and in the markdown. A markdown count below its HTML count is a silent loss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from docspasta.core.markdown import code_fence_mask

_COUNTED = "pre, tr, h1, h2, h3, h4, h5, h6, a[href]"
_ATX_HEADING = re.compile(r"^(?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d+[.)])[ \t]+)?#{1,6}(?:[ \t]|$)")
_TABLE_ROW = re.compile(r"^(?:>\s?)*\s*\|")
_TABLE_SEPARATOR = re.compile(r"^(?:>\s?)*\s*\|(?:\s*:?-+:?\s*\|)+\s*$")
_LINK = re.compile(r"\]\([^)\s]+")
_IMAGE_LINK = re.compile(r"!\[[^\]]*\]\([^)\s]+")
_AUTOLINK = re.compile(r"<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^>\s]+>")  # CommonMark autolink


@dataclass(frozen=True)
class Fidelity:
    """Counts in the content (``*_html``) and in its markdown (``*_markdown``)."""

    code_blocks_html: int = 0
    code_blocks_markdown: int = 0
    table_rows_html: int = 0
    table_rows_markdown: int = 0
    headings_html: int = 0
    headings_markdown: int = 0
    links_html: int = 0
    links_markdown: int = 0

    def losses(self) -> tuple[str, ...]:
        """The names of what the markdown holds less of than the content (empty: nothing lost)."""
        pairs = (
            ("code_blocks", self.code_blocks_html, self.code_blocks_markdown),
            ("table_rows", self.table_rows_html, self.table_rows_markdown),
            ("headings", self.headings_html, self.headings_markdown),
            ("links", self.links_html, self.links_markdown),
        )
        return tuple(name for name, html, markdown in pairs if markdown < html)

    def as_dict(self) -> dict[str, int]:
        """The counts, for JSON (JSONL rendering, the job's page details)."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class HtmlCounts:
    code_blocks: int
    table_rows: int
    headings: int
    links: int


def count_html(content: LexborNode) -> HtmlCounts:
    """Code blocks, table rows, headings with text and links (outside code) under ``content``.

    One query over the content; links inside code blocks are subtracted only when a block holds
    any.
    """
    code_blocks = rows = headings = links = 0
    for node in content.css(_COUNTED):
        tag = node.tag
        if tag == "a":
            href = node.attributes.get("href") or ""
            if not href.startswith("javascript:") and node.text(strip=True):
                links += 1
        elif tag == "pre":
            code_blocks += 1
        elif tag == "tr":
            rows += 1
        elif node.text(strip=True):
            headings += 1
    if code_blocks:
        links -= sum(
            1
            for link in content.css("pre a[href]")
            if not (link.attributes.get("href") or "").startswith("javascript:")
            and link.text(strip=True)
        )
    return HtmlCounts(code_blocks=code_blocks, table_rows=rows, headings=headings, links=links)


def measure(counts: HtmlCounts, markdown: str) -> Fidelity:
    """Compare the HTML counts with the same things counted in ``markdown``."""
    lines = markdown.split("\n")
    fences = rows = headings = links = 0
    previous_in_code = False
    for line, in_code in zip(lines, code_fence_mask(lines), strict=True):
        if in_code:
            fences += not previous_in_code
            previous_in_code = True
            continue
        previous_in_code = False
        # The substring tests only skip lines the patterns cannot match (most lines).
        if "#" in line and _ATX_HEADING.match(line):
            headings += 1
        elif "|" in line and _TABLE_ROW.match(line) and not _TABLE_SEPARATOR.match(line):
            rows += 1
        if "](" in line:
            links += len(_LINK.findall(line))
            if "![" in line:
                links -= len(_IMAGE_LINK.findall(line))
        if "<http" in line or ("](" in line and "<" in line):
            links += len(_AUTOLINK.findall(line))
    return Fidelity(
        code_blocks_html=counts.code_blocks,
        code_blocks_markdown=fences,
        table_rows_html=counts.table_rows,
        table_rows_markdown=rows,
        headings_html=counts.headings,
        headings_markdown=headings,
        links_html=counts.links,
        links_markdown=links,
    )

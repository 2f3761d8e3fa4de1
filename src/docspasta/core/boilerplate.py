"""Cross-page boilerplate: text blocks that repeat on most pages of one crawl.

Main-content extraction removes the chrome a generator is known for; what it misses (a site's
own "Was this page helpful?", a licence line, a banner inside the content container) shows up
as the same block on page after page. :func:`boilerplate_blocks` finds them and
:func:`strip_boilerplate` removes them, at assembly, from every page of the crawl.

A block is boilerplate when its whitespace-normalised text appears on more than half of the
pages, and on at least :data:`MIN_PAGES` of them. Headings and fenced code blocks are never
boilerplate (they belong to their page even when every page has them), nor is a page's first
block. Everything is a pure function of the pages' markdown: the same pages give the same result
in any order of arrival.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

from docspasta.core.blocks import BlockKind, markdown_blocks
from docspasta.core.markdown import code_fence_mask

#: Fewer pages than this carry no signal: nothing is removed.
MIN_PAGES = 4
_SPACES = re.compile(r"\s+")


def _key(text: str) -> str:
    return hashlib.sha1(_SPACES.sub(" ", text).strip().encode(), usedforsecurity=False).hexdigest()


def _candidates(markdown: str) -> set[str]:
    lines = markdown.split("\n")
    blocks = markdown_blocks(lines)
    return {_key("\n".join(lines[b.start : b.end])) for b in blocks[1:] if b.kind is BlockKind.TEXT}


def boilerplate_blocks(pages: Iterable[str]) -> frozenset[str]:
    """The keys of the text blocks found on more than half of the pages (at least MIN_PAGES)."""
    counts: Counter[str] = Counter()
    total = 0
    for markdown in pages:
        total += 1
        counts.update(_candidates(markdown))
    if total < MIN_PAGES:
        return frozenset()
    return frozenset(
        key for key, count in counts.items() if count >= MIN_PAGES and 2 * count > total
    )


def strip_boilerplate(markdown: str, boilerplate: frozenset[str]) -> str:
    """``markdown`` without its boilerplate text blocks (the same string when it holds none).

    The page's first block, headings and code blocks always stay; the blank lines a removed block
    leaves behind collapse to one (outside code, the markdown never holds two in a row).
    """
    if not boilerplate or not markdown:
        return markdown
    lines = markdown.split("\n")
    removed = {
        index
        for block in markdown_blocks(lines)[1:]
        if block.kind is BlockKind.TEXT
        and _key("\n".join(lines[block.start : block.end])) in boilerplate
        for index in range(block.start, block.end)
    }
    if not removed:
        return markdown
    mask = code_fence_mask(lines)
    out: list[str] = []
    out_in_code: list[bool] = []
    for index, line in enumerate(lines):
        if index in removed:
            continue
        blank = not line.strip() and not mask[index]
        if blank and out and not out[-1].strip() and not out_in_code[-1]:
            continue
        out.append(line)
        out_in_code.append(mask[index])
    return "\n".join(out)

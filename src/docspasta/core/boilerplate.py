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
from collections import Counter
from collections.abc import Iterable, Sequence

from docspasta.core.blocks import Block, BlockKind, markdown_blocks
from docspasta.core.markdown import code_fence_mask

#: Fewer pages than this carry no signal: nothing is removed.
MIN_PAGES = 4


def _key(lines: Sequence[str], block: Block) -> bytes:
    """A block's whitespace-normalised text, hashed (16 bytes: collisions are out of reach)."""
    text = " ".join(" ".join(lines[block.start : block.end]).split())
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _text_blocks(lines: Sequence[str]) -> list[Block]:
    """The blocks that may be boilerplate: text blocks, except the page's first block."""
    return [b for b in markdown_blocks(lines)[1:] if b.kind is BlockKind.TEXT]


def block_keys(markdown: str) -> frozenset[bytes]:
    """The keys of the page's text blocks that could be boilerplate (see :func:`common_keys`)."""
    lines = markdown.split("\n")
    return frozenset(_key(lines, block) for block in _text_blocks(lines))


def common_keys(counts: Counter[bytes], total: int) -> frozenset[bytes]:
    """The boilerplate: keys found on more than half of ``total`` pages, and at least MIN_PAGES."""
    if total < MIN_PAGES:
        return frozenset()
    return frozenset(
        key for key, count in counts.items() if count >= MIN_PAGES and 2 * count > total
    )


def boilerplate_blocks(pages: Iterable[str]) -> frozenset[bytes]:
    """The keys of the text blocks found on more than half of the pages (at least MIN_PAGES)."""
    counts: Counter[bytes] = Counter()
    total = 0
    for markdown in pages:
        total += 1
        counts.update(block_keys(markdown))
    return common_keys(counts, total)


def strip_boilerplate(markdown: str, boilerplate: frozenset[bytes]) -> str:
    """``markdown`` without its boilerplate text blocks (the same string when it holds none).

    The page's first block, headings and code blocks always stay; the blank lines a removed block
    leaves behind collapse to one (outside code, the markdown never holds two in a row).
    """
    if not boilerplate or not markdown:
        return markdown
    lines = markdown.split("\n")
    removed = {
        index
        for block in _text_blocks(lines)
        if _key(lines, block) in boilerplate
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

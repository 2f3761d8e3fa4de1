"""Cross-page boilerplate: text blocks that repeat on most pages of one crawl.

Main-content extraction removes the chrome a generator is known for; what it misses (a site's
own "Was this page helpful?", a licence line, a banner inside the content container) shows up
as the same block on page after page. :func:`boilerplate_blocks` finds them and
:func:`strip_boilerplate` removes them, at assembly, from every page of the crawl.

A block is boilerplate when its whitespace-normalised text appears on more than half of the
pages, and on at least :data:`MIN_PAGES` of them, once per page, among the first or last
:data:`EDGE_BLOCKS` text blocks of each page where it is counted: chrome sits at a page's edges
and appears once. A text that any page holds twice (Sphinx's "New in version 3.3." under several
functions) is the page's own content wherever else it appears, and so is a block without a letter
or digit (a ``---`` rule). Headings and fenced code blocks are never boilerplate (they belong to
their page even when every page has them), nor is a page's first block. Everything is a pure
function of the pages' markdown: the same pages give the same result in any order of arrival.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from docspasta.core.blocks import Block, BlockKind, markdown_blocks
from docspasta.core.markdown import code_fence_mask

#: Fewer pages than this carry no signal: nothing is removed.
MIN_PAGES = 4
#: Boilerplate is counted among this many text blocks at each end of a page.
EDGE_BLOCKS = 3


#: The size of a block's key.
KEY_BYTES = 16


def _key(lines: Sequence[str], block: Block) -> bytes:
    """A block's whitespace-normalised text, hashed (16 bytes: collisions are out of reach)."""
    text = " ".join(" ".join(lines[block.start : block.end]).split())
    return hashlib.blake2b(text.encode(), digest_size=KEY_BYTES).digest()


def _text_blocks(lines: Sequence[str]) -> list[Block]:
    """The blocks that may be boilerplate: text blocks, except the page's first block."""
    return [b for b in markdown_blocks(lines)[1:] if b.kind is BlockKind.TEXT]


def _has_word(lines: Sequence[str], block: Block) -> bool:
    return any(char.isalnum() for line in lines[block.start : block.end] for char in line)


@dataclass(frozen=True)
class PageKeys:
    """A page's boilerplate candidates (edge blocks it holds once) and the texts it repeats."""

    candidates: frozenset[bytes]
    repeated: frozenset[bytes]


def block_keys(markdown: str) -> PageKeys:
    """The page's candidate keys and repeated keys (see the module docstring)."""
    lines = markdown.split("\n")
    blocks = [b for b in _text_blocks(lines) if _has_word(lines, b)]
    keys = [_key(lines, block) for block in blocks]
    seen: Counter[bytes] = Counter(keys)
    edges = keys[:EDGE_BLOCKS] + keys[-EDGE_BLOCKS:]
    return PageKeys(
        candidates=frozenset(k for k in edges if seen[k] == 1),
        repeated=frozenset(k for k, n in seen.items() if n > 1),
    )


def pack_keys(keys: PageKeys) -> bytes:
    """``keys`` as bytes, to be stored with the page: the number of candidates (at most
    ``2 * EDGE_BLOCKS``), the candidate keys, then the repeated keys, each set sorted."""
    candidates = sorted(keys.candidates)
    return bytes([len(candidates)]) + b"".join(candidates) + b"".join(sorted(keys.repeated))


def unpack_keys(packed: bytes) -> PageKeys:
    """The :class:`PageKeys` :func:`pack_keys` gave ``packed`` for."""
    body = memoryview(packed)[1:]
    if not packed or len(body) % KEY_BYTES or packed[0] * KEY_BYTES > len(body):
        raise ValueError(f"not packed page keys ({len(packed)} bytes)")
    keys = [bytes(body[i : i + KEY_BYTES]) for i in range(0, len(body), KEY_BYTES)]
    return PageKeys(candidates=frozenset(keys[: packed[0]]), repeated=frozenset(keys[packed[0] :]))


class BoilerplateCounter:
    """Counts candidate keys page by page; :meth:`boilerplate` gives the crawl's boilerplate."""

    def __init__(self) -> None:
        self.pages = 0
        self._counts: Counter[bytes] = Counter()
        self._repeated: set[bytes] = set()

    def add(self, page: PageKeys) -> None:
        self.pages += 1
        self._counts.update(page.candidates)
        self._repeated.update(page.repeated)

    def boilerplate(self) -> frozenset[bytes]:
        """Keys found on more than half of the pages (at least MIN_PAGES), never repeated on
        any page."""
        if self.pages < MIN_PAGES:
            return frozenset()
        return frozenset(
            key
            for key, count in self._counts.items()
            if count >= MIN_PAGES and 2 * count > self.pages and key not in self._repeated
        )


def boilerplate_blocks(pages: Iterable[str]) -> frozenset[bytes]:
    """The keys of the boilerplate blocks of ``pages`` (see the module docstring)."""
    counter = BoilerplateCounter()
    for markdown in pages:
        counter.add(block_keys(markdown))
    return counter.boilerplate()


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

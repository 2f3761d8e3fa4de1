"""The markdown document split into numbered parts under a token budget, with an index.

Each part is a document of its own (``# Title (part k of n)``, its source, its contents, then its
sections) of at most ``max_tokens`` tokens. Parts break between pages; a page too long for one
part is cut at its headings, then between blocks (paragraphs, lists, tables, code blocks), and
only a single block longer than a part is cut between lines (a code block is closed and reopened
with its fence). A page continued in the next part repeats its section heading with
"(continued)" and its source URL, so every part can be read alone.

Pure: the same pages and budget give the same files.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from docspasta.core.assemble import (
    SectionPage,
    demote_headings,
    render_header,
    render_section,
    section_anchors,
)
from docspasta.core.blocks import BlockKind, markdown_blocks
from docspasta.core.tokens import count_tokens
from docspasta.domain import TokenEncoding

#: Tokens kept free in every estimate: concatenation may merge a token or two at the seams.
SLACK = 8
#: The smallest budget that can hold a part's header and some text.
MIN_TOKENS = 64
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class _Unit:
    heading: str
    text: str
    tokens: int


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


class _Splitter:
    def __init__(self, budget: int, encoding: TokenEncoding) -> None:
        self.budget = budget
        self.encoding = encoding

    def count(self, text: str) -> int:
        return count_tokens(text, self.encoding)

    def fit(self, text: str, level: int = 0) -> list[str]:
        """``text`` as pieces of at most ``budget`` tokens (coarsest cuts first)."""
        if self.count(text) <= self.budget:
            return [text]
        lines = text.split("\n")
        if level == 0:
            pieces = _heading_segments(lines)
        elif level == 1:
            pieces = ["\n".join(lines[b.start : b.end]) for b in markdown_blocks(lines)]
        else:
            return self._cut_lines(lines)
        if len(pieces) <= 1:
            return self.fit(text, level + 1)
        return [part for piece in pieces for part in self.fit(piece, level + 1)]

    def _cut_lines(self, lines: list[str]) -> list[str]:
        blocks = markdown_blocks(lines)
        if len(blocks) == 1 and blocks[0].kind is BlockKind.CODE and len(lines) > 2:
            wrap = (lines[0] + "\n", "\n" + lines[-1])
            lines = lines[1:-1]
        else:
            wrap = ("", "")
        overhead = self.count(wrap[0] + wrap[1]) + 1
        pieces: list[str] = []
        current: list[str] = []
        used = 0
        for line in lines:
            for part in self._cut_line(line, self.budget - overhead):
                tokens = self.count(part) + 1
                if current and used + tokens > self.budget - overhead:
                    pieces.append(wrap[0] + "\n".join(current) + wrap[1])
                    current, used = [], 0
                current.append(part)
                used += tokens
        if current:
            pieces.append(wrap[0] + "\n".join(current) + wrap[1])
        return pieces

    def _cut_line(self, line: str, budget: int) -> list[str]:
        if len(line) < 2 or self.count(line) <= budget:
            return [line]
        middle = len(line) // 2
        space = line.rfind(" ", 1, middle + 1)
        middle = space if space > 0 else middle  # between words when the line has spaces
        return self._cut_line(line[:middle], budget) + self._cut_line(line[middle:], budget)


def _heading_segments(lines: list[str]) -> list[str]:
    starts = [b.start for b in markdown_blocks(lines) if b.kind is BlockKind.HEADING]
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    bounds = [*starts, len(lines)]
    segments = ["\n".join(lines[a:b]).strip("\n") for a, b in itertools.pairwise(bounds)]
    return [s for s in segments if s.strip()]


def _section_prefix(heading: str, url: str) -> str:
    return f"\n## {heading}\n\nSource: {url}\n"


def _page_units(page: SectionPage, splitter: _Splitter) -> list[_Unit]:
    title = _one_line(page.title)
    whole = render_section(page)
    tokens = splitter.count(whole)
    if tokens <= splitter.budget:
        return [_Unit(title, whole, tokens)]
    body = demote_headings(page.markdown, page.title).strip("\n")
    prefix_tokens = splitter.count(_section_prefix(f"{title} (continued)", page.url)) + 2
    inner = _Splitter(max(splitter.budget - prefix_tokens, 1), splitter.encoding)
    units: list[_Unit] = []
    current: list[str] = []
    used = 0
    for piece in inner.fit(body):
        piece_tokens = inner.count(piece) + 2
        if current and used + piece_tokens > inner.budget:
            units.append(_chunk_unit(page, title, current, splitter, continued=bool(units)))
            current, used = [], 0
        current.append(piece)
        used += piece_tokens
    if current or not units:
        units.append(_chunk_unit(page, title, current, splitter, continued=bool(units)))
    return units


def _chunk_unit(
    page: SectionPage, title: str, pieces: list[str], splitter: _Splitter, *, continued: bool
) -> _Unit:
    heading = f"{title} (continued)" if continued else title
    text = _section_prefix(heading, page.url)
    if pieces:
        text += "\n" + "\n\n".join(pieces) + "\n"
    return _Unit(heading, text, splitter.count(text))


def _render_part(title: str, source_url: str, units: Sequence[_Unit]) -> str:
    headings = [unit.heading for unit in units]
    anchors = section_anchors(headings, title)
    header = render_header(title, source_url, list(zip(headings, anchors, strict=True)))
    return header + "".join(unit.text for unit in units)


def _part_title(title: str, number: int, total: int) -> str:
    return f"{_one_line(title)} (part {number} of {total})"


def _pack(units: Sequence[_Unit], limit: int, base: int, toc_cost: list[int]) -> list[list[_Unit]]:
    parts: list[list[_Unit]] = []
    current: list[_Unit] = []
    used = base
    for unit, cost in zip(units, toc_cost, strict=True):
        need = unit.tokens + cost
        if current and used + need > limit:
            parts.append(current)
            current, used = [], base
        current.append(unit)
        used += need
    if current:
        parts.append(current)
    return parts


def split_document(
    title: str,
    source_url: str,
    pages: Sequence[SectionPage],
    max_tokens: int,
    encoding: TokenEncoding,
    stem: str = "document",
) -> list[tuple[str, str]]:
    """(file name, text) of the index ``{stem}.md`` and the parts ``{stem}.part-NNN.md``.

    Every part holds at most ``max_tokens`` tokens of ``encoding``. Raises ``ValueError`` when
    ``max_tokens`` is below :data:`MIN_TOKENS` or cannot hold a part's header.
    """
    if max_tokens < MIN_TOKENS:
        raise ValueError(f"max_tokens must be at least {MIN_TOKENS}")
    probe = _Splitter(max_tokens, encoding)
    base = probe.count(render_header(_part_title(title, 999, 999), source_url, [])) + SLACK
    budget = max_tokens - base - 24
    if budget < MIN_TOKENS // 2:
        raise ValueError(f"max_tokens {max_tokens} cannot hold a part's header and text")
    splitter = _Splitter(budget, encoding)
    units = [unit for page in pages for unit in _page_units(page, splitter)]
    toc_cost = [probe.count(f"- [{u.heading}](#{u.heading})\n") + 2 for u in units]
    parts = _pack(units, max_tokens - SLACK, base, toc_cost)
    texts = _settle(title, source_url, parts, max_tokens, probe)
    width = max(3, len(str(len(texts))))
    names = [f"{stem}.part-{number:0{width}d}.md" for number in range(1, len(texts) + 1)]
    index = _index(title, source_url, parts, texts, names, max_tokens, encoding, probe)
    return [(f"{stem}.md", index), *zip(names, texts, strict=True)]


def _settle(
    title: str, source_url: str, parts: list[list[_Unit]], max_tokens: int, probe: _Splitter
) -> list[str]:
    """Render the parts; a part over the budget (estimates are not exact) gives its last unit
    to a new part after it, until every part fits."""
    while True:
        total = len(parts)
        texts = [
            _render_part(_part_title(title, n, total), source_url, units)
            for n, units in enumerate(parts, start=1)
        ]
        over = next(
            (
                i
                for i, text in enumerate(texts)
                if len(parts[i]) > 1 and probe.count(text) > max_tokens
            ),
            None,
        )
        if over is None:
            return texts
        parts.insert(over + 1, [parts[over].pop()])


def _index(
    title: str,
    source_url: str,
    parts: Sequence[Sequence[_Unit]],
    texts: Sequence[str],
    names: Sequence[str],
    max_tokens: int,
    encoding: TokenEncoding,
    probe: _Splitter,
) -> str:
    counts = [probe.count(text) for text in texts]
    lines = [
        f"# {_one_line(title)}",
        "",
        f"Source: {source_url}",
        "",
        f"The document in {len(texts)} parts of at most {max_tokens:,} tokens ({encoding}), "
        f"{sum(counts):,} tokens in all.",
        "",
        "## Parts",
        "",
    ]
    for number, (units, name, tokens) in enumerate(zip(parts, names, counts, strict=True), 1):
        lines.append(f"- [Part {number}]({name}): {tokens:,} tokens")
        lines.extend(f"  - {unit.heading}" for unit in units)
    return "\n".join(lines) + "\n"

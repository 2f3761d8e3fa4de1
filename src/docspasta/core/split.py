"""The markdown document split into numbered parts under a token budget, with an index.

Each part is a document of its own (``# Title (part k of n)``, its source, its contents, then its
sections) of at most ``max_tokens`` tokens. Parts break between pages; a page too long for one
part is cut at its headings, then between blocks (paragraphs, lists, tables, code blocks), and
only a single block longer than a part is cut between lines: a code block is closed and reopened
with its fence and language, a table is cut between rows and repeats its header row and delimiter
row. A line longer than a part is cut between words, never inside a link, an image, a code span
or an HTML tag or element (a line break replaces the space cut at). A page continued in the next
part repeats its section heading with "(continued)" and its source URL, so every part can be
read alone.

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
        """One block longer than the budget, cut between lines (a table between rows, its header
        repeated after each cut; a code block re-fenced), a line only when it alone is too long."""
        blocks = markdown_blocks(lines)
        if len(blocks) == 1 and blocks[0].kind is BlockKind.CODE and len(lines) > 1:
            opening, closing, body = _fence_wrap(lines)
            return self._pack([(line, "", 3) for line in body], opening + "\n", "\n" + closing)
        return self._pack(_text_atoms(lines), "", "")

    def _pack(self, atoms: list[_Atom], opening: str, closing: str) -> list[str]:
        limit = self.budget - self.count(opening + closing) - 1
        pieces: list[str] = []
        current: list[str] = []
        used = 0
        for text, header, level in atoms:
            head_tokens = self.count(header) + 1 if header else 0
            if head_tokens > limit // 2:  # a header too big to repeat
                header, head_tokens = "", 0
            for part in self._cut_line(text, limit - head_tokens, level):
                tokens = self.count(part) + 1
                if current and used + tokens > limit:
                    pieces.append(opening + "\n".join(current) + closing)
                    current, used = ([header], head_tokens) if header else ([], 0)
                current.append(part)
                used += tokens
        if current:
            pieces.append(opening + "\n".join(current) + closing)
        return pieces

    def _cut_line(self, text: str, budget: int, level: int) -> list[str]:
        """``text`` in pieces of at most ``budget`` tokens, each cut at the allowed whitespace
        nearest the middle (dropped: a line break takes its place), from ``level`` on: see
        :func:`_cut_points`. Only text without any whitespace is cut between characters."""
        if len(text) < 2 or self.count(text) <= budget:
            return [text]
        middle = len(text) // 2
        for allowed in range(level, 4):
            points = _cut_points(text, allowed)
            if points:
                cut = min(points, key=lambda point: (abs(point - middle), point))
                return self._cut_line(text[:cut], budget, level) + self._cut_line(
                    text[cut + 1 :], budget, level
                )
        return self._cut_line(text[:middle], budget, 4) + self._cut_line(text[middle:], budget, 4)


#: (text, header repeated before it when a cut falls just before it, first cut level).
_Atom = tuple[str, str, int]
#: Inline constructs a cut never splits: links and images (one level of nested brackets, as in
#: ``[![alt](img)](url)``), code spans, HTML elements with their content, tags and comments.
_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]"
    r"(?:\((?:<[^<>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
    r"|\[[^\[\]]*\])"
)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
_HTML_ELEMENT = re.compile(r"<([a-z][\w-]*)\b[^<>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_HTML_TAG = re.compile(r"<!--.*?-->|</?[a-z][^<>]*>", re.DOTALL | re.IGNORECASE)
_INLINE = {1: (_LINK, _CODE_SPAN, _HTML_ELEMENT, _HTML_TAG), 2: (_LINK, _CODE_SPAN, _HTML_TAG)}
#: Whitespace between two words (not after a backslash, a hard line break).
_GAP = re.compile(r"(?<=[^\s\\])[ \t\n](?=\S)")
#: A start that would open a block on a new line: heading, quote, list item, rule, fence.
_BLOCK_START = re.compile(r"#{1,6}(?:\s|$)|>|[-+*](?:\s|$)|\d{1,9}[.)](?:\s|$)|[-=]+\s*$|```|~~~")
_TABLE_DELIMITER = re.compile(r" {0,3}\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*")
_FENCE = re.compile(r"((?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d+[.)])[ \t]+)?)(`{3,}|~{3,})")
_LIST_MARKER = re.compile(r"[-*+]|\d+[.)]")


def _cut_points(text: str, level: int) -> list[int]:
    """Where ``text`` may be cut at ``level``: 0 nowhere (a table row); 1 between words outside
    every inline construct and not before a block start; 2 the same, but inside a paired HTML
    element too; 3 between any words (a code line, or the last resort)."""
    if level == 0:
        return []
    inside = bytearray(len(text))
    for pattern in _INLINE.get(level, ()):
        for match in pattern.finditer(text):
            inside[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
    return [
        gap.start()
        for gap in _GAP.finditer(text)
        if level == 3 or not (inside[gap.start()] or _BLOCK_START.match(text, gap.end()))
    ]


def _text_atoms(lines: list[str]) -> list[_Atom]:
    """A text block's lines as atoms: a table's header, delimiter row and first row make one,
    each further row one that repeats the header and delimiter after a cut; lines that an inline
    construct runs across stay together."""
    text = "\n".join(lines)
    inside = bytearray(len(text) + 1)
    for pattern in _INLINE[1]:
        for match in pattern.finditer(text):
            inside[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
    ends = list(itertools.accumulate(len(line) + 1 for line in lines))  # offset after each "\n"
    atoms: list[_Atom] = []
    header = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if header and "|" in line:
            atoms.append((line, header, 0))
            index += 1
            continue
        header, end = "", index + 1
        following = lines[index + 1] if end < len(lines) else ""
        if "|" in line and "|" in following and _TABLE_DELIMITER.fullmatch(following):
            header = f"{line}\n{following}"
            end = index + (3 if index + 2 < len(lines) and "|" in lines[index + 2] else 2)
            atoms.append(("\n".join(lines[index:end]), "", 0))
        else:
            while end < len(lines) and inside[ends[end - 1] - 1]:
                end += 1
            atoms.append(("\n".join(lines[index:end]), "", 1))
        index = end
    return atoms


def _fence_wrap(lines: list[str]) -> tuple[str, str, list[str]]:
    """A code block's opening fence, its closing fence (made from the opening one when the block
    is unclosed) and the lines between."""
    opening, last = lines[0], lines[-1]
    match = _FENCE.match(opening)
    fence = match.group(2) if match else "```"
    stripped = re.sub(r"^(?:[ \t]*>)*", "", last).strip()
    if len(lines) > 1 and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
        return opening, last, lines[1:-1]
    indent = _LIST_MARKER.sub(lambda m: " " * len(m.group()), match.group(1)) if match else ""
    return opening, indent + fence, lines[1:]


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
        f"The document in {len(texts)} part{'' if len(texts) == 1 else 's'} of at most "
        f"{max_tokens:,} tokens ({encoding}), "
        f"{sum(counts):,} tokens in all.",
        "",
        "## Parts",
        "",
    ]
    for number, (units, name, tokens) in enumerate(zip(parts, names, counts, strict=True), 1):
        lines.append(f"- [Part {number}]({name}): {tokens:,} tokens")
        lines.extend(f"  - {unit.heading}" for unit in units)
    return "\n".join(lines) + "\n"

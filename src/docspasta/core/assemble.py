"""Reading order and the final document.

Reading order: a page's *order key* is the smallest, in tuple order, of ``key(parent) +
(position of the link on the parent,)`` over all pages linking to it; the start page has ``()``.
A docs sidebar therefore orders pages as the site presents them. :func:`encode_order_key` turns
a key into a string that sorts the same way, so the store can ``ORDER BY`` it.

The document::

    # {title}

    Source: {source_url}

    ## Contents

    - [Page title](#anchor)

    ## Page title

    Source: {page url}

    {page markdown: its H1 title removed, other headings one level deeper}

Everything here is pure: the same input gives the same bytes. Sections can be streamed: compute
the anchors from the titles with :func:`section_anchors`, write :func:`render_header`, then one
:func:`render_section` per page (or let :func:`iter_document` do it), never holding more than
one page's markdown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from docspasta.core.markdown import code_fence_mask

#: Digits per order-key component; a page links to at most 10**6 - 1 URLs that count.
ORDER_KEY_WIDTH = 6
_MAX_COMPONENT = 10**ORDER_KEY_WIDTH - 1

_ATX_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)(.*)$")
_CLOSING_HASHES = re.compile(r"[ \t]+#+[ \t]*$")
_SPACES = re.compile(r"\s+")
_SLUG_DROP = re.compile(r"[^\w\- ]", re.UNICODE)
_CONTENTS_HEADING = "Contents"


def encode_order_key(key: tuple[int, ...]) -> str:
    """A string whose lexicographic order is the tuple order of ``key``.

    Each component becomes 6 zero-padded digits, so a prefix sorts before its extensions;
    ``()`` gives ``""``. Raises ``ValueError`` for a component outside ``0..999999``.
    """
    for component in key:
        if not 0 <= component <= _MAX_COMPONENT:
            raise ValueError(f"order key component out of range: {component}")
    return "".join(f"{component:0{ORDER_KEY_WIDTH}d}" for component in key)


def link_order(root: str, edges: Mapping[str, Sequence[str]]) -> list[str]:
    """Every node reachable from ``root`` (nodes are URL hashes), in link order.

    ``edges[p]`` lists the links of page ``p`` in document order. Link order sorts nodes by
    their smallest link path from ``root``: the sequence of link positions along the path,
    compared as tuples (a path sorts before its extensions). That is the order in which a
    depth-first walk first meets each node when it follows every page's links in order: the
    walk meets paths in that same tuple order and skips only nodes met before, whose own
    smallest path is smaller still (tests/core/test_assemble.py checks it against the tuple
    definition on random graphs). Linear in the links, where comparing the tuples of a long
    ``rel=next``-like chain is quadratic. Deterministic: the same edges give the same order.
    """
    order = [root]
    seen = {root}
    walk = [iter(edges.get(root, ()))]
    while walk:
        for child in walk[-1]:
            if child not in seen:
                seen.add(child)
                order.append(child)
                walk.append(iter(edges.get(child, ())))
                break
        else:
            walk.pop()
    return order


@dataclass(frozen=True)
class SectionPage:
    """One page of the document: its absolute URL, title and converted markdown."""

    url: str
    title: str
    markdown: str


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def slugify(text: str) -> str:
    """A GitHub-style heading anchor: lowercase, punctuation dropped, spaces to hyphens."""
    return _SLUG_DROP.sub("", _one_line(text).lower()).replace(" ", "-")


def section_anchors(titles: Iterable[str], document_title: str = "") -> list[str]:
    """Unique anchors for the section titles, in order, as GitHub would number them.

    The document's own title and the ``Contents`` heading come first and take their slugs;
    a repeated slug gets ``-1``, ``-2``... (an empty one is ``section``). Headings inside the
    pages are not counted: a link to a section always finds that section's heading only when
    no earlier page holds a heading of the same text.
    """
    used: set[str] = {slugify(document_title), slugify(_CONTENTS_HEADING)}
    anchors: list[str] = []
    for title in titles:
        base = slugify(title) or "section"
        anchor, counter = base, 0
        while anchor in used:
            counter += 1
            anchor = f"{base}-{counter}"
        used.add(anchor)
        anchors.append(anchor)
    return anchors


def _link_text(title: str) -> str:
    return re.sub(r"([\\\[\]])", r"\\\1", _one_line(title))


def render_header(title: str, source_url: str, toc: Sequence[tuple[str, str]]) -> str:
    """The document title, its source and the table of contents; ``toc`` is (title, anchor)."""
    lines = [f"# {_one_line(title)}", "", f"Source: {source_url}", "", f"## {_CONTENTS_HEADING}"]
    if toc:
        lines.append("")
        lines.extend(f"- [{_link_text(entry)}](#{anchor})" for entry, anchor in toc)
    return "\n".join(lines) + "\n"


_MD_LINK = re.compile(r'!?\[([^\]]*)\]\(\S*?(?:\s+"(?:[^"\\]|\\.)*")?\)')
_MD_EMPHASIS = re.compile(r"[`*_]+")


def plain_heading_text(text: str) -> str:
    """A heading's text as a reader sees it: links, code spans and emphasis reduced to their
    words, whitespace collapsed, case folded (for comparing a page's H1 with its title)."""
    text = _MD_LINK.sub(r"\1", text)
    return _one_line(_MD_EMPHASIS.sub("", text)).casefold()


def _heading_text(rest: str) -> str:
    return plain_heading_text(_CLOSING_HASHES.sub("", rest))


def demote_headings(markdown: str, title: str, *, shift: int | None = None) -> str:
    """Drop a first H1 equal to ``title`` (or, in a page without H1, a first heading of the
    page's top level equal to it); nest every other ATX heading under the section.

    The section heading is ``##``, so the page's remaining headings move one level deeper, or
    two when the page still has an H1 (a page with several top-level parts): their hierarchy is
    kept and nothing lands at the section's level. Comparison ignores case, whitespace and inline
    markup. Headings stop at ``######``; lines inside fenced code blocks are never touched.
    ``shift`` fixes the number of levels instead (0: only drop the H1 equal to ``title``).
    """
    lines = markdown.split("\n")
    wanted = plain_heading_text(title)
    headings: list[tuple[int, str, str, str]] = []  # line index, indent, hashes, rest
    # Only a line with "#" in its first four characters can be a heading: the code-fence mask
    # and the pattern are needed for those alone (a section is rendered for every page at
    # finalize, on one core: this was two thirds of its time).
    candidates = [index for index, line in enumerate(lines) if "#" in line[:4]]
    in_code = code_fence_mask(lines) if candidates else []
    for index in candidates:
        match = None if in_code[index] else _ATX_HEADING.match(lines[index])
        if match is not None:
            indent, hashes, rest = match.groups()
            headings.append((index, indent, hashes, rest))
    drop: int | None = None
    top = next((h for h in headings if len(h[2]) == 1), None)
    if top is None and headings and len(headings[0][2]) == min(len(h[2]) for h in headings):
        top = headings[0]  # no H1 (DocBook pages start at H2): the page's first, top heading
    if top is not None and _heading_text(top[3]) == wanted:
        drop = top[0]
    if shift is None and drop is not None and top is not None and len(top[2]) > 1:
        shift = max(0, 2 - len(top[2]))  # what was under the dropped title lands at ###
    if shift is None:
        shift = 2 if any(len(h[2]) == 1 and h[0] != drop for h in headings) else 1
    for index, indent, hashes, rest in headings if shift else ():
        lines[index] = f"{indent}{'#' * min(len(hashes) + shift, 6)}{rest}"
    if drop is None:
        return "\n".join(lines)
    after = drop + 1
    while after < len(lines) and not lines[after].strip():
        after += 1
    return "\n".join(lines[:drop] + lines[after:])


def render_section(page: SectionPage) -> str:
    """One page's section, starting with a blank line and ending with one newline.

    Its ``## title`` heading is what the contents entry from :func:`section_anchors` points to.
    """
    body = demote_headings(page.markdown, page.title).strip("\n")
    parts = [f"\n## {_one_line(page.title)}\n\nSource: {page.url}\n"]
    if body.strip():
        parts.append(f"\n{body}\n")
    return "".join(parts)


def iter_document(
    title: str,
    source_url: str,
    pages: Iterable[SectionPage],
    *,
    toc: Sequence[str] | None = None,
) -> Iterator[str]:
    """The document in chunks (header, then one chunk per page), for streaming writes.

    With ``toc`` (the page titles, in order) the pages are consumed lazily in one pass, one at
    a time; a page whose title differs from its ``toc`` entry, or a count mismatch, raises
    ``ValueError``. Without it, the pages are read into memory first to build the contents.
    """
    if toc is None:
        materialized = list(pages)
        titles: Sequence[str] = [page.title for page in materialized]
        pages = materialized
    else:
        titles = toc
    anchors = section_anchors(titles, title)
    yield render_header(title, source_url, list(zip(titles, anchors, strict=True)))
    count = 0
    for page in pages:
        if count >= len(titles) or page.title != titles[count]:
            raise ValueError(f"page {page.url} does not match contents entry {count}")
        yield render_section(page)
        count += 1
    if count != len(titles):
        raise ValueError(f"contents lists {len(titles)} pages, {count} were given")


def assemble_document(
    title: str,
    source_url: str,
    pages: Iterable[SectionPage],
    *,
    toc: Sequence[str] | None = None,
) -> str:
    """The whole document as one string (see :func:`iter_document` for ``toc``)."""
    return "".join(iter_document(title, source_url, pages, toc=toc))

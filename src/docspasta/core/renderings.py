"""Renderings of one crawl's stored pages: the same pages, in document order, as

- ``markdown``: the document (:mod:`docspasta.core.assemble`), optionally split into numbered
  parts under a token budget with an index (:mod:`docspasta.core.split`);
- ``llms-txt``: an index per llmstxt.org: ``# Title``, ``> summary``, then ``## Section`` lists
  of ``- [title](url): description`` links, one section per top folder of the site;
- ``llms-full``: the full text per the llms-full.txt convention: the title and summary, then
  every page as ``# title`` + ``Source: url`` + its markdown, pages separated by ``---``;
- ``jsonl``: one JSON object per page: url, title, markdown, tokens, order, fidelity;
- ``dir``: one ``.md`` file per page plus ``manifest.json``, for RAG pipelines.

Every rendering first removes cross-page boilerplate (:mod:`docspasta.core.boilerplate`), so all
of them show the same page texts. Everything here is pure: the same pages and options give the
same bytes (JSON keys in a fixed order, no timestamps).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, get_args
from urllib.parse import urlsplit

from docspasta.core.assemble import (
    SectionPage,
    demote_headings,
    plain_heading_text,
    render_header,
    render_section,
    section_anchors,
)
from docspasta.core.blocks import BlockKind, markdown_blocks
from docspasta.core.boilerplate import (
    BoilerplateCounter,
    PageKeys,
    block_keys,
    boilerplate_blocks,
    strip_boilerplate,
)
from docspasta.core.split import split_document
from docspasta.core.tokens import DEFAULT_ENCODING, count_tokens
from docspasta.domain import TokenEncoding

Format = Literal["markdown", "llms-txt", "llms-full", "jsonl", "dir"]
FORMATS: tuple[Format, ...] = get_args(Format)
MEDIA_TYPES: Mapping[Format, str] = {
    "markdown": "text/markdown; charset=utf-8",
    "llms-txt": "text/plain; charset=utf-8",
    "llms-full": "text/plain; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "dir": "application/json; charset=utf-8",
}
#: File names of the single-file renderings (the API's download name uses their suffix).
SUFFIXES: Mapping[Format, str] = {
    "markdown": ".md",
    "llms-txt": ".llms.txt",
    "llms-full": ".llms-full.txt",
    "jsonl": ".jsonl",
    "dir": "",
}
MANIFEST = "manifest.json"
DESCRIPTION_CHARS = 200
_ROOT_SECTION = "Docs"
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_INLINE_MARKUP = re.compile(r"[*_`]+|<[^>]+>")
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_FILE_CHARS = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class RenderPage:
    """A stored, completed page: its URL, title, whole markdown and fidelity record."""

    url: str
    title: str
    markdown: str
    fidelity: Mapping[str, int] | None = None


@dataclass(frozen=True)
class RenderedFile:
    """One output file: a relative POSIX path and its text."""

    path: str
    content: str


@dataclass(frozen=True)
class Rendering:
    """What a rendering produced: one file for most formats, several for ``dir`` and splits."""

    format: Format
    files: tuple[RenderedFile, ...]
    media_type: str

    @property
    def text(self) -> str:
        """The content of a single-file rendering (the first file: the index of a split)."""
        return self.files[0].content


def document_title(title: str | None, start_url: str) -> str:
    """A crawl's document title: the start page's title, else the start URL's host."""
    return title or urlsplit(start_url).netloc


def without_boilerplate(pages: Sequence[RenderPage]) -> list[RenderPage]:
    """The pages with the crawl's boilerplate blocks removed (the same objects if none)."""
    boilerplate = boilerplate_blocks(page.markdown for page in pages)
    if not boilerplate:
        return list(pages)
    return [replace(p, markdown=strip_boilerplate(p.markdown, boilerplate)) for p in pages]


class MarkdownDocument:
    """The markdown document built in two passes over the pages, holding one page at a time
    (finalize streams them from the database twice): :meth:`scan` every page in document
    order, then :meth:`header`, then :meth:`section` for every page in the same order. The
    bytes are :func:`render_markdown`'s."""

    def __init__(self, title: str, source_url: str) -> None:
        self.title = title
        self.source_url = source_url
        self._titles: list[str] = []
        self._counter = BoilerplateCounter()
        self._boilerplate: frozenset[bytes] | None = None

    def scan(self, page: RenderPage) -> None:
        """First pass: count the page's candidate boilerplate blocks, note its title."""
        self.scan_keys(page.title, block_keys(page.markdown))

    def scan_keys(self, title: str, keys: PageKeys) -> None:
        """:meth:`scan` for a page whose ``block_keys`` are known already."""
        if self._boilerplate is not None:
            raise RuntimeError("scan() after the second pass began")
        self._counter.add(keys)
        self._titles.append(title)

    def header(self) -> str:
        """The title, source and contents (after every page was scanned)."""
        self._boilerplate = self._counter.boilerplate()
        self._counter = BoilerplateCounter()  # its counts are not needed any more
        anchors = section_anchors(self._titles, self.title)
        toc = list(zip(self._titles, anchors, strict=True))
        return render_header(self.title, self.source_url, toc)

    def section(self, index: int, page: RenderPage) -> str:
        """Second pass: page ``index``'s section, its boilerplate removed."""
        if self._boilerplate is None:
            raise RuntimeError("section() before header()")
        if index >= len(self._titles) or page.title != self._titles[index]:
            raise ValueError(f"page {page.url} does not match contents entry {index}")
        markdown = strip_boilerplate(page.markdown, self._boilerplate)
        return render_section(SectionPage(url=page.url, title=page.title, markdown=markdown))


def render_markdown(title: str, source_url: str, pages: Sequence[RenderPage]) -> str:
    """The document: header, contents, one section per page (boilerplate removed)."""
    document = MarkdownDocument(title, source_url)
    for page in pages:
        document.scan(page)
    parts = [document.header()]
    parts += [document.section(index, page) for index, page in enumerate(pages)]
    return "".join(parts)


def _page_body(page: RenderPage) -> str:
    """The page's markdown without a leading H1 equal to its title, headings unchanged."""
    return demote_headings(page.markdown, page.title, shift=0).strip("\n")


def _plain(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    return _SPACES.sub(" ", _INLINE_MARKUP.sub("", text)).strip()


def description(markdown: str, limit: int = DESCRIPTION_CHARS) -> str:
    """The first prose paragraph of ``markdown`` as one plain line, cut at a sentence end or a
    word near ``limit`` characters ('' when the page has no prose paragraph)."""
    lines = markdown.split("\n")
    for block in markdown_blocks(lines):
        first = lines[block.start].lstrip()
        if block.kind is not BlockKind.TEXT or first[:1] in {"|", ">", "-", "*", "+", "!"}:
            continue
        if first[:1].isdigit() and re.match(r"\d+[.)]\s", first):
            continue
        text = _plain(" ".join(lines[block.start : block.end]))
        if len(text) < 2:
            continue
        if len(text) <= limit:
            return text
        sentences = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= limit]
        if sentences:
            return text[: sentences[-1]].strip()
        cut = text.rfind(" ", 0, limit)
        return text[: cut if cut > 0 else limit].rstrip(" ,;:") + "…"
    return ""


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _link_text(text: str) -> str:
    return re.sub(r"([\\\[\]])", r"\\\1", _one_line(text))


def _base_path(source_url: str) -> str:
    path = urlsplit(source_url).path or "/"
    return path[: path.rfind("/") + 1]


def _section_key(url: str, base: str) -> str:
    path = urlsplit(url).path
    relative = path[len(base) :] if path.startswith(base) else path.lstrip("/")
    return relative.split("/", 1)[0] if "/" in relative else ""


def llms_sections(
    source_url: str, pages: Sequence[RenderPage]
) -> list[tuple[str, list[RenderPage]]]:
    """Pages grouped by their first folder below the start URL's directory, in document order.

    Pages in that directory itself form the first section, ``Docs``; a folder's section is named
    by the title of its index page when the crawl has one, else by the folder name.
    """
    base = _base_path(source_url)
    groups: dict[str, list[RenderPage]] = {}
    for page in pages:
        groups.setdefault(_section_key(page.url, base), []).append(page)
    if "" in groups:  # the start directory first
        groups = {"": groups.pop(""), **groups}
    named: list[tuple[str, list[RenderPage]]] = []
    for key, members in groups.items():
        if not key:
            named.append((_ROOT_SECTION, members))
            continue
        index = next(
            (p for p in members if urlsplit(p.url).path.rstrip("/").endswith("/" + key)),
            None,
        )
        name = index.title if index is not None else key.replace("-", " ").replace("_", " ")
        named.append((_one_line(name) or key, members))
    return named


def render_llms_txt(title: str, source_url: str, pages: Sequence[RenderPage]) -> str:
    """An llms.txt index of the crawl (llmstxt.org): title, summary, sections of links."""
    pages = without_boilerplate(pages)
    lines = [f"# {_one_line(title)}", ""]
    summary = description(pages[0].markdown) if pages else ""
    if summary:
        lines += [f"> {summary}", ""]
    lines += [f"Source: {source_url}", ""]
    for name, members in llms_sections(source_url, pages):
        lines += [f"## {name}", ""]
        for page in members:
            about = description(page.markdown)
            entry = f"- [{_link_text(page.title)}]({page.url})"
            lines.append(f"{entry}: {about}" if about else entry)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_llms_full(title: str, source_url: str, pages: Sequence[RenderPage]) -> str:
    """Every page's full text under its own ``# title``, after the title and summary."""
    pages = without_boilerplate(pages)
    parts = [f"# {_one_line(title)}\n"]
    summary = description(pages[0].markdown) if pages else ""
    if summary:
        parts.append(f"\n> {summary}\n")
    parts.append(f"\nSource: {source_url}\n")
    for page in pages:
        parts.append(f"\n---\n\n# {_one_line(page.title)}\n\nSource: {page.url}\n")
        body = _page_body(page)
        if body.strip():
            parts.append(f"\n{body}\n")
    return "".join(parts)


def _records(pages: Sequence[RenderPage], encoding: TokenEncoding) -> list[tuple[RenderPage, int]]:
    return [(page, count_tokens(page.markdown, encoding)) for page in without_boilerplate(pages)]


def render_jsonl(pages: Sequence[RenderPage], encoding: TokenEncoding = DEFAULT_ENCODING) -> str:
    """One JSON object per line and page: url, title, markdown, tokens, order, fidelity."""
    lines = [
        json.dumps(
            {
                "url": page.url,
                "title": page.title,
                "markdown": page.markdown,
                "tokens": tokens,
                "order": order,
                "fidelity": dict(page.fidelity) if page.fidelity is not None else None,
            },
            ensure_ascii=False,
        )
        for order, (page, tokens) in enumerate(_records(pages, encoding))
    ]
    return "".join(line + "\n" for line in lines)


def page_file_name(order: int, url: str, source_url: str) -> str:
    """``pages/0001-tutorial-intro.md``: the document position, then the URL path below the
    start directory (the position keeps names unique and sorted)."""
    base = _base_path(source_url)
    path = urlsplit(url).path
    relative = path[len(base) :] if path.startswith(base) else path
    relative = re.sub(r"\.(html?|php|aspx?)$", "", relative.strip("/"), flags=re.IGNORECASE)
    stem = _FILE_CHARS.sub("-", relative).strip("-").lower()[:80].rstrip("-") or "index"
    return f"pages/{order + 1:04d}-{stem}.md"


def render_dir(
    title: str,
    source_url: str,
    pages: Sequence[RenderPage],
    encoding: TokenEncoding = DEFAULT_ENCODING,
) -> tuple[RenderedFile, ...]:
    """One markdown file per page (``# title``, ``Source: url``, its text) and a manifest."""
    files: list[RenderedFile] = []
    entries: list[dict[str, object]] = []
    for order, (page, tokens) in enumerate(_records(pages, encoding)):
        name = page_file_name(order, page.url, source_url)
        body = _page_body(page)
        text = f"# {_one_line(page.title)}\n\nSource: {page.url}\n" + (
            f"\n{body}\n" if body.strip() else ""
        )
        files.append(RenderedFile(name, text))
        entries.append(
            {
                "order": order,
                "file": name,
                "url": page.url,
                "title": page.title,
                "tokens": tokens,
                "fidelity": dict(page.fidelity) if page.fidelity is not None else None,
            }
        )
    manifest = {
        "title": title,
        "source": source_url,
        "encoding": encoding,
        "pages": entries,
        "total_tokens": sum(int(str(e["tokens"])) for e in entries),
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    return (RenderedFile(MANIFEST, text), *files)


def render(
    format: Format,
    title: str,
    source_url: str,
    pages: Sequence[RenderPage],
    *,
    encoding: TokenEncoding = DEFAULT_ENCODING,
    max_tokens: int | None = None,
    stem: str = "document",
) -> Rendering:
    """The rendering ``format`` of ``pages`` (completed pages in document order).

    ``max_tokens`` splits the markdown document into ``{stem}.part-NNN.md`` files of at most
    that many tokens, after an index file ``{stem}.md`` (``format`` must be ``markdown``).
    Raises ``ValueError`` for a ``max_tokens`` with another format or too small to hold a part.
    """
    media_type = MEDIA_TYPES[format]
    if max_tokens is not None:
        if format != "markdown":
            raise ValueError("max_tokens splits the markdown rendering only")
        sections = [
            SectionPage(url=p.url, title=p.title, markdown=p.markdown)
            for p in without_boilerplate(pages)
        ]
        files = split_document(title, source_url, sections, max_tokens, encoding, stem)
        return Rendering(format, tuple(RenderedFile(n, c) for n, c in files), media_type)
    if format == "dir":
        return Rendering(format, render_dir(title, source_url, pages, encoding), media_type)
    if format == "markdown":
        text = render_markdown(title, source_url, pages)
    elif format == "llms-txt":
        text = render_llms_txt(title, source_url, pages)
    elif format == "llms-full":
        text = render_llms_full(title, source_url, pages)
    else:
        text = render_jsonl(pages, encoding)
    return Rendering(format, (RenderedFile(stem + SUFFIXES[format], text),), media_type)


__all__ = [
    "FORMATS",
    "Format",
    "MarkdownDocument",
    "RenderPage",
    "RenderedFile",
    "Rendering",
    "description",
    "document_title",
    "plain_heading_text",
    "render",
    "render_markdown",
]

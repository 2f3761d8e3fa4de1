"""HTML -> markdown with html-to-markdown (Rust core), tuned for documentation pages.

What the output guarantees: ATX headings; fenced code blocks that keep their language and their
exact whitespace; GFM tables; absolute link and image URLs; no HTML comments; at most one blank
line in a row and no trailing whitespace outside code blocks; one final newline (or the empty
string for an empty page).

Before conversion the content is prepared in place (:func:`prepare_content`): docs structures
(:mod:`docspasta.core.structures`), code blocks (:mod:`docspasta.core.codeblocks`: one
``<pre><code class="language-X">`` per block, gutters gone) and tables
(:mod:`docspasta.core.tables`: spans expanded, block cells as `<br>` lines, nested tables as lists).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from html_to_markdown import ConversionOptions, convert
from selectolax.lexbor import LexborHTMLParser, LexborNode

from docspasta.core.codeblocks import normalize_code_blocks
from docspasta.core.rewrites import rewrite_structures
from docspasta.core.structures import rescue_structures
from docspasta.core.tables import normalize_tables

_FENCE_OPEN = re.compile(r"^(?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d+[.)])[ \t]+)?(`{3,}|~{3,})")
_QUOTE_PREFIX = re.compile(r"^(?:[ \t]*>)*")
#: An inline code span (group 1 its backticks: kept, ``<!--`` in code is text; it ends at a
#: blank line) or an HTML comment (removed).
_CODE_SPAN_OR_COMMENT = re.compile(
    r"(?<!`)(`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)\1(?!`)|<!--.*?-->", re.DOTALL
)
#: A paragraph of its own that :func:`tidy_markdown` turns into a blank line.
_SEPARATOR = "\ue000"


def _options(base_url: str) -> ConversionOptions:
    return ConversionOptions(
        heading_style="atx",
        bullets="-",
        code_block_style="backticks",
        newline_style="backslash",  # "  " hard breaks would be trailing whitespace
        extract_metadata=False,
        autolinks=True,
        wrap=False,
        base_url=base_url,
        # kept by rewrite_structures only when they hold plain text
        preserve_tags=["sup", "sub"],
        # a literal "*" in prose ("2*2*44100") would open emphasis; code, URLs stay as they are.
        # Underscores are not escaped: "snake_case" cannot open emphasis and would read
        # "snake\_case".
        escape_asterisks=True,
    )


def code_fence_spans(lines: Sequence[str]) -> list[tuple[int, int]]:
    """The fenced code blocks of ``lines``: (first line, line after the closing fence).

    Follows CommonMark: a fence is 3+ backticks or tildes; it is closed by a line of the same
    character, at least as long, with nothing else on it. Fences nested in list items (indented)
    and block quotes (``> `` prefixes) count too, as html-to-markdown writes them there. An
    unclosed fence runs to the end.
    """
    spans: list[tuple[int, int]] = []
    fence: str | None = None
    start = 0
    # Only a line holding a run of three backticks or tildes can open or close a fence.
    candidates = [i for i, line in enumerate(lines) if "```" in line or "~~~" in line]
    for index in candidates:
        line = lines[index]
        if fence is None:
            match = _FENCE_OPEN.match(line)
            if match and not (match.group(1)[0] == "`" and "`" in line[match.end() :]):
                fence, start = match.group(1), index
            continue
        if fence[0] * 3 not in line:
            continue
        stripped = _QUOTE_PREFIX.sub("", line).strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            fence = None
            spans.append((start, index + 1))
    if fence is not None:
        spans.append((start, len(lines)))
    return spans


def code_fence_mask(lines: Sequence[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (its fences included)."""
    mask = [False] * len(lines)
    for start, end in code_fence_spans(lines):
        mask[start:end] = [True] * (end - start)
    return mask


def _prose_segments(lines: Sequence[str]) -> Iterator[tuple[bool, list[str]]]:
    """Group lines into runs of (inside_code, lines)."""
    mask = code_fence_mask(lines)
    run: list[str] = []
    current = False
    for line, in_code in zip(lines, mask, strict=True):
        if run and in_code != current:
            yield current, run
            run = []
        current = in_code
        run.append(line)
    if run:
        yield current, run


def _without_comments(text: str) -> str:
    if "<!--" not in text:  # most prose holds no comment: skip the code-span scan
        return text
    return _CODE_SPAN_OR_COMMENT.sub(lambda m: m.group(0) if m.group(1) else "", text)


def tidy_markdown(text: str) -> str:
    """Clean converted markdown outside fenced code blocks; code is left byte for byte.

    Removes HTML comments and trailing whitespace, collapses runs of blank lines to one, strips
    leading and trailing blank lines, and ends the text with exactly one newline ("" if empty).
    """
    if "<!--" in text:  # comments go from prose only: code keeps them
        text = "\n".join(
            "\n".join(run) if in_code else _without_comments("\n".join(run))
            for in_code, run in _prose_segments(text.split("\n"))
        )
    lines = text.split("\n")
    out: list[str] = []
    previous_blank = True  # drops leading blank lines
    previous_code = False
    for line, in_code in zip(lines, code_fence_mask(lines), strict=True):
        quoted = line.lstrip().startswith(">")
        if in_code:
            if not previous_code and not previous_blank and not quoted:
                out.append("")  # a fence right after a paragraph line
            out.append(line)
            previous_blank, previous_code = False, True
            continue
        line = line.rstrip()
        if previous_code and line and not (quoted and out[-1].lstrip().startswith(">")):
            out.append("")  # a block right after a closing fence
            previous_blank = True
        previous_code = False
        if line == _SEPARATOR:
            line = ""
        elif quoted and not previous_blank and out and not out[-1].lstrip().startswith(">"):
            out.append("")  # a block quote right after a paragraph line
            previous_blank = True
        if not line and previous_blank:
            continue
        out.append(line)
        previous_blank = not line
    result = "\n".join(out).rstrip("\n")
    return result + "\n" if result.strip() else ""


def prepare_content(container: LexborNode) -> None:
    """Rewrite structures, code blocks and tables for conversion, in place.

    Run it after chrome removal; :func:`rescue_structures` (tabs, admonitions) runs before it.
    """
    rewrite_structures(container)
    normalize_code_blocks(container)
    normalize_tables(container)
    for quote in container.css("blockquote + blockquote"):
        # html-to-markdown joins adjacent quotes into one; a marker paragraph keeps them apart
        separator = container.parser.create_node("p")
        separator.insert_child(_SEPARATOR)
        quote.insert_before(separator)


def convert_node(container: LexborNode, base_url: str) -> str:
    """Convert an already prepared content node to tidy markdown.

    Relative ``href``/``src`` are resolved against ``base_url`` (the page URL, or its
    ``<base href>`` when present).
    """
    return convert_html(container.html or "", base_url)


def convert_html(html: str, base_url: str) -> str:
    """:func:`convert_node` for the content node's HTML, already serialised."""
    if not html.strip():
        return ""
    result = convert(html, _options(base_url))
    return tidy_markdown(result.content or "")


def node_to_markdown(container: LexborNode, base_url: str) -> str:
    """Prepare and convert an already parsed (and cleaned) content node, modified in place."""
    prepare_content(container)
    return convert_node(container, base_url)


def to_markdown(content_html: str, base_url: str) -> str:
    """Convert an HTML fragment (the main content of a page) to clean markdown.

    See the module docstring for what the output guarantees. Parses ``content_html`` once;
    callers that already hold a parsed tree use :func:`node_to_markdown` instead.
    """
    tree = LexborHTMLParser(content_html)
    body = tree.body
    if body is None:
        return ""
    rescue_structures(body)
    return node_to_markdown(body, base_url)

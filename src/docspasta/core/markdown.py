"""HTML -> markdown with html-to-markdown (Rust core), tuned for documentation pages.

What the output guarantees: ATX headings; fenced code blocks that keep their language and their
exact whitespace; GFM tables; absolute link and image URLs; no HTML comments; at most one blank
line in a row and no trailing whitespace outside code blocks; one final newline (or the empty
string for an empty page).

Code languages are read from the classes docs generators put on the ``<pre>``, its ``<code>`` or
a wrapper (``language-X``, ``lang-X``, ``highlight-X`` as Sphinx's
``<div class="highlight-python3"><div class="highlight"><pre>``) or a ``data-lang`` attribute,
and written back as ``class="language-X"`` before conversion, which html-to-markdown understands.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from html_to_markdown import ConversionOptions, convert
from selectolax.lexbor import LexborHTMLParser, LexborNode

_LANGUAGE_CLASS = re.compile(r"^(?:language|lang|highlight|sourceCode)-([\w+#.-]+)$", re.IGNORECASE)
#: Class suffixes that name no language (Sphinx's ``highlight-default`` is "the project default").
_NOT_A_LANGUAGE = frozenset({"default", "none", "plain", "plaintext", "nohighlight"})
#: How many ancestors of a ``<pre>`` may carry its language (Sphinx puts it two levels up).
_LANGUAGE_ANCESTORS = 3

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


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
    )


def _language_from(node: LexborNode) -> str | None:
    for attr in ("data-lang", "data-language"):
        value = (node.attributes.get(attr) or "").strip()
        if value and value.lower() not in _NOT_A_LANGUAGE:
            return value
    for token in (node.attributes.get("class") or "").split():
        match = _LANGUAGE_CLASS.match(token)
        if match and match.group(1).lower() not in _NOT_A_LANGUAGE:
            return match.group(1)
    return None


def _code_language(pre: LexborNode, container: LexborNode) -> str | None:
    code = pre.css_first("code")
    candidates: list[LexborNode] = [pre] if code is None else [code, pre]
    ancestor = pre.parent
    for _ in range(_LANGUAGE_ANCESTORS):
        if ancestor is None or ancestor.mem_id == container.mem_id:
            break
        candidates.append(ancestor)
        ancestor = ancestor.parent
    for node in candidates:
        language = _language_from(node)
        if language:
            return language
    return None


def mark_code_languages(container: LexborNode) -> None:
    """Rewrite every ``<pre>`` under ``container`` to carry ``class="language-X"`` in place.

    A ``<pre>`` whose language cannot be found loses its classes, so that no stray class
    (``highlight``, ``notranslate``) is mistaken for a language.
    """
    for pre in container.css("pre"):
        language = _code_language(pre, container)
        code = pre.css_first("code")
        if language is None:
            if "class" in pre.attrs:
                del pre.attrs["class"]
            if code is not None and "class" in code.attrs:
                del code.attrs["class"]
            continue
        pre.attrs["class"] = f"language-{language}"
        if code is not None:
            code.attrs["class"] = f"language-{language}"


def code_fence_mask(lines: Sequence[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (its fences included).

    Follows CommonMark: a fence is 3+ backticks or tildes indented at most 3 spaces; it is closed
    by a line of the same character, at least as long, with nothing else on it. An unclosed fence
    runs to the end.
    """
    mask: list[bool] = []
    fence: str | None = None
    for line in lines:
        if fence is None:
            match = _FENCE_OPEN.match(line)
            if match and not (match.group(1)[0] == "`" and "`" in line[match.end() :]):
                fence = match.group(1)
            mask.append(fence is not None)
            continue
        mask.append(True)
        stripped = line.strip()
        if (
            len(line) - len(line.lstrip(" ")) <= 3
            and stripped
            and set(stripped) == {fence[0]}
            and len(stripped) >= len(fence)
        ):
            fence = None
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


def tidy_markdown(text: str) -> str:
    """Clean converted markdown outside fenced code blocks; code is left byte for byte.

    Removes HTML comments and trailing whitespace, collapses runs of blank lines to one, strips
    leading and trailing blank lines, and ends the text with exactly one newline ("" if empty).
    """
    pieces = [
        "\n".join(run) if in_code else _HTML_COMMENT.sub("", "\n".join(run))
        for in_code, run in _prose_segments(text.split("\n"))
    ]
    lines = "\n".join(pieces).split("\n")
    out: list[str] = []
    previous_blank = True  # drops leading blank lines
    for line, in_code in zip(lines, code_fence_mask(lines), strict=True):
        if in_code:
            out.append(line)
            previous_blank = False
            continue
        line = line.rstrip()
        if not line and previous_blank:
            continue
        out.append(line)
        previous_blank = not line
    result = "\n".join(out).rstrip("\n")
    return result + "\n" if result.strip() else ""


def node_to_markdown(container: LexborNode, base_url: str) -> str:
    """Convert an already parsed (and cleaned) content node; it is modified in place.

    Relative ``href``/``src`` are resolved against ``base_url`` (the page URL, or its
    ``<base href>`` when present).
    """
    mark_code_languages(container)
    html = container.html or ""
    if not html.strip():
        return ""
    result = convert(html, _options(base_url))
    return tidy_markdown(result.content or "")


def to_markdown(content_html: str, base_url: str) -> str:
    """Convert an HTML fragment (the main content of a page) to clean markdown.

    See the module docstring for what the output guarantees. Parses ``content_html`` once;
    callers that already hold a parsed tree use :func:`node_to_markdown` instead.
    """
    tree = LexborHTMLParser(content_html)
    body = tree.body
    if body is None:
        return ""
    return node_to_markdown(body, base_url)

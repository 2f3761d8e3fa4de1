"""bench/quality: how faithful each tool's document is, on real doc sites served from 127.0.0.1.

For each corpus (bench/corpora.py) the three tools of bench/crawl (docspasta, the Scrapy +
html-to-markdown spider, trafilatura's crawler; bench/peers/) crawl the site in the same run,
with the harness's commands (bench/harness.py), or their outputs of an earlier run are reused
(``--reuse RUN_DIR``). Each output page (a ``Source: URL`` section) is then compared with ground
truth that does not come from docspasta's choices:

- **recall (rst)**, python3.11-doc only: the words of the reST source the package ships
  (``_sources/<page>.rst.txt``) that Sphinx renders as page text (:func:`rst_text`: markup,
  index entries, comments, directive options, role and link targets dropped; directive names
  as the labels Sphinx shows), multiset recall;
- **recall (container)**: the words of the generator's content container (Sphinx ``div.body``,
  DocBook's body without its navheader/navfooter and its ``div.toc`` tables of contents) as a
  browser lays its text out (:func:`rendered_text`), multiset recall;

An output's words are those of its markdown as a reader sees it (:func:`markdown_text`).
- **leak %**: output lines whose text is in the page but not in its content container
  (navigation, sidebars, footers), over all non-blank output lines;
- **fences / pre**: fenced blocks in the output vs ``<pre>`` in the container; **code recall**:
  multiset recall of the whitespace-separated tokens of the ``<pre>`` blocks within the fenced
  blocks; **lang %**: fenced blocks with a language over the ``<pre>`` whose page declares one
  (Sphinx ``highlight-X`` wrappers other than none/text);
- **rows / tr**: GFM table rows vs ``<tr>``; **heads Δ%**: |output headings - container headings|
  over container headings (the output's per-page section heading counted as the page's H1;
  DocBook's admonition titles, written as headings, not counted);
- **tau**: Kendall tau between the output's page order and the site's ``rel=next`` chain from the
  start page, over the pages both hold.

Run with the repo's venv (selectolax)::

    .venv/bin/python bench/quality.py [--corpus python|postgres|all] [--only TOOL] [--reuse DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpora import CORPORA, Corpus, in_scope_pages, prepare
from harness import TOOLS, Settings, Site, run_tool, start_server, warm_up
from peervenv import peers_python

#: The content container per corpus (the generator's own), and what inside it is not content.
CONTAINERS = {
    "python": ("div.body", ("a.headerlink",)),
    # DocBook: the body without its navigation bars and its part/chapter tables of contents
    # (div.toc: links to pages the document holds anyway, replaced by its own contents)
    "postgres": ("body", (".navheader", ".navfooter", "div.toc", "a.headerlink")),
}
#: Admonition titles (DocBook writes them as headings): a quote's title in the output, not a
#: heading, in every tool's markdown.
_ADMONITION_HEADINGS = ", ".join(
    f"div.{kind} {level}"
    for kind in ("note", "tip", "warning", "caution", "important", "admonition")
    for level in ("h1", "h2", "h3", "h4", "h5", "h6")
)
_WORD = re.compile(r"\w+", re.UNICODE)
_FENCE = re.compile(r"^\s*(?:>\s*)*(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
#: A GFM table row, also inside a block quote (an admonition's table) or a list item; counted
#: outside fenced code only (psql output in a code block is not a table).
_TABLE_ROW = re.compile(r"^\s*(?:>\s*)*\|")
_TABLE_SEP = re.compile(r"^\s*(?:>\s*)*\|(?:\s*:?-+:?\s*\|)+\s*$")
#: Links and images: their text kept (nested brackets as in ``[[1]](url)`` too) with no space
#: around it, as the link is inline (``[`descriptor`](url)s`` reads "descriptors"); so do code
#: span backticks. Emphasis marks (``*`` is also a character: ``2*2``, ``x*x``), heading and
#: quote marks, table pipes go with a space. Underscores stay (identifiers).
_MD_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)")
_MD_INLINE = re.compile(r"`+")
_MD_BLOCK = re.compile(r"[*#>|]+")


@dataclass
class Totals:
    """Sums over the pages of one tool's output."""

    pages: int = 0
    rst_want: int = 0
    rst_got: int = 0
    box_want: int = 0
    box_got: int = 0
    lines: int = 0
    leaked: int = 0
    pre: int = 0
    fences: int = 0
    code_want: int = 0
    code_got: int = 0
    declared: int = 0
    fences_lang: int = 0
    tr: int = 0
    rows: int = 0
    heads_html: int = 0
    heads_md: int = 0
    tau: float | None = None


def markdown_text(markdown: str) -> str:
    """The text a reader of ``markdown`` sees, its markup gone (see ``_MD_LINK``)."""
    return _MD_BLOCK.sub(" ", _MD_INLINE.sub("", _MD_LINK.sub(r"\1", markdown)))


def words(text: str) -> Counter[str]:
    return Counter(w.casefold() for w in _WORD.findall(text))


def recall(want: Counter[str], got: Counter[str]) -> tuple[int, int]:
    return sum(want.values()), sum(min(n, got[w]) for w, n in want.items())


#: Directives that render nothing a reader sees in HTML (or content the package does not ship:
#: ``include``, ``literalinclude``, ``raw``), dropped with their indented body.
_RST_DROP = frozenset(
    {"index", "highlight", "module", "currentmodule", "sectionauthor", "moduleauthor", "toctree",
     "testsetup", "testcleanup", "include", "literalinclude", "only", "raw", "program",
     "tabularcolumns", "audit-event-table"}
)  # fmt: skip
#: The words Sphinx 5 (with CPython's Doc/tools/extensions) renders for a directive's name:
#: ``.. versionadded:: 3.2`` is "New in version 3.2", ``.. note::`` a "Note" title, ``.. class::``
#: a "class" prefix; a directive not listed renders its arguments only.
_RST_LABELS = {
    "versionadded": "New in version", "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version", "deprecated-removed": "Deprecated since version",
    "note": "Note", "warning": "Warning", "important": "Important", "caution": "Caution",
    "tip": "Tip", "hint": "Hint", "danger": "Danger", "error": "Error", "attention": "Attention",
    "seealso": "See also", "impl-detail": "CPython implementation detail",
    "availability": "Availability", "audit-event": "Raises an auditing event",
    "class": "class", "exception": "exception", "classmethod": "classmethod",
    "staticmethod": "static", "abstractmethod": "abstractmethod",
    "coroutinefunction": "coroutine", "coroutinemethod": "coroutine",
    "awaitablefunction": "awaitable", "awaitablemethod": "awaitable",
}  # fmt: skip
#: Directives whose argument is not shown: a highlighting language, a doctest group name, an
#: image path.
_RST_HIDDEN_ARGUMENT = frozenset(
    {"code-block", "sourcecode", "code", "doctest", "testcode", "testoutput", "image", "figure"}
)
#: Directive options whose value is page text (a code block's caption, a CSV table's header
#: row); every other option configures rendering.
_RST_SHOWN_OPTIONS = frozenset({"caption", "header"})
#: Sphinx info fields: ``:param x:`` renders as "Parameters: x", ``:rtype:`` as "Return type",
#: so the field's first word is markup; ``:meta …:`` fields render nothing.
_RST_INFO_FIELDS = frozenset(
    {"param", "parameter", "arg", "argument", "key", "keyword", "kwarg", "kwparam", "type",
     "raises", "raise", "except", "exception", "var", "ivar", "cvar", "vartype", "returns",
     "return", "rtype", "returntype"}
)  # fmt: skip
_RST_EXPLICIT = re.compile(r"^(\s*)\.\.(?:\s+|$)")
_RST_DIRECTIVE = re.compile(r"([\w:-]+)::(.*)$")
_RST_FOOTNOTE = re.compile(r"\[(?:#[\w-]*|\*|[\w-]+)\]\s*(.*)$")
_RST_SUBSTITUTION = re.compile(r"\|([^|]+)\|\s+([\w-]+)::\s*(.*)$")
_RST_TARGET = re.compile(r"_`?([^`:]+)`?:")
_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+.:_])\1{2,}\s*$")
_RST_OPTION = re.compile(r":([\w-]+):\s*(.*)$")
_RST_FIELD = re.compile(r"^(\s*):([^:`\s][^:`]*):(?=\s|$)")
#: A directive inside a grid table cell (``| .. versionadded:: 3.4 |``).
_RST_CELL_DIRECTIVE = re.compile(r"\.\. ([\w:-]+)::")
#: Sphinx's ``trim_doctest_flags`` (on by default) removes these from rendered code, unless the
#: block says ``:no-trim-doctest-flags:``.
_RST_DOCTEST_FLAG = re.compile(r"#\s*doctest:.+$|^\s*<BLANKLINE>")
#: A role's content: ``title <target>`` shows the title (Sphinx's explicit_title_re); a role
#: does not run across the rows of a grid table.
_RST_EXPLICIT_TITLE = re.compile(r"^(.+?)\s*<([^<]*?)>$", re.DOTALL)
_RST_ROLE_USE = re.compile(r":([\w:.+-]+):`((?:[^`\n]|\n(?![ \t]*[|+]))*)`")
#: Roles to functions and methods: shown with ``()``.
_RST_CALLABLE_ROLES = frozenset({"func", "meth", "py:func", "py:meth", "c:func", "cpp:func"})
_RST_ROLE_NAME = re.compile(r":[\w:.+-]+:(?=`)")
_RST_ESCAPE = re.compile(r"\\ |(?<=`)\\(?=\S)")
#: The ``<target>`` closing a role cut by a grid table's row border.
_RST_CUT_TARGET = re.compile(r"\s*<[^<>`\s]+>`")
#: ``text <uri>`_`` or ``__`` (a hyperlink with an embedded target) shows the text only.
_RST_LINK = re.compile(r"`([^`]*?)\s*<([^`<>]*)>`__?")
#: The ``_`` of a reference (``name`_``), of a footnote or citation reference (``[1]_``) and
#: of a substitution used as a link (``|name|_``) is markup.
_RST_REFERENCE_MARK = re.compile(r"(?<=[`\]|])__?(?!\w)")
#: A reference to a named target (``nargs_`` where the source has ``.. _nargs:``).
_RST_NAMED_REFERENCE = re.compile(r"(?<![\w`])([\w][\w.+-]*?)__?(?![\w`])")
#: Auto-numbered footnote references render a number the source does not hold.
_RST_AUTO_FOOTNOTE = re.compile(r"\[(?:#[\w-]*|\*)\]_")
_RST_SUBSTITUTION_USE = re.compile(r"\|([^|\s](?:[^|]*[^|\s])?)\|")
#: Substitutions Sphinx defines itself, with values the source does not hold.
_RST_BUILTIN_SUBSTITUTIONS = frozenset({"version", "release", "today"})
#: Directives whose body documents the members of a class: a member's ``Class.`` prefix is
#: not shown there (Sphinx's PyObject.handle_signature).
_RST_CLASSES = frozenset({"class", "exception"})


def _rst_role(match: re.Match[str]) -> str:
    role, content = match.group(1), match.group(2)
    if role == "abbr":
        # the explanation is the <abbr title> tooltip, not page text
        return re.sub(r"\s*\(.*\)\s*$", "", content, flags=re.DOTALL)
    if role in {"sup", "sub"}:
        return f" {content} "  # a token of its own, as in the container (rendered_text)
    if role in {"samp", "file"}:
        return content.replace("{", "").replace("}", "")  # ``{x}`` is shown as an emphasised x
    titled = _RST_EXPLICIT_TITLE.match(content)
    if titled:
        return titled.group(1)
    if role in {"ref", "doc", "std:ref", "std:doc"}:
        return ""  # shown as the target's title, which the source does not hold here
    if content.startswith("!"):
        content = content[1:]
    elif content.startswith("~"):
        content = content[1:].rsplit(".", 1)[-1]  # ``~a.b.c`` shows ``c``
    if role in _RST_CALLABLE_ROLES and not content.endswith(")"):
        content += "()"  # Sphinx's add_function_parentheses (on by default)
    return content


def _rst_directive(name: str, argument: str) -> str:
    if name in _RST_HIDDEN_ARGUMENT:
        argument = ""
    elif name == "audit-event":
        # "… event NAME with argument(s) A, B." or "with no arguments"; the third is a label
        event, *rest = argument.split() or [""]
        shown = [arg for arg in (rest[0] if rest else "").strip('"').split(",") if arg]
        plural = "s" if len(shown) != 1 else ""
        argument = f"{event} with {' '.join(shown) or 'no'} argument{plural}"
    elif name == "deprecated-removed":
        argument = " removed in version ".join(argument.split()[:2])
    return f"{_RST_LABELS.get(name, '')} {argument}".strip()


class _RstReader:
    """One pass over a reST source, keeping the lines (and parts of lines) a reader sees."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.substitutions: dict[str, str] = {}
        self.targets: set[str] = set()
        self.kept: list[str] = []
        self.skip_deeper_than: int | None = None  # dropping an indented block
        self.directive: tuple[int, str] | None = None  # its argument and option lines
        self.untrimmed_deeper_than: int | None = None  # a ``:no-trim-doctest-flags:`` block
        self.classes: list[tuple[int, str]] = []  # the class directives around the line
        # an audit-event's label, shown only when the directive has no content of its own
        self.label: tuple[int, int] | None = None

    def read(self) -> str:
        for line, following in zip(self.lines, [*self.lines[1:], ""], strict=True):
            if line.strip() and _RST_ADORNMENT.match(following):
                self.targets.add(line.strip().casefold())  # a section title is a target too
            explicit = _RST_EXPLICIT.match(line)
            rest = line[explicit.end() :] if explicit else ""
            if found := _RST_SUBSTITUTION.match(rest):
                replace = found.group(2) == "replace"
                self.substitutions[found.group(1)] = found.group(3) if replace else ""
            elif found := _RST_TARGET.match(rest):
                self.targets.add(found.group(1).strip().casefold())
        for line in self.lines:
            self._line(line)
        return self._inline("\n".join(self.kept))

    def _line(self, line: str) -> None:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if self.skip_deeper_than is not None:
            if not stripped or indent > self.skip_deeper_than:
                return
            self.skip_deeper_than = None
        if stripped:
            self._leave_blocks(indent)
        if self.directive is not None and self._directive_line(stripped, indent):
            return
        explicit = _RST_EXPLICIT.match(line)
        if explicit:
            self._explicit(line[explicit.end() :], indent)
        elif not line.startswith("__ "):  # an anonymous hyperlink target
            self.kept.append(self._plain(line))

    def _leave_blocks(self, indent: int) -> None:
        if self.untrimmed_deeper_than is not None and indent <= self.untrimmed_deeper_than:
            self.untrimmed_deeper_than = None
        while self.classes and indent <= self.classes[-1][0]:
            self.classes.pop()
        if self.label is not None and self.directive is None:
            position, directive_indent = self.label
            if indent > directive_indent:
                self.kept[position] = ""  # the directive's content replaces its label
            self.label = None

    def _directive_line(self, stripped: str, indent: int) -> bool:
        """An option or argument line of the directive just read; False once it is over."""
        assert self.directive is not None
        directive_indent, _ = self.directive
        if not stripped or indent <= directive_indent:
            self.directive = None
            return False
        option = _RST_OPTION.match(stripped)
        if option is None:
            self.kept.append(self._member(stripped))  # another signature, or the first line
        elif option.group(1) == "no-trim-doctest-flags":
            self.untrimmed_deeper_than = directive_indent
        elif option.group(1) == "hide":
            self.skip_deeper_than = directive_indent  # a doctest that is run, not shown
            self.directive = None
        elif option.group(1) in _RST_SHOWN_OPTIONS:
            self.kept.append(option.group(2))
        return True

    def _explicit(self, rest: str, indent: int) -> None:
        directive = _RST_DIRECTIVE.match(rest)
        if directive is None or directive.group(1) in _RST_DROP:
            footnote = None if directive else _RST_FOOTNOTE.match(rest)
            if footnote:
                self.kept.append(footnote.group(1))  # a footnote or citation: its text is shown
            else:
                self.skip_deeper_than = indent  # a comment, target or substitution definition
            return
        name, argument = directive.group(1), self._member(directive.group(2).strip())
        self.directive = (indent, name)
        if name == "audit-event":
            self.label = (len(self.kept), indent)
        self.kept.append(_rst_directive(name, argument))
        if name in _RST_CLASSES:
            self.classes.append((indent, re.sub(r"[^\w.].*$", "", argument)))

    def _member(self, signature: str) -> str:
        """``Class.name(…)`` documented inside ``.. class:: Class`` shows ``name(…)``."""
        if self.classes and signature.startswith(self.classes[-1][1] + "."):
            return signature[len(self.classes[-1][1]) + 1 :]
        return signature

    def _plain(self, line: str) -> str:
        field = _RST_FIELD.match(line)
        if field:
            name = field.group(2).split()
            if name[0] == "meta":
                return ""
            if name[0] in _RST_INFO_FIELDS:
                line = field.group(1) + " ".join(name[1:]) + line[field.end() :]
        if line.lstrip().startswith("|"):
            line = _RST_CELL_DIRECTIVE.sub(lambda m: _rst_directive(m.group(1), ""), line)
        if self.untrimmed_deeper_than is None:
            line = _RST_DOCTEST_FLAG.sub("", line)
        return line

    def _inline(self, text: str) -> str:
        text = _RST_SUBSTITUTION_USE.sub(
            lambda m: self.substitutions.get(
                m.group(1), "" if m.group(1) in _RST_BUILTIN_SUBSTITUTIONS else m.group(0)
            ),
            text,
        )
        # an escaped space is removed, and the backslash escaping a character after
        # interpreted text (``x`\ s``, ``x`\s`` read "xs"; in code a backslash stays)
        text = _RST_ESCAPE.sub("", text)
        text = _RST_AUTO_FOOTNOTE.sub("", text)
        text = _RST_ROLE_USE.sub(_rst_role, text)
        text = _RST_CUT_TARGET.sub("`", _RST_ROLE_NAME.sub("", text))
        text = _RST_LINK.sub(lambda m: m.group(1) or m.group(2), text)
        text = _RST_NAMED_REFERENCE.sub(
            lambda m: m.group(1) if m.group(1).casefold() in self.targets else m.group(0), text
        )
        return _RST_REFERENCE_MARK.sub("", text)


def rst_text(source: str) -> str:
    """The words a reader sees of a reST source as Sphinx renders it to HTML.

    Dropped: directives that render nothing and comments, hyperlink targets and substitution
    definitions (each with its indented body), directive options (but captions and CSV headers),
    role names and the targets of roles and links that show a title, doctest flags, the class
    prefix of members documented inside their class. Kept: directive arguments (as Sphinx labels
    them: ``.. versionadded:: 3.2`` is "New in version 3.2"), directive bodies, field lists
    (without the Sphinx info field names), footnote bodies, substitutions replaced by their text.
    """
    return _RstReader(source).read()


def sections(document: str) -> list[tuple[str, str]]:
    """(url, markdown) of each page section of a docspasta-layout document, in order."""
    lines = document.split("\n")
    starts = [
        i
        for i, line in enumerate(lines)
        if line.startswith("Source: ") and i >= 2 and lines[i - 2].startswith("## ")
    ]
    out: list[tuple[str, str]] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] - 2 if n + 1 < len(starts) else len(lines)
        body = "\n".join([lines[start - 2], *lines[start + 1 : end]])
        out.append((lines[start][len("Source: ") :].strip(), body))
    return out


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(info string, code) of each fenced block."""
    blocks: list[tuple[str, str]] = []
    fence: str | None = None
    info = ""
    body: list[str] = []
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, info, body = match.group(1), match.group(2).strip(), []
            continue
        closing = match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)
        if closing and match and not match.group(2).strip():
            blocks.append((info, "\n".join(body)))
            fence = None
            continue
        body.append(line)
    return blocks


def _outside_fences(markdown: str) -> list[str]:
    """The lines of ``markdown`` that are not in a fenced block (fences included)."""
    lines: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
            else:
                lines.append(line)
            continue
        closing = match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)
        if closing and match and not match.group(2).strip():
            fence = None
    return lines


def prose_lines(markdown: str) -> list[str]:
    """Non-blank lines outside fenced blocks, markup stripped, the section heading skipped."""
    lines: list[str] = []
    inside = None
    for line in markdown.split("\n")[1:]:
        match = _FENCE.match(line)
        if inside is None and match:
            inside = match.group(1)
            continue
        if inside is not None:
            if match and match.group(1)[0] == inside[0] and not match.group(2).strip():
                inside = None
            continue
        text = " ".join(_WORD.findall(markdown_text(line))).casefold()
        if text and not line.startswith("Source: "):
            lines.append(text)
    return lines


def container(html: bytes, corpus: str) -> tuple[LexborHTMLParser, LexborNode | None]:
    tree = LexborHTMLParser(html)
    selector, remove = CONTAINERS[corpus]
    node = tree.css_first(selector)
    if node is not None:
        for junk in node.css(", ".join(remove)):
            junk.decompose()
    return tree, node


#: Elements a browser lays out inline: their text joins its neighbours' (Pygments writes
#: ``'01\t012'`` as five spans, one string; ``J<em>n</em>`` reads "Jn").
_INLINE = frozenset(
    {"a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em",
     "font", "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "time", "tt",
     "u", "var", "wbr"}
)  # fmt: skip
#: Not rendered as text.
_UNSEEN = frozenset({"script", "style", "template", "noscript"})


def rendered_text(node: LexborNode) -> str:
    """The text a browser shows of ``node``: text nodes joined as laid out, a space at the
    edges of every element that is not inline (blocks, cells, ``<br>``; ``<sup>``/``<sub>``
    too: ``2<sup>64</sup>`` is two to the 64th, not the number 264), comments, scripts and
    styles left out."""
    parts: list[str] = []

    def walk(parent: LexborNode) -> None:
        for child in parent.iter(include_text=True):
            tag = child.tag or ""
            if tag == "-text":
                parts.append(child.text_content or "")
            elif tag.startswith("-") or tag in _UNSEEN:
                continue
            elif tag in _INLINE:
                walk(child)
            else:
                parts.append(" ")
                walk(child)
                parts.append(" ")

    walk(node)
    return "".join(parts)


def _normalised(text: str) -> str:
    return " ".join(_WORD.findall(text)).casefold()


def measure_page(totals: Totals, corpus: str, html: bytes, markdown: str, rst: str | None) -> None:
    tree, box = container(html, corpus)
    if box is None:
        return
    totals.pages += 1
    got = words(markdown_text(markdown))
    if rst is not None:
        want, hit = recall(words(rst_text(rst)), got)
        totals.rst_want += want
        totals.rst_got += hit
    text = rendered_text(box)
    want, hit = recall(words(text), got)
    totals.box_want += want
    totals.box_got += hit
    inside = _normalised(text)
    body = tree.body
    page = _normalised(rendered_text(body)) if body is not None else ""
    for line in prose_lines(markdown):
        totals.lines += 1
        if len(line) > 3 and line not in inside and line in page:
            totals.leaked += 1
    pres = box.css("pre")
    fences = fenced_blocks(markdown)
    totals.pre += len(pres)
    totals.fences += len(fences)
    want, hit = recall(
        Counter(t for pre in pres for t in pre.text().split()),
        Counter(t for _, code in fences for t in code.split()),
    )
    totals.code_want += want
    totals.code_got += hit
    for pre in pres:
        wrapper = pre.parent.parent if pre.parent is not None else None
        classes = (wrapper.attributes.get("class") or "") if wrapper is not None else ""
        declared = re.search(r"highlight-(\S+)", classes)
        if declared and declared.group(1) not in {"none", "text"}:
            totals.declared += 1
    totals.fences_lang += min(
        sum(1 for info, _ in fences if info), totals.declared - totals.fences_lang
    )
    totals.tr += len(box.css("tr"))
    totals.rows += sum(
        1
        for line in _outside_fences(markdown)
        if _TABLE_ROW.match(line) and not _TABLE_SEP.match(line)
    )
    admonitions = {h.mem_id for h in box.css(_ADMONITION_HEADINGS)}
    totals.heads_html += sum(
        1
        for h in box.css("h1, h2, h3, h4, h5, h6")
        if h.text(strip=True) and h.mem_id not in admonitions
    )
    totals.heads_md += sum(1 for line in markdown.split("\n") if _HEADING.match(line)) - _in_fences(
        markdown
    )


def _in_fences(markdown: str) -> int:
    return sum(
        1
        for _, code in fenced_blocks(markdown)
        for line in code.split("\n")
        if _HEADING.match(line)
    )


def next_chain(root: Path, corpus: Corpus) -> list[str]:
    """The URL paths of the ``rel=next`` chain from the start page, within the scope."""
    chain = [corpus.start_path]
    seen = set(chain)
    while True:
        path = root / chain[-1].lstrip("/")
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            return chain
        link = LexborHTMLParser(path.read_bytes()).css_first("link[rel=next][href]")
        href = link.attributes.get("href") if link is not None else None
        if not href:
            return chain
        following = urlsplit(urljoin(chain[-1], href)).path
        if following in seen or not following.startswith(corpus.scope_dir):
            return chain
        chain.append(following)
        seen.add(following)


def kendall_tau(order: Sequence[str], truth: Sequence[str]) -> float | None:
    rank = {page: i for i, page in enumerate(truth)}
    common = [rank[page] for page in dict.fromkeys(order) if page in rank]
    n = len(common)
    if n < 2:
        return None
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            if common[i] < common[j]:
                concordant += 1
            else:
                discordant += 1
    return (concordant - discordant) / (n * (n - 1) / 2)


def measure_output(out: Path, corpus: Corpus, root: Path) -> Totals:
    totals = Totals()
    if not out.is_file():
        return totals
    order: list[str] = []
    for url, markdown in sections(out.read_text(encoding="utf-8", errors="replace")):
        path = urlsplit(url).path
        order.append(path)
        file = root / path.lstrip("/")
        if path.endswith("/"):
            file = file / "index.html"
        if not file.is_file():
            continue
        rst = None
        if corpus.name == "python":
            source = root / "_sources" / (path.lstrip("/").removesuffix(".html") + ".rst.txt")
            rst = source.read_text(encoding="utf-8") if source.is_file() else None
        measure_page(totals, corpus.name, file.read_bytes(), markdown, rst)
    totals.tau = kendall_tau(order, next_chain(root, corpus))
    return totals


def _ratio(got: int, want: int) -> str:
    return f"{got / want:.4f}" if want else "—"


def render_table(title: str, rows: Iterable[tuple[str, Totals]]) -> str:
    header = (
        "| tool | pages | recall (rst) | recall (container) | leak % | fences / pre | code recall "
        "| lang % | rows / tr | heads Δ% | tau |"
    )
    lines = [f"### {title}", "", header, "|" + "---|" * 11]
    for tool, t in rows:
        heads = (
            f"{abs(t.heads_md - t.heads_html) / t.heads_html * 100:.1f}" if t.heads_html else "—"
        )
        lines.append(
            f"| {tool} | {t.pages} | {_ratio(t.rst_got, t.rst_want)} "
            f"| {_ratio(t.box_got, t.box_want)} "
            f"| {t.leaked / t.lines * 100 if t.lines else 0:.2f} "
            f"| {t.fences} / {t.pre} | {_ratio(t.code_got, t.code_want)} "
            f"| {t.fences_lang / t.declared * 100 if t.declared else 100:.1f} "
            f"| {t.rows} / {t.tr} | {heads} "
            f"| {'—' if t.tau is None else f'{t.tau:.3f}'} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="python")
    parser.add_argument("--only", choices=TOOLS, action="append", help="only this tool")
    parser.add_argument("--reuse", type=Path, help="measure the outputs of this bench/crawl run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-pages", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "docspasta-bench"
    )
    parser.add_argument(
        "--docspasta",
        type=Path,
        default=Path(__file__).resolve().parent.parent / ".venv/bin/docspasta",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tools = [tool for tool in TOOLS if tool in (args.only or TOOLS)]
    corpora = list(CORPORA.values()) if args.corpus == "all" else [CORPORA[args.corpus]]
    cache_dir = args.cache_dir.expanduser().resolve()
    run_dir = args.reuse or cache_dir / "runs" / (
        "quality-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    )
    tables = []
    for corpus in corpora:
        root = prepare(corpus, cache_dir)
        if args.reuse is None:
            settings = Settings(
                concurrency=args.concurrency,
                max_pages=args.max_pages,
                timeout=args.timeout,
                db=None,
                docspasta=args.docspasta,
                peers_python=peers_python(cache_dir) if tools != ["docspasta"] else None,
            )
            server, port = start_server(root, args.port)
            try:
                site = Site(corpus, root, port)
                warm_up(site, sorted(in_scope_pages(corpus, root)))
                for tool in tools:
                    run_tool(tool, settings, site, run_dir / corpus.name / tool)
            finally:
                server.terminate()
                server.wait()
        rows = [
            (tool, measure_output(run_dir / corpus.name / tool / "out.md", corpus, root))
            for tool in tools
        ]
        chain = next_chain(root, corpus)
        where = run_dir / corpus.name
        title = f"{corpus.title}: rel=next chain of {len(chain)} pages; outputs in {where}"
        tables.append(render_table(title, rows))
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Docs structures rewritten, in place, to HTML that converts to readable markdown.

Two passes around the removal of page chrome (:func:`docspasta.core.extract.clean_content`):

:func:`rescue_structures` runs BEFORE it, on what chrome removal would otherwise destroy:

- tabs (ARIA ``role=tablist``/``role=tabpanel`` as Docusaurus, Starlight, Nextra, sphinx-tabs,
  Docsy write them; Material's ``.tabbed-set``; sphinx-design's ``.sd-tab-set``; VitePress code
  groups): every panel is kept, hidden or not, preceded by its tab's name in bold; the tab
  buttons go;
- admonitions (Sphinx/MkDocs ``.admonition``, Docusaurus ``.theme-admonition``, VitePress
  ``.custom-block``, Starlight's ``<aside>``, Nextra callouts, Docsy alerts, DocBook's
  ``div.note``…, pydoctor's ``.rst-admonition``) and docutils sidebars (``.. sidebar::``,
  an ``<aside>`` chrome removal takes for a page's sidebar) become ``<blockquote>`` starting
  with their title in bold: a title element, else a bold line standing alone at the start (Nextra
  4's ``<b>Warning</b>``), else the kind of admonition from its classes, Nextra 2's emoji or
  Nextra 3/4's colour (``x:bg-yellow-50``: warning);
- docutils' ``.. contents::`` (a ``<nav>`` since docutils 0.18, a ``div.topic`` before) becomes
  a ``<div>``: its list belongs to the text that introduces it.

:func:`rewrite_structures` runs AFTER it: API signatures (Sphinx ``dl.py dt.sig`` and its other
domains, Javadoc ``.member-signature``/``.type-signature``, pydoctor's ``div.functionHeader``;
rustdoc item declarations are already ``<pre>``) become inline code or code blocks; pydoctor's
``table.fieldTable`` becomes each group's name in bold and a list of its rows; other definition
terms become bold paragraphs; Doxygen's ``div.title`` becomes the page's ``<h1>``; Javadoc's
grid summary tables become ``<table>``; ``<sup>``/``<sub>`` holding plain text stay HTML in the
markdown (``2<sup>64</sup>`` is not 264), those holding or inside a link (footnote markers)
become their text;
``<acronym>`` (DocBook's) becomes ``<abbr>`` and ``<big>``/``<nobr>`` their text: html-to-markdown
drops the line break before an inline element it does not know, gluing ``<code>https</code>``
and an ``<acronym>URL</acronym>`` on the next line into one word.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from docspasta.core.tables import owning_table

_SPACES = re.compile(r"\s+")
_ADMONITION_KINDS = (
    "note", "tip", "hint", "info", "important", "warning", "caution", "danger", "error",
    "attention", "seealso", "success", "question", "example", "quote", "abstract", "todo",
    "bug", "failure", "deprecated",
)  # fmt: skip
#: Admonition containers and where their title is.
_ADMONITIONS: tuple[tuple[str, str], ...] = (
    ("div.admonition", "p.admonition-title, .admonition-title"),
    ("details.admonition, .md-typeset details", "summary"),
    ("div.theme-admonition", "[class*=admonitionHeading]"),
    ("div.custom-block", ".custom-block-title"),
    ("details.custom-block", "summary"),
    ("aside.starlight-aside", ".starlight-aside__title"),
    ("div.nextra-callout", ""),
    ("div.alert", ".alert-heading"),
    ("div.callout", ".callout-title"),
    ("div.rst-admonition", ".rst-admonition-title"),
    ("aside.sidebar:has(> .sidebar-title), div.sidebar:has(> .sidebar-title)", ".sidebar-title"),
    (
        "div.note:has(> .title), div.tip:has(> .title), div.warning:has(> .title), "
        "div.caution:has(> .title), div.important:has(> .title)",
        ".title",
    ),
)
#: Kinds of callouts that say theirs only by an emoji (Nextra 2) or a colour (Nextra 3 and 4:
#: ``x:bg-yellow-50``, ``nx-bg-orange-50``), as Nextra maps its callout types to them.
_ICON_KINDS = {"💡": "Tip", "\u2139": "Note", "⚠": "Warning", "🚫": "Caution", "🛑": "Caution",
               "❗": "Important"}  # fmt: skip
_COLOUR_CLASS = re.compile(r"(?:^|[:-])bg-(blue|green|orange|yellow|red|purple)-\d")
_COLOUR_KINDS = {"blue": "Note", "green": "Tip", "orange": "Tip", "yellow": "Warning",
                 "red": "Caution", "purple": "Important"}  # fmt: skip
#: The longest a bold line can be and still be an admonition's title.
_TITLE_LENGTH = 40
_ANY_ADMONITION = ", ".join(selector for selector, _ in _ADMONITIONS)
_MATERIAL_LABELS = ".tabbed-labels > label, div.tabbed-set > label"
_MATERIAL_BLOCKS = (
    ".tabbed-content > .tabbed-block, div.tabbed-set > .tabbed-content:not(:has(> .tabbed-block))"
)
#: docutils' table of contents (a ``nav`` since 0.18); Doxygen's ``div.contents`` is no nav.
_LOCAL_CONTENTS = "nav.contents:has(> ul.simple), nav.contents:has(> .topic-title)"
_ANY_TABS = "[role=tablist], div.tabbed-set, div.sd-tab-set, div.vp-code-group"
#: Classes of a ``<dl>`` whose terms are API signatures (Sphinx domains and object types).
_SIGNATURE_LISTS = frozenset(
    {"py", "c", "cpp", "js", "rst", "std", "function", "class", "method", "attribute", "data",
     "exception", "describe", "object"}
)  # fmt: skip
_REWRITTEN = (
    "div.memproto, table.memberdecls tr.heading, "
    "div.headertitle > div.title, div.member-signature, div.type-signature, dt, div.summary-table, "
    "div.functionHeader, table.fieldTable"
)
#: Stands for a ``<br>`` while a signature's text is read.
_LINE_MARK = "\u2028"


def _text(node: LexborNode) -> str:
    return _SPACES.sub(" ", node.text()).strip()


def _bold_paragraph(anchor: LexborNode, text: str) -> LexborNode:
    parser = anchor.parser
    paragraph = parser.create_node("p")
    strong = parser.create_node("strong")
    strong.insert_child(text)
    paragraph.insert_child(strong, move=True)
    return paragraph


def _move_children(source: LexborNode, target: LexborNode) -> None:
    for child in list(source.iter(include_text=True)):
        target.insert_child(child, move=True)


def _unhide(node: LexborNode) -> None:
    for attr in ("hidden", "aria-hidden", "style"):
        if attr in node.attrs:
            del node.attrs[attr]


def _label_panels(labels: list[str], panels: list[LexborNode]) -> None:
    for label, panel in zip(labels, panels, strict=False):
        _unhide(panel)
        if label:
            panel.insert_before(_bold_paragraph(panel, label))


def _aria_tabs(container: LexborNode) -> None:
    for tablist in container.css("[role=tablist]"):
        tabs = tablist.css("[role=tab]")
        scope: LexborNode | None = tablist.parent
        panels: list[LexborNode] = []
        for _ in range(2):
            if scope is None:
                break
            panels = scope.css("[role=tabpanel]")
            if panels:
                break
            scope = scope.parent
        by_id = {panel.attributes.get("id") or "": panel for panel in panels}
        by_id.pop("", None)
        labels = [_text(tab) for tab in tabs]
        controlled = [by_id.get(tab.attributes.get("aria-controls") or "") for tab in tabs]
        distinct = {panel.mem_id for panel in controlled if panel is not None}
        if panels and len(distinct) == len(tabs) == len(controlled):
            ordered = [panel for panel in controlled if panel is not None]
            _label_panels(labels, ordered)
        elif len(panels) == len(tabs) and not any(controlled):
            _label_panels(labels, panels)
        else:
            for panel in panels:
                _unhide(panel)
        tablist.decompose()


def _paired_tabs(container: LexborNode, sets: str, labels: str, panels: str) -> None:
    for tab_set in container.css(sets):
        names = [_text(label) for label in tab_set.css(labels)]
        blocks = tab_set.css(panels)
        if len(names) != len(blocks):
            continue
        _label_panels(names, blocks)
        for label in tab_set.css(labels):
            label.decompose()
        for radio in tab_set.css("input"):
            radio.decompose()


def _admonition_kind(node: LexborNode, icon: str = "") -> str:
    classes = (node.attributes.get("class") or "").lower().split()
    for kind in _ADMONITION_KINDS:
        if kind in classes or any(token.endswith(f"--{kind}") for token in classes):
            return kind.capitalize()
    if icon in _ICON_KINDS:
        return _ICON_KINDS[icon]
    for token in classes:
        colour = _COLOUR_CLASS.search(token)
        if colour is not None:
            return _COLOUR_KINDS[colour.group(1)]
    return "Note"


def _callout_icon(node: LexborNode) -> str:
    """A Nextra callout's icon cell (its first ``<div>``, an emoji or an ``<svg>``) goes; its
    emoji is returned: the only place Nextra 2 says which kind of callout this is."""
    cells = [child for child in node.iter() if child.tag == "div"]
    if len(cells) < 2 or cells[0].css_first("p, pre, ul, ol, table") is not None:
        return ""
    icon = _text(cells[0]).replace("\ufe0f", "")
    if any(character.isalnum() for character in icon):
        return ""  # words, not an icon
    cells[0].decompose()
    return icon


def _leading_title(node: LexborNode) -> LexborNode | None:
    """A ``<b>``/``<strong>`` standing alone at the start of an admonition without a title
    element (Nextra 4 writes ``<b>Warning</b>`` before the first paragraph): its title."""
    first = _first_element(node)
    while first is not None and first.tag == "div":
        first = _first_element(first)
    if first is not None and first.tag == "p":
        only = _first_element(first)
        if only is None or only.tag not in {"b", "strong"} or _text(only) != _text(first):
            return None
        return first if len(_text(first)) <= _TITLE_LENGTH else None
    if first is None or first.tag not in {"b", "strong"} or len(_text(first)) > _TITLE_LENGTH:
        return None
    after = first.next
    while after is not None and after.tag == "-text" and not (after.text() or "").strip():
        after = after.next
    if after is None or after.tag in {"br", "p", "div", "ul", "ol", "pre", "blockquote"}:
        return first
    return None


def _first_element(node: LexborNode) -> LexborNode | None:
    """The first child element of ``node``, ``None`` when text comes before any."""
    for child in node.iter(include_text=True):
        if child.tag == "-text":
            if (child.text() or "").strip():
                return None
            continue
        if child.tag != "-comment":
            return child
    return None


def _admonitions(container: LexborNode) -> None:
    for node in container.css(_ANY_ADMONITION):
        title_selector = next(
            (title for selector, title in _ADMONITIONS if node.css_matches(selector)), ""
        )
        if node.parent is None:
            continue
        title_node = node.css_first(title_selector) if title_selector else None
        icon = _callout_icon(node) if node.css_matches("div.nextra-callout") else ""
        if title_node is None:
            title_node = _leading_title(node)
        title = _text(title_node) if title_node is not None else ""
        if title_node is not None:
            title_node.decompose()
        quote = node.parser.create_node("blockquote")
        quote.insert_child(_bold_paragraph(node, title or _admonition_kind(node, icon)), move=True)
        _move_children(node, quote)
        node.replace_with(quote, move=True)


def _local_contents(container: LexborNode) -> None:
    for nav in container.css(_LOCAL_CONTENTS):
        holder = nav.parser.create_node("div")
        _move_children(nav, holder)
        nav.replace_with(holder, move=True)


def rescue_structures(container: LexborNode) -> None:
    """Tabs, admonitions and tables of contents, before chrome removal (see the module
    docstring)."""
    if container.css_first(_ANY_TABS) is not None:
        _tabs(container)
    _admonitions(container)
    _local_contents(container)


def _tabs(container: LexborNode) -> None:
    _paired_tabs(container, "div.tabbed-set", _MATERIAL_LABELS, _MATERIAL_BLOCKS)
    _paired_tabs(container, "div.sd-tab-set", "label.sd-tab-label", "div.sd-tab-content")
    _paired_tabs(container, "div.vp-code-group", ".tabs > label", ".blocks > div")
    _aria_tabs(container)


def _signature(term: LexborNode, block: bool, language: str = "", text: str = "") -> None:
    text = text or _text(term)
    if not text:
        return
    parser = term.parser
    code = parser.create_node("code")
    code.insert_child(text)
    if block:
        pre = parser.create_node("pre")
        if language:
            pre.attrs["data-lang"] = language
        pre.insert_child(code, move=True)
        term.replace_with(pre, move=True)
        return
    paragraph = parser.create_node("p")
    paragraph.insert_child(code, move=True)
    term.replace_with(paragraph, move=True)


def _pydoctor_signature(header: LexborNode) -> None:
    """pydoctor's ``div.functionHeader``: inline code, a Python block when decorators stand on
    lines of their own (``<br>``)."""
    for br in header.css("br"):
        br.replace_with(_LINE_MARK)
    lines = [_SPACES.sub(" ", line).strip() for line in header.text().split(_LINE_MARK)]
    lines = [line for line in lines if line]
    if len(lines) > 1:
        _signature(header, block=True, language="python", text="\n".join(lines))
    else:
        _signature(header, block=False)


def _pydoctor_structure(node: LexborNode, classes: list[str]) -> None:
    if "functionHeader" in classes:
        _pydoctor_signature(node)
    else:
        _field_tables(node)


def _field_tables(table: LexborNode) -> None:
    """pydoctor's ``table.fieldTable``: each group (a ``tr.fieldStart`` row naming it in one
    cell across both columns: Parameters, Returns, Raises…) becomes its name in bold and a list
    of its rows, ``name: type - description`` (as Javadoc's ``T - the type``)."""
    parser = table.parser
    holder = parser.create_node("div")
    items: LexborNode | None = None
    for row in table.css("tr"):
        owner = owning_table(row)
        if owner is None or owner.mem_id != table.mem_id:
            continue  # a row of a table nested in a description
        cells = [cell for cell in row.iter() if cell.tag in ("td", "th")]
        if "fieldStart" in (row.attributes.get("class") or "").split():
            name = row.css_first(".fieldName")
            if name is not None and _text(name):
                holder.insert_child(_bold_paragraph(table, _text(name)), move=True)
            items = parser.create_node("ul")
            holder.insert_child(items, move=True)
            cells = [cell for cell in cells if "fieldName" not in _classes(cell)]
        cells = [cell for cell in cells if _text(cell) or cell.css_first("img, code")]
        if not cells:
            continue
        if items is None:
            items = parser.create_node("ul")
            holder.insert_child(items, move=True)
        item = parser.create_node("li")
        for index, cell in enumerate(cells):
            for arg in cell.css("span.fieldArg"):
                _field_name(arg)
            if index:
                item.insert_child(" - ")
            _move_children(cell, item)
        items.insert_child(item, move=True)
    table.replace_with(holder, move=True)


def _field_name(arg: LexborNode) -> None:
    """A parameter's name as code, its trailing ``:`` (before the type) outside it."""
    name = _text(arg)
    colon = name.endswith(":")
    code = arg.parser.create_node("code")
    code.insert_child(name.removesuffix(":"))
    arg.insert_before(code)
    arg.replace_with(": " if colon else "")


def _classes(node: LexborNode) -> list[str]:
    return (node.attributes.get("class") or "").split()


def _grid_tables(container: LexborNode) -> None:
    """Javadoc's ``div.summary-table`` grids (N columns of ``div`` cells) to ``<table>``."""
    for grid in container.css("div.summary-table"):
        classes = grid.attributes.get("class") or ""
        match = re.search(r"\b(two|three|four)-column-summary\b", classes)
        if match is None:
            continue
        width = {"two": 2, "three": 3, "four": 4}[match.group(1)]
        cells = [child for child in grid.iter() if child.tag == "div"]
        parser = grid.parser
        table = parser.create_node("table")
        for start in range(0, len(cells) - width + 1, width):
            row = parser.create_node("tr")
            for cell in cells[start : start + width]:
                header = "table-header" in (cell.attributes.get("class") or "")
                td = parser.create_node("th" if header else "td")
                _move_children(cell, td)
                row.insert_child(td, move=True)
            table.insert_child(row, move=True)
        grid.replace_with(table, move=True)


def _is_signature(term: LexborNode) -> bool:
    if "sig" in (term.attributes.get("class") or "").split():
        return True
    parent = term.parent
    if parent is None or parent.tag != "dl":
        return False
    return not _SIGNATURE_LISTS.isdisjoint((parent.attributes.get("class") or "").split())


def _definition_term(term: LexborNode) -> None:
    if _is_signature(term):
        _signature(term, block=False)
    elif term.css_first("strong, b, pre") is None and _text(term):
        holder = term.parser.create_node("strong")
        _move_children(term, holder)
        term.insert_child(holder, move=True)


def _lift_group_heading(row: LexborNode) -> None:
    """Doxygen's member-group heading row: its ``<h2>`` moves before the table, the row goes."""
    owner: LexborNode | None = row.parent
    while owner is not None and owner.tag != "table":
        owner = owner.parent
    group_heading = row.css_first("h2")
    if owner is not None and group_heading is not None:
        owner.insert_before(group_heading)
    row.decompose()


def _inside(node: LexborNode, tags: frozenset[str]) -> bool:
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.tag in tags:
            return True
        ancestor = ancestor.parent
    return False


#: Where a ``<sup>``/``<sub>`` cannot stay HTML: in a link's text, in code.
_NO_SCRIPTS_IN = frozenset({"a", "pre", "code"})


def _scripts(container: LexborNode) -> None:
    """``<sup>``/``<sub>`` of plain text stay (attributes dropped), the others become text."""
    for node in container.css("sup, sub"):
        if node.parent is None:
            continue
        text = node.text().strip()
        inner = [child for child in node.css("*") if child.mem_id != node.mem_id]
        if (
            not text
            or text.startswith("[")
            or any(child.tag in {"a", "sup", "sub"} for child in inner)
            or _inside(node, _NO_SCRIPTS_IN)
        ):
            node.unwrap()
            continue
        for element in (node, *inner):
            for name in list(element.attrs.keys()):
                del element.attrs[name]


def _obsolete_inline(container: LexborNode) -> None:
    for node in container.css("acronym, big, nobr"):
        if node.tag != "acronym":
            node.unwrap()
            continue
        abbr = node.parser.create_node("abbr")
        title = node.attributes.get("title")
        if title:
            abbr.attrs["title"] = title
        _move_children(node, abbr)
        node.replace_with(abbr, move=True)


def rewrite_structures(container: LexborNode) -> None:
    """Signatures, definition lists, Doxygen titles, grid tables, super- and subscripts,
    obsolete inline elements (see the module docstring)."""
    if container.css_first("sup, sub") is not None:
        _scripts(container)
    if container.css_first("acronym, big, nobr") is not None:
        _obsolete_inline(container)
    grids = False
    for node in container.css(_REWRITTEN):
        if node.parent is None:
            continue
        if node.tag == "dt":
            _definition_term(node)
            continue
        classes = (node.attributes.get("class") or "").split()
        if "functionHeader" in classes or "fieldTable" in classes:
            _pydoctor_structure(node, classes)
        elif "title" in classes:
            heading = node.parser.create_node("h1")
            heading.insert_child(_text(node))
            node.replace_with(heading, move=True)
        elif "summary-table" in classes:
            grids = True
        elif "memproto" in classes:
            _signature(node, block=True)
        elif "heading" in classes:
            _lift_group_heading(node)
        else:
            _signature(node, block=True, language="java")
    if grids:
        _grid_tables(container)

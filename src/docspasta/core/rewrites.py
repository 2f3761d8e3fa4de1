"""Docs structures rewritten after the removal of page chrome, in place, to HTML that converts
to readable markdown (:func:`docspasta.core.structures.rescue_structures` runs before it).

:func:`rewrite_structures`: API signatures (Sphinx ``dl.py dt.sig`` and its other
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

from docspasta.core.structures import bold_paragraph, collapse_spaces, move_children, node_text
from docspasta.core.tables import owning_table

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


def _signature(term: LexborNode, block: bool, language: str = "", text: str = "") -> None:
    text = text or node_text(term)
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
    lines = [collapse_spaces(line) for line in header.text().split(_LINE_MARK)]
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
            if name is not None and node_text(name):
                holder.insert_child(bold_paragraph(table, node_text(name)), move=True)
            items = parser.create_node("ul")
            holder.insert_child(items, move=True)
            cells = [cell for cell in cells if "fieldName" not in _classes(cell)]
        cells = [cell for cell in cells if node_text(cell) or cell.css_first("img, code")]
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
            move_children(cell, item)
        items.insert_child(item, move=True)
    table.replace_with(holder, move=True)


def _field_name(arg: LexborNode) -> None:
    """A parameter's name as code, its trailing ``:`` (before the type) outside it."""
    name = node_text(arg)
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
                move_children(cell, td)
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
    elif term.css_first("strong, b, pre") is None and node_text(term):
        holder = term.parser.create_node("strong")
        move_children(term, holder)
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
        move_children(node, abbr)
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
            heading.insert_child(node_text(node))
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

"""Tables before conversion, rewritten in place so that they stay faithful in markdown.

- A cell with block content (paragraphs, a list, a code block, a definition list, a block
  quote, a heading, ``<br>``) becomes one GFM cell whose lines are joined with ``<br>``: each
  paragraph or block a line, each list item a ``- item`` / ``1. item`` line, each line of a
  ``<pre>`` a code span of its own. Inline markup (code, links, emphasis) is kept; html-to-markdown
  escapes ``|`` as ``\\|`` in every cell.
- ``colspan``/``rowspan``: the table is laid out on a grid and a spanning cell is repeated in
  every slot it covers, so each GFM row has every column and a merged header names each column
  it heads.
- A table that GFM cannot hold (a nested table) becomes a list: one item per body row, each cell
  as ``**header**`` followed by the cell's own blocks. Nothing of the cell is flattened.

A table without ``<thead>`` takes its first row as the GFM header row (html-to-markdown's rule).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import partial

from selectolax.lexbor import LexborNode

#: Elements that make a line of their own inside a cell.
_CELL_BLOCKS = frozenset(
    {
        *("p", "div", "pre", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "hr", "table"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "aside", "header"),
        *("footer", "figure", "figcaption", "details", "summary", "address", "center"),
    }
)
_LISTS = ("ul", "ol")
#: Inline elements that show something without text.
_MEDIA = "img, svg, math, picture, video, audio, iframe, object, embed, input, canvas"
_CELL_BREAKS = ", ".join((*sorted(_CELL_BLOCKS), "br"))
_BLOCK_IN_CELL = ", ".join(
    f"{cell} {block}" for cell in ("td", "th") for block in _CELL_BREAKS.split(", ")
)
_SPANNED = "td[colspan], th[colspan], td[rowspan], th[rowspan]"
_SPANNED_OR_BLOCK = f"{_SPANNED}, {_BLOCK_IN_CELL}"
_MAX_SPAN = 100
_SPACES = re.compile(r"\s+")
#: A line break in a cell. html-to-markdown writes a ``<br>`` element in a cell as a space but
#: writes text as is (no escaping of ``<`` or ``&``): the text ``<br>`` becomes the raw HTML
#: line break GFM allows in a cell.
_LINE_BREAK = "&lt;br&gt;"
#: Whitespace trimmed around a cell's lines (not U+00A0, which is content).
_EDGE_SPACE = " \t\n\r\f"
#: html-to-markdown writes a table without header cell or caption that has at most this many
#: rows and at least this many links as a list of its rows (a "layout table"). Such a table's
#: first row becomes header cells: GFM shows the first row as the header row anyway.
_LINK_TABLE = (2, 3)
#: Nested list items are indented by this much per level: the text ``&nbsp;&nbsp;`` (real
#: no-break spaces would be collapsed by html-to-markdown like any whitespace).
_INDENT = "&amp;nbsp;&amp;nbsp;"


def _own(table: LexborNode, selector: str) -> list[LexborNode]:
    """Elements under ``table`` matching ``selector`` that do not belong to a nested table."""
    found = []
    for node in table.css(selector):
        parent = node.parent
        while parent is not None and parent.tag != "table":
            parent = parent.parent
        if parent is not None and parent.mem_id == table.mem_id:
            found.append(node)
    return found


def _span(cell: LexborNode, attr: str) -> int:
    value = (cell.attributes.get(attr) or "1").strip()
    return max(1, min(int(value), _MAX_SPAN)) if value.isdigit() else 1


def _row_cells(row: LexborNode) -> list[LexborNode]:
    return [child for child in row.iter() if child.tag in ("td", "th")]


def _grid(rows: list[LexborNode]) -> list[dict[int, LexborNode]]:
    """Each row's cells by column, a spanning cell in every slot it covers."""
    grid: list[dict[int, LexborNode]] = [{} for _ in rows]
    for index, row in enumerate(rows):
        column = 0
        for cell in _row_cells(row):
            while column in grid[index]:
                column += 1
            colspan, rowspan = _span(cell, "colspan"), _span(cell, "rowspan")
            for down in range(min(rowspan, len(rows) - index)):
                for across in range(colspan):
                    grid[index + down][column + across] = cell
            column += colspan
    return grid


def _drop_spans(cell: LexborNode) -> None:
    for attr in ("colspan", "rowspan"):
        if attr in cell.attrs:
            del cell.attrs[attr]


def expand_spans(table: LexborNode) -> None:
    """Repeat every spanning cell in each grid slot it covers (see the module docstring)."""
    rows = _own(table, "tr")
    grid = _grid(rows)
    for index, row in enumerate(rows):
        placed: set[int] = set()
        for column in sorted(grid[index]):
            cell = grid[index][column]
            if cell.mem_id in placed or cell.parent is None or cell.parent.mem_id != row.mem_id:
                copy = cell.clone()
                _drop_spans(copy)
                row.insert_child(copy, move=True)
            else:
                placed.add(cell.mem_id)
                row.insert_child(cell, move=True)
    for cell in _own(table, _SPANNED):
        _drop_spans(cell)


def _cell_text(cell: LexborNode) -> str:
    return _SPACES.sub(" ", cell.text()).strip()


class _Lines:
    """A cell's content as lines of inline HTML, built by :func:`_cell_lines`.

    A line is *filled* once it holds text or an element; a list marker alone does not fill it,
    so an item's first paragraph or code block stays on the marker's line. Inline elements open
    across a line break (a ``<code>`` holding a ``<br>``) are closed at the end of the line and
    opened again on the next.
    """

    def __init__(self) -> None:
        self.lines: list[list[str]] = [[]]
        self.shows = [False]
        self.open: list[tuple[str, str]] = []
        self.filled = False
        self.marked = False

    def put(self, piece: str, *, shown: bool = True) -> None:
        """Add text or an element; one that shows nothing (an empty anchor) fills no line."""
        self.lines[-1].append(piece)
        if shown and piece.strip(_EDGE_SPACE):
            self.filled = self.shows[-1] = True

    def enter(self, node: LexborNode) -> None:
        attrs = "".join(
            f' {name}="{html.escape(value or "", quote=True)}"'
            for name, value in node.attrs.items()
        )
        self.open.append((f"<{node.tag}{attrs}>", f"</{node.tag}>"))
        self.lines[-1].append(self.open[-1][0])

    def leave(self) -> None:
        self.lines[-1].append(self.open.pop()[1])

    def end_block(self) -> None:
        """End the current line if it holds anything (a block starts or ends)."""
        if self.filled:
            self.hard_break()

    def hard_break(self) -> None:
        """Start a new line even after an empty one (a ``<br>``, a code line)."""
        self.lines[-1].extend(close for _, close in reversed(self.open))
        self.lines.append([opening for opening, _ in self.open])
        self.shows.append(False)
        self.filled = self.marked = False

    def marker(self, text: str) -> None:
        if self.filled or self.marked:
            self.hard_break()
        self.lines[-1].append(text)
        self.marked = True

    def html(self) -> str:
        lines = ["".join(line).strip(_EDGE_SPACE) for line in self.lines]
        shown = [index for index, shows in enumerate(self.shows) if shows]
        if not shown:
            return "".join(lines)
        first, last = shown[0], shown[-1]
        # what shows nothing before the first line or after the last joins it, not a line
        ends = "".join(lines[last + 1 :])
        if first == last:
            return "".join(lines[:first]) + lines[first] + ends
        head = "".join(lines[:first]) + lines[first]
        return _LINE_BREAK.join((head, *lines[first + 1 : last], lines[last] + ends))


def _shows(node: LexborNode) -> bool:
    """Whether an inline element shows anything: text, an image, a formula…"""
    return bool(node.text(strip=True)) or node.css_first(_MEDIA) is not None


def _put_pre(pre: LexborNode, out: _Lines) -> None:
    out.end_block()
    for index, line in enumerate((pre.text() or "").strip("\n").split("\n")):
        if index:
            out.hard_break()
        if line.strip():
            out.put(f"<code>{html.escape(line, quote=False)}</code>")
    out.end_block()


#: What is left to write of a cell: a node at a list depth, or a step (end a line, close a tag).
_Work = list[tuple[LexborNode, int] | Callable[[], None]]


def _list_steps(items: LexborNode, out: _Lines, depth: int) -> _Work:
    """A list's items as steps: each ``- `` / ``N. `` marker, then the item's content."""
    start = (items.attributes.get("start") or "").strip()
    number = int(start) if start.isdigit() else 1
    steps: _Work = [out.end_block]
    for child in items.iter(include_text=True):
        if child.tag != "li":
            steps.append((child, depth))
            continue
        value = (child.attributes.get("value") or "").strip()
        number = int(value) if value.isdigit() else number
        bullet = _INDENT * depth + (f"{number}. " if items.tag == "ol" else "- ")
        steps.append(partial(out.marker, bullet))
        steps.extend((grandchild, depth + 1) for grandchild in child.iter(include_text=True))
        steps.append(out.end_block)
        number += 1
    return steps


def _cell_lines(cell: LexborNode, holders: set[int]) -> str:
    """The content of ``cell`` as ``<br>``-joined lines of inline HTML (a loop, not recursion:
    markup may nest deeper than Python's stack)."""
    out = _Lines()
    work: _Work = [(child, 0) for child in reversed(list(cell.iter(include_text=True)))]
    while work:
        item = work.pop()
        if not isinstance(item, tuple):
            item()
            continue
        node, depth = item
        tag = node.tag
        steps: _Work = []
        if node.is_text_node:
            out.put(node.html or "")
        elif not node.is_element_node:
            continue  # comments
        elif tag == "br":
            out.hard_break()
        elif tag == "pre":
            _put_pre(node, out)
        elif tag in _LISTS:
            steps = _list_steps(node, out, depth)
        elif tag in _CELL_BLOCKS:
            out.end_block()
            steps = [*((child, depth) for child in node.iter(include_text=True)), out.end_block]
        elif node.mem_id in holders:  # an inline element around blocks or line breaks
            out.enter(node)
            steps = [*((child, depth) for child in node.iter(include_text=True)), out.leave]
        else:
            out.put(node.html or "", shown=_shows(node))
        work.extend(reversed(steps))
    return out.html()


def _holders(cell: LexborNode) -> set[int]:
    """The elements under ``cell`` that hold a block or a ``<br>`` (``cell`` included)."""
    holders: set[int] = set()
    for block in cell.css(_CELL_BREAKS):
        parent = block.parent
        while parent is not None and parent.mem_id not in holders:
            holders.add(parent.mem_id)
            if parent.mem_id == cell.mem_id:
                break
            parent = parent.parent
    return holders


def flatten_cells(table: LexborNode) -> None:
    """Write each cell of ``table`` that holds blocks as ``<br>``-joined lines (see the module
    docstring). ``table`` holds no nested table."""
    for cell in _own(table, "td, th"):
        holders = _holders(cell)
        if cell.mem_id not in holders:
            continue
        cell.inner_html = _cell_lines(cell, holders)


def table_to_list(table: LexborNode) -> None:
    """Replace a table with block content by a list of its rows (see the module docstring)."""
    rows = _own(table, "tr")
    if not rows:
        return
    first = _row_cells(rows[0])
    has_header = bool(first) and all(cell.tag == "th" for cell in first)
    headers = [_cell_text(cell) for cell in first] if has_header else []
    parser = table.parser
    items = parser.create_node("ul")
    for row in rows[1:] if has_header else rows:
        item = parser.create_node("li")
        for column, cell in enumerate(_row_cells(row)):
            header = headers[column] if column < len(headers) else ""
            if header:
                label = parser.create_node("p")
                strong = parser.create_node("strong")
                strong.insert_child(header)
                label.insert_child(strong, move=True)
                item.insert_child(label, move=True)
            block = parser.create_node("div")
            for child in list(cell.iter(include_text=True)):
                block.insert_child(child, move=True)
            item.insert_child(block, move=True)
        items.insert_child(item, move=True)
    table.replace_with(items, move=True)


def owning_table(node: LexborNode) -> LexborNode | None:
    """The nearest ``<table>`` above ``node`` (None outside tables)."""
    parent = node.parent
    while parent is not None and parent.tag != "table":
        parent = parent.parent
    return parent


def _head_small_link_table(table: LexborNode) -> None:
    """Make the first row of a small table full of links header cells (see ``_LINK_TABLE``)."""
    if table.css_first("th, caption") is not None:
        return
    rows = _own(table, "tr")
    if not rows or len(rows) > _LINK_TABLE[0] or len(table.css("a")) < _LINK_TABLE[1]:
        return
    for cell in _row_cells(rows[0]):
        header = table.parser.create_node("th")
        for name, value in cell.attrs.items():
            header.attrs[name] = value or ""
        for child in list(cell.iter(include_text=True)):
            header.insert_child(child, move=True)
        cell.replace_with(header, move=True)


def normalize_tables(container: LexborNode) -> None:
    """Flatten block cells, expand spans and turn nested tables into lists, innermost first.

    One query finds every spanning cell and every block inside a cell; tables without either
    are left alone, but for the header cells a small table full of links may need.
    """
    tables = container.css("table")
    if not tables:
        return
    marked: set[int] = set()
    nesting: set[int] = set()
    for node in container.css(_SPANNED_OR_BLOCK):
        table = owning_table(node)
        if table is None:
            continue
        marked.add(table.mem_id)
        if node.tag == "table":
            nesting.add(table.mem_id)
    for table in reversed(tables):
        if table.parent is None:
            continue
        if table.mem_id in nesting:
            if _own(table, _SPANNED):
                expand_spans(table)
            table_to_list(table)
            continue
        if table.mem_id in marked:
            flatten_cells(table)
            if _own(table, _SPANNED):
                expand_spans(table)
        _head_small_link_table(table)

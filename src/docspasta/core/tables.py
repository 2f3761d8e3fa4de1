"""Tables before conversion, rewritten in place so that they stay faithful in markdown.

- ``colspan``/``rowspan``: the table is laid out on a grid and a spanning cell is repeated in
  every slot it covers, so each GFM row has every column and a merged header names each column
  it heads.
- A table that GFM cannot hold (a cell with a code block, a list, a nested table, a heading, a
  block quote, a definition list or several paragraphs) becomes a list: one item per body row,
  each cell as ``**header**`` followed by the cell's own blocks. Nothing of the cell is flattened.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

_BLOCKS = ("pre", "ul", "ol", "table", "blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6")
_BLOCK_IN_CELL = ", ".join(
    f"{cell} {block}" for cell in ("td", "th") for block in (*_BLOCKS, "p + p")
)
_SPANNED = "td[colspan], th[colspan], td[rowspan], th[rowspan]"
_SPANNED_OR_BLOCK = f"{_SPANNED}, {_BLOCK_IN_CELL}"
_MAX_SPAN = 100
_SPACES = re.compile(r"\s+")


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


def _owner(node: LexborNode) -> LexborNode | None:
    parent = node.parent
    while parent is not None and parent.tag != "table":
        parent = parent.parent
    return parent


def normalize_tables(container: LexborNode) -> None:
    """Expand spans and turn tables GFM cannot hold into lists, innermost tables first.

    One query finds every spanning cell and every block inside a cell; tables without either
    are left alone.
    """
    marked: dict[int, LexborNode] = {}
    blocky: set[int] = set()
    for node in container.css(_SPANNED_OR_BLOCK):
        table = _owner(node)
        if table is None:
            continue
        marked[table.mem_id] = table
        if node.tag not in ("td", "th"):
            blocky.add(table.mem_id)
    if not marked:
        return
    for table in reversed(container.css("table")):
        if table.mem_id not in marked or table.parent is None:
            continue
        if _own(table, _SPANNED):
            expand_spans(table)
        if table.mem_id in blocky:
            table_to_list(table)

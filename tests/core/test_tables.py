"""Tables: cells with block content stay GFM cells; spans, headers and the nested-table fallback."""

from __future__ import annotations

import pytest

from docspasta.core.markdown import to_markdown
from docspasta.core.page import analyze_page

BASE = "https://docs.example.com/guide/page.html"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            "<table><tr><th>Function</th><th>Description</th></tr>"
            "<tr><td><p><code>lower</code>(<code>text</code>)</p></td>"
            "<td><p>Converts to lower case.</p>\n  <p>See <a href='x.html'>locale</a>.</p></td>"
            "</tr></table>",
            "| Function        | Description                                                    "
            "                 |\n"
            "| --------------- | ---------------------------------------------------------------"
            "---------------- |\n"
            "| `lower`(`text`) | Converts to lower case.<br>See [locale](https://docs.example.com"
            "/guide/x.html). |\n",
            id="paragraphs",
        ),
        pytest.param(
            "<table><tr><th>Kind</th><th>Values</th></tr>"
            "<tr><td>align</td><td><p>One of:</p>"
            "<ul><li><p><code>c</code> = char</p></li><li><code>s</code> = short</li></ul>"
            "</td></tr>"
            "<tr><td>steps</td><td><ol start='3'><li>three</li>"
            "<li>four<ul><li>nested</li></ul></li></ol></td></tr></table>",
            "| Kind  | Values                                      |\n"
            "| ----- | ------------------------------------------- |\n"
            "| align | One of:<br>- `c` = char<br>- `s` = short    |\n"
            "| steps | 3. three<br>4. four<br>&nbsp;&nbsp;- nested |\n",
            id="lists",
        ),
        pytest.param(
            "<table><tr><th>Query</th><th>Example</th></tr>"
            "<tr><td>read</td><td><p>Read a file:</p>"
            "<pre class='language-sql'>SELECT a || b\n\n  FROM t -- `x`\n</pre></td></tr></table>",
            "| Query | Example                                                        |\n"
            "| ----- | -------------------------------------------------------------- |\n"
            "| read  | Read a file:<br>`SELECT a \\|\\| b`<br><br>``   FROM t -- `x` `` |\n",
            id="pre",
        ),
        pytest.param(
            "<table><tr><th>Operator</th><th>Meaning</th></tr>"
            "<tr><td><code>a || b</code></td><td>x | y, see <a href='p.html'>a|b</a></td></tr>"
            "</table>",
            "| Operator   | Meaning                                                   |\n"
            "| ---------- | --------------------------------------------------------- |\n"
            "| `a \\|\\| b` | x \\| y, see [a\\|b](https://docs.example.com/guide/p.html) |\n",
            id="pipes",
        ),
        pytest.param(
            "<table><tr><th>H</th></tr>"
            "<tr><td><p>one<br>two<br><br>four <code>x<br>  y</code></p><p>| five</p></td></tr>"
            "</table>",
            "| H                                              |\n"
            "| ---------------------------------------------- |\n"
            "| one<br>two<br><br>four `x`<br>`  y`<br>\\| five |\n",
            id="line-breaks",
        ),
        pytest.param(
            "<table><tr><th>H</th></tr><tr><td><a id='i1'></a><p>text</p><p><a id='i2'></a></p>"
            "<p>more</p><p><a id='i3'></a></p></td></tr></table>",
            "| H            |\n| ------------ |\n| text<br>more |\n",
            id="empty-anchors-make-no-lines",
        ),
        pytest.param(
            "<table><tr><th colspan='2'>Size</th><th>Kind</th></tr>"
            "<tr><td>1</td><td>2</td><td><p>a</p><p>b</p></td></tr></table>",
            "| Size | Size | Kind   |\n| ---- | ---- | ------ |\n| 1    | 2    | a<br>b |\n",
            id="colspan",
        ),
        pytest.param(
            "<table><tr><th>Group</th><th>Item</th></tr>"
            "<tr><td rowspan='2'><p>G</p><p>shared</p></td><td>x</td></tr><tr><td>y</td></tr>"
            "</table>",
            "| Group       | Item |\n"
            "| ----------- | ---- |\n"
            "| G<br>shared | x    |\n"
            "| G<br>shared | y    |\n",
            id="rowspan",
        ),
        pytest.param(
            "<table><tr><td>a</td><td>b</td></tr><tr><td><p>c</p><p>d</p></td><td>e</td></tr>"
            "</table>",
            "| a      | b |\n| ------ | --- |\n| c<br>d | e |\n",
            id="no-thead-first-row-of-td-is-the-header",
        ),
        pytest.param(
            "<table><tbody><tr><th>a</th><th>b</th></tr><tr><td>c</td><td><p>d</p></td></tr>"
            "</tbody></table>",
            "| a | b |\n| --- | --- |\n| c | d |\n",
            id="no-thead-first-row-of-th-is-the-header",
        ),
        pytest.param(
            "<table><tr><td><a href='a.html'>a()</a></td><td>Run.</td></tr>"
            "<tr><td><a href='b.html'>b()</a></td><td>Stop <a href='c.html'>c</a>.</td></tr>"
            "</table>",
            "| [a()](https://docs.example.com/guide/a.html) | Run.                            "
            "                 |\n"
            "| -------------------------------------------- | --------------------------------"
            "---------------- |\n"
            "| [b()](https://docs.example.com/guide/b.html) | Stop [c](https://docs.example.com"
            "/guide/c.html). |\n",
            id="small-table-of-links-is-not-a-layout-table",
        ),
        pytest.param(
            "<table><tr><th>Name</th><th>Parts</th></tr>"
            "<tr><td>t</td><td><table><tr><th>k</th><th>v</th></tr><tr><td>1</td><td><p>2</p>"
            "<p>3</p></td></tr></table></td></tr></table>",
            "- **Name**\n\n  t\n\n  **Parts**\n\n"
            "    | k | v      |\n    | --- | ------ |\n    | 1 | 2<br>3 |\n",
            id="nested-table-falls-back-to-a-list",
        ),
    ],
)
def test_table_markdown(html: str, expected: str) -> None:
    assert to_markdown(html, BASE) == expected


def test_table_with_block_cells_keeps_its_fidelity_record() -> None:
    html = (
        "<main><h1>T</h1><table><tr><th>Function</th><th>Example</th></tr>"
        "<tr><td><p>f</p><p>Does it.</p></td><td><pre>SELECT f();\n</pre></td></tr>"
        "<tr><td>g</td><td><ul><li>one</li><li>two</li></ul></td></tr></table></main>"
    )
    fidelity = analyze_page(html, BASE).fidelity
    assert (fidelity.table_rows_html, fidelity.table_rows_markdown) == (3, 3)
    assert (fidelity.code_blocks_html, fidelity.code_blocks_markdown) == (0, 0)
    assert fidelity.losses() == ()

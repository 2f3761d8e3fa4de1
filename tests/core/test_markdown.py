"""HTML -> markdown conversion."""

from __future__ import annotations

import pytest

from docspasta.core.markdown import code_fence_mask, tidy_markdown, to_markdown

BASE = "https://docs.example.com/guide/page.html"

CODE = "def f(x):\n    if x:\n\treturn   x  # tab, spaces\n\n\n    return None"


@pytest.mark.parametrize(
    ("html", "language"),
    [
        (f'<pre><code class="language-python">{CODE}</code></pre>', "python"),
        (f'<pre class="lang-python">{CODE}</pre>', "python"),
        (f'<pre class="highlight-python">{CODE}</pre>', "python"),
        (
            '<div class="highlight-python3 notranslate"><div class="highlight">'
            f"<pre><span></span>{CODE}</pre></div></div>",
            "python",
        ),
        (
            '<div class="language-python highlight"><pre><span></span><code>'
            '<a id="__codelineno-0-1" href="#__codelineno-0-1"></a>'
            f"{CODE}</code></pre></div>",
            "python",
        ),
        (
            f'<div class="highlight"><pre><code data-lang="python">{CODE}</code></pre></div>',
            "python",
        ),
        (f'<div class="highlight-default notranslate"><pre>{CODE}</pre></div>', ""),
        (f'<pre class="highlight notranslate">{CODE}</pre>', ""),
    ],
)
def test_code_block_keeps_language_and_whitespace(html: str, language: str) -> None:
    markdown = to_markdown(f"<p>Before</p>{html}<p>After</p>", BASE)
    assert markdown == f"Before\n\n```{language}\n{CODE}\n```\n\nAfter\n"


def test_code_with_markup_and_entities_is_plain_text() -> None:
    html = (
        '<pre class="language-html"><span class="p">&lt;</span><b>div</b>&gt;'
        "a &amp;&amp; b\n  <i>x</i></pre>"
    )
    assert to_markdown(html, BASE) == "```html\n<div>a && b\n  x\n```\n"


def test_table_becomes_gfm() -> None:
    html = (
        "<table><thead><tr><th>Option</th><th>Meaning</th></tr></thead>"
        "<tbody><tr><td><code>-v</code></td><td>verbose | loud</td></tr>"
        "<tr><td>-q</td><td>quiet</td></tr></tbody></table>"
    )
    lines = to_markdown(html, BASE).splitlines()
    assert len(lines) == 4
    assert [cell.strip() for cell in lines[0].strip("|").split("|")] == ["Option", "Meaning"]
    assert set(lines[1].replace(" ", "")) <= {"|", "-", ":"}
    assert "`-v`" in lines[2]
    assert "verbose \\| loud" in lines[2]
    assert lines[3].startswith("| -q")


def test_links_and_images_are_absolute() -> None:
    html = (
        '<p><a href="../api/index.html">API</a> <a href="#usage">usage</a> '
        '<a href="https://other.org/x">other</a> <img src="img/shot.png" alt="Shot"></p>'
    )
    markdown = to_markdown(html, BASE)
    assert "[API](https://docs.example.com/api/index.html)" in markdown
    assert "[usage](https://docs.example.com/guide/page.html#usage)" in markdown
    assert "[other](https://other.org/x)" in markdown
    assert "![Shot](https://docs.example.com/guide/img/shot.png)" in markdown


def test_atx_headings_lists_and_line_breaks() -> None:
    html = "<h2>Install</h2><p>one<br>two</p><ul><li>a<ul><li>b</li></ul></li></ul><h3>Then</h3>"
    assert to_markdown(html, BASE) == "## Install\n\none\\\ntwo\n\n- a\n  - b\n\n### Then\n"


def test_no_comments_no_trailing_whitespace_collapsed_blank_lines() -> None:
    html = "<!-- a comment --><p>text</p><!-- another\nline --><div><br><br><br></div><p>more</p>"
    markdown = to_markdown(html, BASE)
    assert "<!--" not in markdown
    assert "\n\n\n" not in markdown
    assert all(line == line.rstrip() for line in markdown.splitlines())
    assert markdown.startswith("text\n\n")
    assert markdown.endswith("more\n")
    assert not markdown.endswith("\n\n")


def test_comment_syntax_inside_inline_code_is_kept() -> None:
    html = "<p>Called for a comment such as <code>&lt;!--comment--&gt;</code>.</p><!-- gone -->"
    assert to_markdown(html, BASE) == "Called for a comment such as `<!--comment-->`.\n"
    text = "a <!-- gone --> `<!-- kept -->` and ``x <!-- kept too --> y``\n"
    assert tidy_markdown(text) == "a  `<!-- kept -->` and ``x <!-- kept too --> y``\n"


def test_empty_content_gives_empty_string() -> None:
    assert to_markdown("", BASE) == ""
    assert to_markdown("<div>  </div>", BASE) == ""


def test_tidy_leaves_code_blocks_alone() -> None:
    text = "\n\nintro   \n\n\n\n```\ncode  \n\n\n\n<!-- kept -->\n```\n<!-- gone -->\nend  \n\n\n"
    assert tidy_markdown(text) == "intro\n\n```\ncode  \n\n\n\n<!-- kept -->\n```\n\nend\n"


def test_code_fence_mask() -> None:
    lines = ["a", "````py", "```", "# not a heading", "````", "# heading", "~~~", "x"]
    assert code_fence_mask(lines) == [False, True, True, True, True, False, True, True]

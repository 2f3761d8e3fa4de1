"""Code blocks, tables, structures, page quality and the fidelity record."""

from __future__ import annotations

import pytest

from docspasta.core.codeblocks import normalize_language
from docspasta.core.markdown import to_markdown
from docspasta.core.page import analyze_page
from docspasta.domain import CrawlOptions

BASE = "https://docs.example.com/guide/page.html"
URL = "https://docs.example.com/guide/page.html"
PROSE = "<p>" + " ".join(["word"] * 400) + "</p>"


@pytest.mark.parametrize(
    ("declared", "expected"),
    [("python3", "python"), ("py", "python"), ("pycon", "pycon"), ("shell-session", "console"),
     ("console", "console"), ("JS", "javascript"), ("text", None), ("default", None),
     ("rust", "rust")],
)  # fmt: skip
def test_language_normalisation(declared: str, expected: str | None) -> None:
    assert normalize_language(declared) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (  # Pygments linenos table (Sphinx, Material)
            '<div class="highlight-python3"><div class="highlight"><table class="highlighttable">'
            '<tr><td class="linenos"><div class="linenodiv"><pre>1\n2</pre></div></td>'
            '<td class="code"><div class="highlight"><pre>a = 1\n  b</pre></div></td></tr>'
            "</table></div></div>",
            "```python\na = 1\n  b\n```\n",
        ),
        (  # Pygments inline line numbers
            '<pre class="language-c"><span class="linenos">1</span>int x;\n'
            '<span class="linenos">2</span>  x++;</pre>',
            "```c\nint x;\n  x++;\n```\n",
        ),
        (  # Prism line-numbers plugin
            '<pre class="line-numbers language-js"><code class="language-js">f()\n g()'
            '<span aria-hidden="true" class="line-numbers-rows"><span></span></span></code></pre>',
            "```javascript\nf()\n g()\n```\n",
        ),
        (  # highlight.js line-numbers plugin
            '<pre><code class="hljs language-go"><table class="hljs-ln"><tr>'
            '<td class="hljs-ln-numbers">1</td><td class="hljs-ln-code">package x</td></tr><tr>'
            '<td class="hljs-ln-numbers">2</td><td class="hljs-ln-code">\tgo f()</td></tr>'
            "</table></code></pre>",
            "```go\npackage x\n\tgo f()\n```\n",
        ),
        (  # Doxygen fragment
            '<div class="fragment"><div class="line"><span class="lineno">1</span>'
            'int main() {</div><div class="line">  return 0;</div></div>',
            "```\n1int main() {\n  return 0;\n```\n",
        ),
        (  # mdBook playground: a pre inside a pre; links inside code become text
            '<pre><pre class="playground"><code class="language-rust">let <a href="x">v</a>'
            " = 1;</code></pre></pre>",
            "```rust\nlet v = 1;\n```\n",
        ),
        (  # a fence longer than any backtick run inside
            '<pre class="language-md">```\nx\n````</pre>',
            "`````markdown\n```\nx\n````\n`````\n",
        ),
        (  # rustdoc's bare class, Docusaurus's <br> per line
            '<pre class="rust"><code>fn f() {<br>    1<br>}</code></pre>',
            "```rust\nfn f() {\n    1\n}\n```\n",
        ),
    ],
)
def test_code_blocks(html: str, expected: str) -> None:
    assert to_markdown(html, BASE) == expected


def test_spans_are_repeated_in_every_slot() -> None:
    html = (
        "<table><tr><th colspan='2'>Size</th><th>Kind</th></tr>"
        "<tr><td rowspan='2'>1</td><td>2</td><td>a</td></tr><tr><td>3</td><td>b</td></tr></table>"
    )
    rows = [line.replace(" ", "") for line in to_markdown(html, BASE).splitlines()]
    assert rows[0] == "|Size|Size|Kind|"
    assert rows[2:] == ["|1|2|a|", "|1|3|b|"]


def test_table_with_a_code_block_stays_a_gfm_table() -> None:
    html = (
        "<table><tr><th>Name</th><th>Example</th></tr>"
        "<tr><td>loop</td><td><pre class='language-py'>for x in y:\n    f(x)</pre></td></tr>"
        "</table>"
    )
    assert to_markdown(html, BASE) == (
        "| Name | Example                     |\n"
        "| ---- | --------------------------- |\n"
        "| loop | `for x in y:`<br>`    f(x)` |\n"
    )


def test_admonitions_definition_lists_and_tabs() -> None:
    html = (
        "<div class='admonition warning'><p class='admonition-title'>Careful</p><p>Hot.</p></div>"
        "<div class='admonition note'><p>Untitled.</p></div>"
        "<dl><dt>term</dt><dd>meaning</dd></dl>"
        "<div class='sd-tab-set'><input type='radio'><label class='sd-tab-label'>Linux</label>"
        "<div class='sd-tab-content'><p>apt</p></div><input type='radio'>"
        "<label class='sd-tab-label'>macOS</label><div class='sd-tab-content'><p>brew</p></div>"
        "</div>"
    )
    assert to_markdown(html, BASE) == (
        "> **Careful**\n>\n> Hot.\n\n> **Note**\n>\n> Untitled.\n\n**term**\n\nmeaning\n\n"
        "**Linux**\n\napt\n\n**macOS**\n\nbrew\n"
    )


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (
            '<head><meta http-equiv="refresh" content="0; url=new.html"></head><body>'
            "<p>Moved.</p></body>",
            "redirect stub (meta refresh to new.html)",
        ),
        ("<title>Page not found</title><main><h1>404</h1><p>Sorry.</p></main>", "soft 404"),
        (
            "<main><h1>Docs</h1><form><input type='password'></form><p>Sign in.</p></main>",
            "login wall",
        ),
        (
            "<body><div id='root'></div><noscript>You need to enable JavaScript to run this app."
            "</noscript></body>",
            "needs JavaScript",
        ),
        ("<body><main> </main></body>", "empty page"),
    ],
)
def test_rejections(html: str, reason: str) -> None:
    rejection = analyze_page(html, URL).rejection
    assert rejection is not None
    assert rejection.startswith(reason)


def test_good_pages_are_kept_whatever_they_mention() -> None:
    html = f"<main><h1>Handling 404 not found errors</h1>{PROSE}<p>Sign in to continue.</p></main>"
    assert analyze_page(html, URL).rejection is None


def test_quality_threshold_drops_thin_pages() -> None:
    thin = "<main><h1>Stub</h1><p>Coming soon.</p></main>"
    assert analyze_page(thin, URL).rejection is None
    rejection = analyze_page(thin, URL, options=CrawlOptions(quality_threshold=50)).rejection
    assert rejection is not None
    assert rejection.startswith("thin page")
    full = f"<main><h1>Full</h1>{PROSE}</main>"
    assert analyze_page(full, URL, options=CrawlOptions(quality_threshold=50)).rejection is None


def test_fidelity_counts_content_and_markdown() -> None:
    html = (
        "<main><h1>T</h1><h2>Part</h2><p><a href='a.html'>a</a> <a href='#x'>x</a></p>"
        "<pre>code</pre><ul><li><pre>nested</pre></li></ul>"
        "<table><tr><th>h</th></tr><tr><td>1</td></tr></table></main>"
    )
    fidelity = analyze_page(html, URL).fidelity
    assert (fidelity.code_blocks_html, fidelity.code_blocks_markdown) == (2, 2)
    assert (fidelity.table_rows_html, fidelity.table_rows_markdown) == (2, 2)
    assert (fidelity.headings_html, fidelity.headings_markdown) == (2, 2)
    assert (fidelity.links_html, fidelity.links_markdown) == (2, 2)
    assert fidelity.losses() == ()


def test_sphinx_highlight_default_is_the_language_pygments_used() -> None:
    from docspasta.core.page import analyze_page

    def block(pre: str) -> str:
        html = (
            "<html><head><meta name='generator' content='Sphinx'></head><body>"
            f"<div class='body' role='main'><h1>T</h1><p>Some words here.</p>"
            f"<div class='highlight-default notranslate'><div class='highlight'>{pre}</div></div>"
            "</div></body></html>"
        )
        return analyze_page(html, "https://d.example/t.html").markdown

    lexed = "<pre><span></span><span class='kn'>import</span> <span class='nn'>os</span>\n</pre>"
    session = "<pre><span class='gp'>&gt;&gt;&gt; </span><span class='mi'>1</span>\n</pre>"
    assert "```python\nimport os\n```" in block(lexed)
    assert "```pycon\n>>> 1\n```" in block(session)
    assert "```\nplain text\n```" in block("<pre>plain text\n</pre>")


def test_docutils_sidebar_and_local_contents_survive_chrome_removal() -> None:
    # ``.. sidebar::`` is an <aside>, ``.. contents:: :local:`` a <nav>: content, not chrome
    html = (
        "<html><head><meta name='generator' content='Sphinx'></head><body>"
        "<div class='body' role='main'><h1>T</h1>"
        "<aside class='sidebar'><p class='sidebar-title'>Important</p><p>Reference only.</p>"
        "</aside><p>Low-level APIs:</p><nav class='contents local' id='contents'>"
        "<ul class='simple'><li><p><a class='reference internal' href='#running'>"
        "Running the loop</a></p></li></ul></nav><p>Some words here.</p></div>"
        "<div class='sphinxsidebar' role='navigation'><p>Site nav</p></div></body></html>"
    )
    assert analyze_page(html, URL).markdown == (
        "# T\n\n> **Important**\n>\n> Reference only.\n\nLow-level APIs:\n\n"
        "- [Running the loop](https://docs.example.com/guide/page.html#running)\n\n"
        "Some words here.\n"
    )


def test_superscripts_and_subscripts_stay_apart_footnote_markers_become_text() -> None:
    html = (
        "<p>2<sup class='x'>64</sup> - 1, H<sub>2</sub>O, note<sup><a href='#n1'>1</a></sup>, "
        "<a href='#f'><sup class='footnote'>[a]</sup></a></p>"
    )
    assert to_markdown(html, BASE) == (
        "2<sup>64</sup> - 1, H<sub>2</sub>O, note[1](https://docs.example.com/guide/page.html#n1), "
        "[[a]](https://docs.example.com/guide/page.html#f)\n"
    )


def test_docbook_acronym_after_a_line_break_keeps_its_space() -> None:
    html = (
        "<p>an <code>https</code>\n   <acronym class='acronym'>URL</acronym> and <span>System V"
        "</span>\n <acronym>IPC</acronym>, <acronym title='Structured Query Language'>SQL</acronym>"
        "</p>"
    )
    assert to_markdown(html, BASE) == (
        "an `https` URL and System V IPC, SQL (Structured Query Language)\n"
    )


def test_expressive_code_empty_lines_stay_single_blank_lines() -> None:
    # Expressive Code (Starlight) writes an empty line's text as "\n"
    html = (
        '<div class="expressive-code"><figure class="frame"><pre data-language="python"><code>'
        '<div class="ec-line"><div class="code">import os</div></div>'
        '<div class="ec-line"><div class="code">\n</div></div>'
        '<div class="ec-line"><div class="code">\n</div></div>'
        '<div class="ec-line"><div class="code"><span class="indent">    </span>f()</div></div>'
        "</code></pre></figure></div>"
    )
    assert to_markdown(html, BASE) == "```python\nimport os\n\n\n    f()\n```\n"


def test_literal_asterisks_in_prose_are_escaped_not_in_code() -> None:
    html = (
        "<p>A rate of 2*2*44100 and <em>real</em> emphasis, <code>*args</code>.</p>"
        "<pre class='language-py'>x = a*b ** 2</pre>"
        "<p><a href='https://docs.example.com/a*b'>a*b</a></p>"
    )
    assert to_markdown(html, BASE) == (
        "A rate of 2\\*2\\*44100 and *real* emphasis, `*args`.\n\n"
        "```python\nx = a*b ** 2\n```\n\n"
        "[a\\*b](https://docs.example.com/a*b)\n"
    )


def test_fidelity_counts_autolinks_of_any_scheme() -> None:
    # DocBook prints ftp: and news: URLs as their own text: html-to-markdown writes autolinks.
    html = (
        "<main><h1>T</h1><p>At <a href='ftp://ftp.gnu.org/gnu/'>ftp://ftp.gnu.org/gnu/</a>, "
        "<a href='news://comp.ai.genetic'>news://comp.ai.genetic</a> and "
        "<a href='https://d.example/x'>https://d.example/x</a>.</p></main>"
    )
    fidelity = analyze_page(html, URL).fidelity
    assert (fidelity.links_html, fidelity.links_markdown) == (3, 3)
    assert fidelity.losses() == ()

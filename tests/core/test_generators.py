"""Generator detection and per-generator extraction on minimal pages modelled on each
generator's public markup: older versions and hosted generators whose real output is not among
the golden fixtures (``tests/core/test_golden.py``)."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from docspasta.core.generators import detect_generator
from docspasta.core.page import analyze_page
from docspasta.domain import CrawlOptions

URL = "https://docs.example.com/guide/page/"
CHROME = "CHROME-LEAK"


def _page(head: str, body: str) -> str:
    return f"<html><head><title>T</title>{head}</head><body>{body}</body></html>"


CASES: list[tuple[str, str, str]] = [
    (
        "docusaurus",
        '<meta name="generator" content="Docusaurus v3.1.0">',
        f"""<div id="__docusaurus"><nav class="navbar">{CHROME}</nav><main><div class="row">
        <article><nav class="theme-doc-breadcrumbs">{CHROME}</nav>
        <span class="theme-doc-version-badge">{CHROME}</span>
        <div class="theme-doc-markdown markdown"><header><h1>Guide</h1></header>
        <p>Body text.</p>
        <div class="tabs-container"><ul role="tablist"><li role="tab">npm</li>
        <li role="tab">yarn</li></ul><div class="margin-top--md">
        <div role="tabpanel"><pre><code class="language-bash">npm i x</code></pre></div>
        <div role="tabpanel" hidden><pre><code class="language-bash">yarn add x</code></pre></div>
        </div></div>
        <div class="theme-admonition theme-admonition-tip alert alert--success">
        <div class="admonitionHeading_x">tip</div><div class="admonitionContent_y"><p>Hint.</p>
        </div></div></div>
        <footer class="theme-doc-footer"><a href="e">{CHROME}</a></footer>
        <nav class="pagination-nav">{CHROME}</nav></article></div></main></div>""",
        "# Guide\n\nBody text.\n\n**npm**\n\n```bash\nnpm i x\n```\n\n**yarn**\n\n"
        "```bash\nyarn add x\n```\n\n> **tip**\n>\n> Hint.\n",
    ),
    (
        "vitepress",
        '<meta name="generator" content="VitePress v1.0.0">',
        f"""<div id="app"><div class="VPLocalNav">{CHROME}</div><div id="VPContent">
        <div class="VPDoc"><aside class="VPDocAside">{CHROME}</aside><main class="main">
        <div class="vp-doc"><div><h1 id="guide">Guide <a class="header-anchor" href="#guide">
        </a></h1><p>Body text.</p>
        <div class="language-ts vp-adaptive-theme"><button class="copy"></button>
        <span class="lang">ts</span><pre class="shiki"><code><span class="line">const a = 1</span>
<span class="line">  a + 1</span></code></pre></div>
        <div class="tip custom-block"><p class="custom-block-title">TIP</p><p>Hint.</p></div>
        </div></div><footer class="VPDocFooter"><a class="edit-link">{CHROME}</a></footer>
        </main></div></div></div>""",
        "# Guide\n\nBody text.\n\n```typescript\nconst a = 1\n  a + 1\n```\n\n"
        "> **TIP**\n>\n> Hint.\n",
    ),
    (
        "starlight",
        '<meta name="generator" content="Astro v4.5.0"><meta name="generator" '
        'content="Starlight v0.21.0">',
        f"""<div class="page"><nav class="sidebar">{CHROME}</nav><main><div class="content-panel">
        <h1 id="_top">Guide</h1></div><div class="content-panel">
        <div class="sl-markdown-content"><p>Body text.</p>
        <aside aria-label="Note" class="starlight-aside starlight-aside--note">
        <p class="starlight-aside__title">Note</p><div class="starlight-aside__content">
        <p>Hint.</p></div></aside>
        <div class="expressive-code"><figure class="frame"><pre data-language="sh"><code>
        <div class="ec-line"><div class="code">ls -la</div></div><div class="ec-line">
        <div class="code">  cd x</div></div></code></pre>
        <div class="copy"><button>{CHROME}</button></div></figure></div></div>
        <div class="pagination-links">{CHROME}</div></div></main></div>""",
        "# Guide\n\nBody text.\n\n> **Note**\n>\n> Hint.\n\n```sh\nls -la\n  cd x\n```\n",
    ),
    (
        "nextra",
        "",
        f"""<div class="nextra-nav-container">{CHROME}</div><div class="nextra-sidebar-container">
        {CHROME}</div><article class="nextra-content"><main><h1>Guide</h1><p>Body text.</p>
        <pre data-language="js"><code><span class="line">let x = 1</span></code></pre>
        <div class="nextra-callout"><div>💡</div><div>Hint.</div></div></main></article>
        <nav class="nextra-toc">{CHROME}</nav>""",
        "# Guide\n\nBody text.\n\n```javascript\nlet x = 1\n```\n\n> **Tip**\n>\n> Hint.\n",
    ),
    (
        "gitbook",
        '<meta name="generator" content="GitBook (28.0.0)">',
        f"""<header>{CHROME}</header><div><aside>{CHROME}</aside><main><header><h1>Guide</h1>
        </header><p>Body text.</p><div data-testid="page.desktopTableOfContents">{CHROME}</div>
        </main></div>""",
        "# Guide\n\nBody text.\n",
    ),
    (
        "mintlify",
        "",
        f"""<div id="navbar">{CHROME}</div><div id="sidebar">{CHROME}</div>
        <div id="content-area"><header id="header"><h1>Guide</h1></header>
        <div id="content" class="prose"><p>Body text.</p></div>
        <div id="pagination">{CHROME}</div><footer id="footer">{CHROME}</footer></div>""",
        "Body text.\n",
    ),
    (
        "docsy",
        '<meta name="generator" content="Hugo 0.120.4">',
        f"""<header>{CHROME}</header><div class="td-main"><div class="row">
        <aside class="td-sidebar">{CHROME}</aside><main role="main">
        <nav aria-label="breadcrumb" class="td-breadcrumbs">{CHROME}</nav>
        <div class="td-content"><h1>Guide</h1><div class="td-page-meta">{CHROME}</div>
        <p>Body text.</p><div class="alert alert-warning" role="alert">
        <h4 class="alert-heading">Careful</h4><p>Hint.</p></div></div></main></div></div>""",
        "# Guide\n\nBody text.\n\n> **Careful**\n>\n> Hint.\n",
    ),
    (
        "pydoctor",
        '<meta name="generator" content="pydoctor 23.9.1">',
        f"""<nav class="navbar">{CHROME}</nav><div class="container-fluid"><div id="main">
        <h1>Module pkg.mod</h1><div class="moduleDocstring"><p>Body text.</p></div>
        </div></div><footer>{CHROME}</footer>""",
        "# Module pkg.mod\n\nBody text.\n",
    ),
    (
        "pydoctor",
        '<meta name="generator" content="pydoctor 25.10.1">',
        f"""<nav class="navbar mainnavbar">{CHROME}</nav><div class="container-fluid">
        <div class="sidebarcontainer"><div class="sidebar">{CHROME}</div></div><main>
        <div class="page-header"><h1 class="class">Widget</h1><div id="show-private">
        <button>{CHROME}</button></div></div><div class="extrasDocstring"><p>Constructor:</p>
        <p><a href="classIndex.html#pkg.Widget">{CHROME}</a></p></div>
        <div class="moduleDocstring"><p>Body text.</p></div><div class="functionHeader">
        def grow(): <a class="headerLink" href="#grow">{CHROME}</a></div></main></div>
        <footer class="navbar">{CHROME}</footer>""",
        "# Widget\n\nConstructor:\n\nBody text.\n\n`def grow():`\n",
    ),
    (
        "sphinx",
        '<meta name="generator" content="Docutils 0.20.1: https://docutils.sourceforge.io/">',
        f"""<div class="page"><aside class="sidebar-drawer">{CHROME}</aside><div class="main">
        <div class="content"><div class="article-container">
        <div class="content-icon-container"><a href="e">{CHROME}</a></div>
        <article role="main" id="furo-main-content"><section><h1>Guide<a class="headerlink"
        href="#guide">¶</a></h1><p>Body text.</p>
        <dl class="py function"><dt class="sig sig-object py" id="f"><span class="sig-name
        descname"><span class="pre">f</span></span><span class="sig-paren">(</span><em
        class="sig-param"><span class="n">x</span></em><span class="sig-paren">)</span><a
        class="reference internal" href="_modules/m.html#f"><span class="viewcode-link">
        [source]</span></a><a class="headerlink" href="#f">¶</a></dt><dd><p>Does f.</p></dd></dl>
        </section></article></div><aside class="toc-drawer">{CHROME}</aside></div></div>
        <footer><div class="related-pages">{CHROME}</div></footer></div>""",
        "# Guide\n\nBody text.\n\n`f(x)`\n\nDoes f.\n",
    ),
    (
        "sphinx",
        "",
        f"""<div class="bd-container"><div class="bd-sidebar-primary">{CHROME}</div>
        <main id="main-content" class="bd-main"><div class="bd-content"><div
        class="bd-article-container"><div class="bd-header-article">{CHROME}</div>
        <article class="bd-article"><section><h1>Guide</h1><p>Body text.</p></section>
        </article><footer class="prev-next-footer">{CHROME}</footer></div>
        <div class="bd-sidebar-secondary">{CHROME}</div></div></main></div>""",
        "# Guide\n\nBody text.\n",
    ),
]


@pytest.mark.parametrize(
    ("generator", "head", "body", "expected"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_generator_page(generator: str, head: str, body: str, expected: str) -> None:
    page = analyze_page(_page(head, body), URL)
    assert page.generator == generator
    assert CHROME not in page.markdown
    assert page.markdown == expected


@pytest.mark.parametrize(
    ("html", "name"),
    [
        ('<meta name="generator" content="Hugo 0.1"><main><p>x</p></main>', "generic"),
        ('<meta name="generator" content="mkdocs-1.5.3, mkdocs-material-9.5.3">', "mkdocs"),
        ('<meta name="generator" content="Doxygen 1.9.4"/>', "doxygen"),
        ('<meta name="generator" content="DocBook XSL Stylesheets V1.79.1">', "docbook"),
        ('<meta name="generator" content="rustdoc">', "rustdoc"),
        ('<meta name="generator" content="javadoc/ClassWriterImpl">', "javadoc"),
        ('<body class="rustdoc fn"><p>x</p></body>', "rustdoc"),
        ('<div id="mdbook-help-container"></div>', "mdbook"),
        ('<div class="sphinxsidebar"></div>', "sphinx"),
        ('<meta name="generator" content="Docutils 0.19">', "sphinx"),
        ('<div id="nextra-skip-nav"></div><main><p>x</p></main>', "nextra"),  # Nextra 4
        ('<meta name="generator" content="pydoctor 25.10.1">', "pydoctor"),
        ('<div id="show-private"></div>', "pydoctor"),
        ("<main><p>nothing known</p></main>", "generic"),
    ],
)
def test_detection(html: str, name: str) -> None:
    assert detect_generator(LexborHTMLParser(html)).name == name


def test_include_and_exclude_selectors_override_the_generator() -> None:
    html = _page(
        "",
        "<main><p>main text</p></main><div class='doc'><p>one</p><p class='ad'>ad</p></div>"
        "<section class='doc'><p>two</p></section>",
    )
    options = CrawlOptions(include_selectors=(".doc",), exclude_selectors=(".ad",))
    page = analyze_page(html, URL, options=options)
    assert page.markdown == "one\n\ntwo\n"
    assert analyze_page(html, URL).markdown == "main text\n"


def test_invalid_selector_is_refused_by_the_options() -> None:
    with pytest.raises(ValueError, match="not a valid CSS selector"):
        CrawlOptions(include_selectors=("div[",))


def _nextra_callout(colour: str, content: str) -> str:
    """A Nextra 4 callout: no type in its classes, only Tailwind colours and an icon cell."""
    return (
        f'<div class="nextra-callout x:flex x:border x:bg-{colour}-100 x:border-{colour}-700">'
        '<div class="x:select-none" data-pagefind-ignore="all"><svg viewBox="0 0 16 16"><path>'
        f'</path></svg></div><div class="x:w-full x:min-w-0">{content}</div></div>'
    )


def test_nextra_4_callouts_take_their_kind_from_colour_or_bold_title_once() -> None:
    body = (
        '<div id="nextra-skip-nav"></div><article><main><h1>Guide</h1>'
        + _nextra_callout("blue", "<p>Plain note.</p>")
        + _nextra_callout("yellow", "<b>Warning</b>\n<p>Wraps badly.</p>")
        + _nextra_callout("green", "<p><strong>Do not</strong> run it twice.</p>")
        + _nextra_callout("red", "<p><strong>Data loss</strong></p><p>Back up first.</p>")
        + "</main></article>"
    )
    page = analyze_page(_page("", body), URL)
    assert page.generator == "nextra"
    assert page.markdown == (
        "# Guide\n\n> **Note**\n>\n> Plain note.\n\n> **Warning**\n>\n> Wraps badly.\n\n"
        "> **Tip**\n>\n> **Do not** run it twice.\n\n> **Data loss**\n>\n> Back up first.\n"
    )


def test_pydoctor_title_signatures_and_field_tables() -> None:
    body = """<main><div class="page-header"><h1 class="module"><code><code><a href="pkg.html"
    class="internal-link">pkg</a>.<a href="pkg.mod.html" class="internal-link">mod</a></code></code>
    </h1></div><div class="moduleDocstring"><p>Body text.</p></div>
    <div class="basefunction"><a name="pkg.mod.grow"></a><div class="functionHeader">
    <span class="py-keyword">def</span>&#160;<span class="py-defname">grow</span><span
    class="function-signature">(<span class="rst-sig-param">by: <code>int</code></span>) -&gt;
    <code><a href="pkg.Widget.html">Widget</a></code>:</span><a class="sourceLink"
    href="https://github.com/x/pkg/mod.py#L3">(source)</a><a class="headerLink" href="#grow">¶
    </a></div><div class="docstring functionBody"><p>Grow it.</p><table class="fieldTable">
    <tr class="fieldStart"><td class="fieldName" colspan="2">Parameters</td></tr>
    <tr><td class="fieldArgContainer"><span class="fieldArg">by:</span><code>int</code></td>
    <td class="fieldArgDesc">How much.</td></tr>
    <tr><td class="fieldArgContainer"><span class="fieldArg">**kw</span></td>
    <td class="fieldArgDesc"><span class="undocumented">Undocumented</span></td></tr>
    <tr class="fieldStart"><td class="fieldName" colspan="2">Returns</td></tr>
    <tr><td colspan="2">The grown <code>Widget</code>.</td></tr></table></div></div>
    <div class="basefunction"><div class="functionHeader">@property<br>
    <span class="py-keyword">def</span>&#160;<span class="py-defname">size</span>(self):</div>
    </div></main>"""
    page = analyze_page(_page('<meta name="generator" content="pydoctor 25.10.1">', body), URL)
    assert page.markdown == (
        "# `pkg.mod`\n\nBody text.\n\n`def grow(by: int) -> Widget:`\n\nGrow it.\n\n"
        "**Parameters**\n\n- `by`: `int` - How much.\n- `**kw` - Undocumented\n\n"
        "**Returns**\n\n- The grown `Widget`.\n\n```python\n@property\ndef size(self):\n```\n"
    )

"""Main-content extraction and titles, through analyze_page and directly."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from docspasta.core.extract import extract_content, find_main_content, page_title
from docspasta.core.page import analyze_page

SPHINX = """<!DOCTYPE html>
<html><head><title>Installation &#8212; Proj 1.0 documentation</title></head><body>
<div class="related" role="navigation" aria-label="Related"><h3>Navigation</h3>
  <ul><li><a href="genindex.html">index</a></li><li><a href="usage.html">next</a></li></ul></div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper">
<div class="body" role="main">
  <section id="installation">
  <h1>Installation<a class="headerlink" href="#installation" title="Link to this heading">¶</a></h1>
  <p>Install it with pip.</p>
  <div class="highlight-console notranslate"><div class="highlight"><pre><span></span><span
    class="gp">$ </span>pip install proj
</pre></div></div>
  <section id="extras"><h2>Extras<a class="headerlink" href="#extras">¶</a></h2>
  <p>See <a class="reference internal" href="usage.html#extras">usage</a>.</p></section>
  </section>
</div></div></div>
<div class="sphinxsidebar" role="navigation" aria-label="Main"><div class="sphinxsidebarwrapper">
  <h3>Table of Contents</h3><ul><li><a href="index.html">Home</a></li></ul>
  <div role="note"><h3>This Page</h3>
    <ul><li><a href="_sources/install.rst.txt">Show Source</a></li></ul></div>
</div></div></div>
<div class="footer">&#169; Copyright 2024. Created using Sphinx.</div>
</body></html>"""

MKDOCS = """<!doctype html><html><head><title>Setup - My Tool</title></head><body>
<header class="md-header"><nav class="md-header__inner"><a href="../">My Tool</a></nav></header>
<div class="md-container"><main class="md-main"><div class="md-main__inner md-grid">
<div class="md-sidebar md-sidebar--primary"><div class="md-sidebar__scrollwrap">
  <nav class="md-nav md-nav--primary"><ul><li><a href="../">Home</a></li>
  <li><a href="./">Setup</a></li><li><a href="../usage/">Usage</a></li></ul></nav></div></div>
<div class="md-sidebar md-sidebar--secondary"><nav class="md-nav md-nav--secondary">
  <ul><li><a href="#requirements">Requirements</a></li></ul></nav></div>
<div class="md-content" data-md-component="content"><article class="md-content__inner md-typeset">
  <a href="https://github.com/me/tool/edit/main/docs/setup.md" title="Edit this page"
     class="md-content__button md-icon"><svg viewBox="0 0 24 24"><path d="M1"/></svg></a>
  <h1 id="setup">Setup</h1>
  <p>Get going.</p>
  <h2 id="requirements">Requirements<a class="headerlink" href="#requirements">&para;</a></h2>
  <div class="language-bash highlight"><pre><span></span><code><a id="__codelineno-0-1"
    name="__codelineno-0-1" href="#__codelineno-0-1"></a>pip install tool
</code></pre></div>
  <aside class="md-source-file">Last update: 2024-01-01</aside>
</article></div></div></main>
<footer class="md-footer"><nav class="md-footer__inner">
  <a href="../usage/" class="md-footer__link">Next Usage</a></nav></footer>
</div></body></html>"""

PLAIN = """<html><head><title>Guide | Site</title></head><body>
<header><a href="/">Site</a><nav><a href="/docs/">Docs</a></nav></header>
<div id="cookie-banner">We use cookies <button>OK</button></div>
<main>
  <article><header><h1>The Guide</h1><p class="byline">by us</p></header>
  <p>Read this first.</p><!-- build 123 -->
  <div hidden>secret hidden text</div>
  <span aria-hidden="true">decorative</span>
  <div class="cookie-banner">Accept cookies?</div>
  <p><a href="https://github.com/x/y/edit/main/guide.md">Edit this page</a></p>
  <form><input name="q"></form>
  <script>var x = "script text";</script><style>p{}</style>
  <noscript>enable js</noscript>
  </article>
  <aside>Related: other stuff</aside>
</main>
<footer>Site footer text</footer>
</body></html>"""


def test_sphinx_page() -> None:
    page = analyze_page(SPHINX, "https://docs.example.com/en/latest/install.html")
    assert page.title == "Installation"
    assert page.markdown == (
        "# Installation\n\nInstall it with pip.\n\n"
        "```console\n$ pip install proj\n```\n\n"
        "## Extras\n\nSee [usage](https://docs.example.com/en/latest/usage.html#extras).\n"
    )
    assert "¶" not in page.markdown
    assert "Table of Contents" not in page.markdown
    assert "Copyright" not in page.markdown


def test_mkdocs_material_page() -> None:
    page = analyze_page(MKDOCS, "https://tool.example.com/setup/")
    assert page.title == "Setup"
    assert page.markdown == (
        "# Setup\n\nGet going.\n\n## Requirements\n\n```bash\npip install tool\n```\n"
    )


def test_plain_main_page() -> None:
    page = analyze_page(PLAIN, "https://site.example.com/docs/guide.html")
    assert page.title == "The Guide"
    markdown = page.markdown
    assert markdown.startswith("# The Guide\n\nby us\n\nRead this first.")
    for boilerplate in (
        "secret hidden",
        "decorative",
        "cookies",
        "Edit this page",
        "script text",
        "enable js",
        "Related",
        "Site footer",
        "Docs",
        "OK",
    ):
        assert boilerplate not in markdown, boilerplate


def test_main_container_priority() -> None:
    html = (
        "<body><div class='content'><p>content div</p></div>"
        "<article><p>the article</p></article>"
        "<div role='main'><p>role main</p></div></body>"
    )
    main = find_main_content(LexborHTMLParser(html))
    assert main is not None
    assert main.text(strip=True) == "role main"


def test_empty_candidates_are_skipped_and_the_densest_block_is_the_fallback() -> None:
    tree = LexborHTMLParser(
        "<body><main> </main><div id='links'><a href='/a'>a</a> <a href='/b'>b</a></div>"
        "<div id='text'><p>only body text</p></div></body>"
    )
    main = find_main_content(tree)
    assert main is not None
    assert main.attributes.get("id") == "text"


def test_body_is_the_last_resort() -> None:
    tree = LexborHTMLParser("<body><a href='/a'>link one</a> <span>two</span></body>")
    main = find_main_content(tree)
    assert main is not None
    assert main.tag == "body"


def test_title_fallbacks() -> None:
    with_title = LexborHTMLParser("<title> Page  Title </title><body><p>x</p></body>")
    assert page_title(with_title, extract_content(with_title), "https://e.com/a") == "Page Title"
    bare = LexborHTMLParser("<body><p>x</p></body>")
    title = page_title(bare, extract_content(bare), "https://e.com/docs/getting-started.html")
    assert title == "getting started"
    assert page_title(bare, None, "https://e.com/") == "e.com"


def test_clean_content_removes_chrome_from_the_tree() -> None:
    tree = LexborHTMLParser(PLAIN)
    content = extract_content(tree)
    assert content is not None
    html = content.html or ""
    for tag in ("<script", "<style", "<noscript", "<form", "<aside", "<button", "<!--"):
        assert tag not in html, tag
    assert "<header><h1>The Guide</h1>" in html  # the article's own header stays
    assert "Read this first." in html

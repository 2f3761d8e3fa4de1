"""Docs-generator detection and the per-generator extraction rules.

A :class:`Generator` names where a generator puts the page's content (``content``: selectors
tried in order, the first match holding text wins) and what it puts inside that container that is
not content (``remove``). :func:`detect_generator` reads ``<meta name="generator">`` first, then
probes for markup only that generator writes; the first rule that matches wins, else
:data:`GENERIC` (landmarks, then a text-density heuristic in :mod:`docspasta.core.extract`).

Detection costs one ``<meta>`` lookup plus at most one CSS query per rule without a meta match,
all on the already parsed tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser


@dataclass(frozen=True)
class Generator:
    """One docs generator's extraction rule."""

    name: str
    #: Pattern matched (case-insensitively, from the start) against ``<meta name=generator>``.
    meta: str | None = None
    #: A selector only this generator's pages match (used when the meta tag says nothing).
    probe: str | None = None
    #: Content containers, most specific first.
    content: tuple[str, ...] = ()
    #: Elements inside the container that are not content.
    remove: tuple[str, ...] = ()
    #: Elements inside the container whose content stays but whose tag goes (links in a
    #: heading that are the generator's navigation, not the author's).
    unwrap: tuple[str, ...] = ()


_SPHINX_REMOVE = (
    ".sphinxsidebar",
    ".related",
    "div.footer",
    ".headerlink",
    ".viewcode-link",
    ".viewcode-back",
    "button.copybtn",
    ".copybutton",
    # Read the Docs theme
    ".wy-nav-side",
    ".rst-versions",
    ".rst-footer-buttons",
    ".wy-breadcrumbs",
    # Furo
    ".content-icon-container",
    ".related-pages",
    ".back-to-top",
    ".toc-drawer",
    ".sidebar-drawer",
    ".mobile-header",
    # PyData / Book
    ".bd-sidebar-primary",
    ".bd-sidebar-secondary",
    ".bd-header-article",
    ".header-article-items",
    ".prev-next-area",
    ".prev-next-footer",
    ".bd-footer-article",
    ".bd-footer-content",
    ".bd-toc",
    ".onthispage",
    ".version-switcher__container",
    ".theme-switch-button",
    ".article-header-buttons",
)

#: Rules in detection order. Themes of one generator share a rule: their containers are tried
#: in order, so the most specific theme's container comes first.
RULES: tuple[Generator, ...] = (
    Generator(
        name="sphinx",
        meta=r"sphinx",
        probe="div.sphinxsidebar, .rst-content, #furo-main-content, .bd-article, "
        "div.body[role=main], .sphinxsidebarwrapper",
        content=(
            ".rst-content [itemprop=articleBody]",
            "#furo-main-content",
            "article.bd-article",
            "div.body",
            "[role=main]",
            "main",
        ),
        remove=_SPHINX_REMOVE,
    ),
    Generator(
        name="mkdocs",
        meta=r"mkdocs",
        probe=".md-content, .md-typeset",
        content=(
            "article.md-content__inner",
            ".md-content",
            ".rst-content [role=main]",
            "[role=main]",
            "main",
        ),
        remove=(
            ".md-content__button",
            ".md-source-file",
            ".md-feedback",
            ".md-top",
            ".md-clipboard",
            ".md-code__nav",
            ".headerlink",
            ".md-sidebar",
            ".md-footer",
            ".rst-footer-buttons",
        ),
    ),
    Generator(
        name="docusaurus",
        meta=r"docusaurus",
        probe=".theme-doc-markdown, #__docusaurus",
        content=(".theme-doc-markdown", "article", "main"),
        remove=(
            ".theme-doc-breadcrumbs",
            ".theme-doc-version-badge",
            ".theme-doc-version-banner",
            ".theme-doc-footer",
            ".theme-doc-toc-mobile",
            ".theme-doc-toc-desktop",
            ".theme-edit-this-page",
            ".theme-last-updated",
            ".pagination-nav",
            "a.hash-link",
            "[class*=copyButton]",
            "[class*=buttonGroup]",
        ),
    ),
    Generator(
        name="vitepress",
        meta=r"vitepress",
        probe=".vp-doc, #VPContent",
        content=(".vp-doc", "main"),
        remove=(
            ".header-anchor",
            "button.copy",
            "span.lang",
            ".VPDocFooter",
            ".VPDocAside",
            ".VPLocalNav",
            ".edit-link",
            ".prev-next",
            ".pager",
        ),
    ),
    Generator(
        name="starlight",
        meta=r"starlight",
        probe=".sl-markdown-content, starlight-toc",
        # <main> holds the page's <h1> (in its own panel) and .sl-markdown-content
        content=("main", ".sl-markdown-content"),
        remove=(
            ".sl-anchor-link",
            ".pagination-links",
            "starlight-toc",
            "mobile-starlight-toc",
            "starlight-theme-select",
            "starlight-lang-select",
            "site-search",
            ".copy",
            # Expressive Code: an untitled frame's caption, a terminal's "Terminal window"
            "figure.frame figcaption.header:has(> .title:empty)",
            "figure.frame figcaption.header > .sr-only",
        ),
    ),
    Generator(
        name="nextra",
        meta=r"nextra",
        # Nextra 4 writes no meta tag and dropped .nextra-content: its skip link and navbar
        probe=".nextra-content, .nextra-nav-container, .nextra-sidebar-container, "
        "#nextra-skip-nav, .nextra-navbar",
        content=("article.nextra-content main", ".nextra-content", "article main", "main"),
        remove=(
            "a.subheading-anchor",
            # Nextra 4 repeats each tab's name as an invisible <h3> anchor inside its panel
            "[role=tabpanel] > h3[style*='visibility:hidden']",
            ".nextra-breadcrumb",
            ".nextra-toc",
            ".nextra-sidebar-container",
            ".nextra-nav-container",
            ".nextra-pagination",
            ".nextra-copy-button",
        ),
    ),
    Generator(
        name="mdbook",
        probe="#mdbook-help-container, .sidebar-scrollbox, #menu-bar.menu-bar",
        content=("#content main", "main"),
        remove=(".nav-chapters", ".mobile-nav-chapters", "#menu-bar", "#sidebar", ".buttons"),
    ),
    Generator(
        name="rustdoc",
        meta=r"rustdoc",
        probe="body.rustdoc",
        content=("#main-content",),
        remove=(
            ".out-of-band",
            "#copy-path",
            "a.anchor",
            "a.srclink",
            "a.src",
            "a.test-arrow",
            "summary.hideme",
            ".rightside",
            "rustdoc-toolbar",
            ".src-line-numbers",
            ".example-line-numbers",
            ".line-numbers",
        ),
        # the title's path components link to their modules: the heading reads as plain text
        unwrap=(".main-heading h1 a",),
    ),
    Generator(
        name="javadoc",
        meta=r"javadoc",
        probe=".flex-content main, .contentContainer, .sub-nav",
        content=("main[role=main]", ".flex-content main", ".contentContainer", "main"),
        remove=(
            ".sub-nav",
            ".top-nav",
            ".legal-copy",
            ".table-tabs",
            ".inheritance-tree-link",
            ".skip-nav",
        ),
    ),
    Generator(
        name="doxygen",
        meta=r"doxygen",
        probe="#doc-content, div.contents div.textblock",
        content=("#doc-content", "div.contents"),
        remove=(
            "#nav-path",
            ".navpath",
            "#side-nav",
            "#MSearchBox",
            "#MSearchSelectWindow",
            "#MSearchResultsWindow",
            "div.summary",
            "a.anchor:empty",
            "span.lineno",
            "span.permalink",
            "tr:has(> td.memSeparator)",
            ".dynheader img",
        ),
    ),
    Generator(
        name="pydoctor",
        meta=r"pydoctor",
        probe="#showPrivate, #show-private, .pydoctor-version",
        content=("main", "#main", ".container", "body"),
        remove=(
            ".navbar",
            "#showPrivate",
            "#show-private",
            "a.headerLink",
            ".functionHeader a.sourceLink",
            ".extrasDocstring p:has(> a[href^='classIndex.html'])",
            ".sidebar",
            "footer",
            ".moduleSource",
            "#collapseSideBar",
        ),
        # the title links each part of the dotted name to its parent's page
        unwrap=("h1 a",),
    ),
    Generator(
        name="docbook",
        meta=r"docbook",
        probe="div.navheader, div.navfooter",
        content=(
            "body > div.book",
            "body > div.part",
            "body > div.chapter",
            "body > div.article",
            "body > div.appendix",
            "body > div.preface",
            "body > div.refentry",
            "body > div.reference",
            "body > div.glossary",
            "body > div.index",
            "body > div.sect1",
            "body > div.section",
            "body",
        ),
        remove=(
            "div.navheader",
            "div.navfooter",
            "div.toc",
            "div.list-of-tables",
            "div.list-of-figures",
            "div.list-of-examples",
        ),
    ),
    Generator(
        name="docsy",
        meta=r"hugo",
        probe=".td-content, .td-main",
        content=(".td-content", "main", "[role=main]"),
        remove=(
            ".td-page-meta",
            ".td-page-meta__lastmod",
            ".td-toc",
            ".td-sidebar",
            ".td-sidebar-toc",
            ".td-breadcrumbs",
            ".feedback--title",
            ".feedback--answer",
            ".feedback--response",
            ".d-print-none",
            ".td-heading-self-link",
        ),
    ),
    Generator(
        name="gitbook",
        meta=r"gitbook",
        probe="[data-testid='page.desktopTableOfContents'], .gitbook-root",
        content=("main", "[role=main]"),
        remove=(
            "[data-testid='page.desktopTableOfContents']",
            "[data-testid='page.mobileTableOfContents']",
            "[aria-label=Breadcrumb]",
            "a[href*='/~gitbook/pdf']",
            "[data-testid=page-feedback]",
        ),
    ),
    Generator(
        name="mintlify",
        meta=r"mintlify",
        probe="#content-area, #mintlify-root",
        content=("#content-area #content", "#content-area", "main"),
        remove=(
            "#header",
            "#sidebar",
            "#table-of-contents",
            "#pagination",
            "#footer",
            ".feedback-toolbar",
            "#page-context-menu",
            "#navbar",
        ),
    ),
)

#: No generator recognised: landmarks, then the text-density heuristic.
GENERIC = Generator(name="generic", content=("[role=main]", "main", "article"))

_BY_NAME = {rule.name: rule for rule in RULES}
_DOCUTILS = re.compile(r"docutils", re.IGNORECASE)
_META_RULES = tuple((re.compile(rule.meta, re.IGNORECASE), rule) for rule in RULES if rule.meta)


def generator_by_name(name: str) -> Generator:
    """The rule called ``name`` (``GENERIC`` for an unknown name)."""
    return _BY_NAME.get(name, GENERIC)


def detect_generator(tree: LexborHTMLParser) -> Generator:
    """The generator that made the page, from its meta tag, else its markup; else GENERIC.

    Several meta tags may be present (Astro + Starlight, Hugo + Docsy): each is tried against
    every rule and the earliest rule of :data:`RULES` that matches one wins; Hugo counts only
    with Docsy's markup. A bare ``Docutils`` tag (Sphinx and pydoctor both write one) is
    considered only after every markup probe failed.
    """
    metas = [
        (node.attributes.get("content") or "").strip() for node in tree.css("meta[name=generator]")
    ]
    for pattern, rule in _META_RULES:
        if any(pattern.match(meta) for meta in metas):
            if rule.name == "docsy" and rule.probe and tree.css_first(rule.probe) is None:
                continue  # Hugo without the Docsy theme
            return rule
    for rule in RULES:
        if rule.probe and tree.css_first(rule.probe) is not None:
            return rule
    if any(_DOCUTILS.match(meta) for meta in metas):
        return _BY_NAME["sphinx"]  # plain docutils output: Sphinx's containers fit it best
    return GENERIC

"""Main-content extraction and page titles, on a selectolax (lexbor) tree.

The main container is the first of, in order: ``[role=main]``, ``<main>``, ``<article>``, then
the containers of known docs generators (Sphinx ``div.body`` / ``div.document``, MkDocs
Material ``.md-content``, Docusaurus ``.theme-doc-markdown``, ``#content``, ``.content``), else
``<body>``. When the chosen container holds a known generator's content container (Material's
``<main>`` holds its sidebars and ``.md-content``), extraction descends into that one.

Inside the container, page chrome is removed: scripts and styles, navigation, sidebars, the
site's header and footers, forms and buttons, hidden elements, heading permalinks (Sphinx's
``¶``), breadcrumbs, "edit this page" links and cookie banners. The tree is modified in place.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

#: Where the main content lives, most specific signal first.
MAIN_SELECTORS: tuple[str, ...] = (
    "[role=main]",
    "main",
    "article",
    "div.body",
    "div.document",
    ".md-content",
    ".theme-doc-markdown",
    "#content",
    ".content",
)

#: Content containers of docs generators; extraction descends into one found inside the main.
GENERATOR_SELECTORS: tuple[str, ...] = (
    ".theme-doc-markdown",  # Docusaurus
    ".md-content",  # MkDocs Material
    "div.body",  # Sphinx
    ".rst-content [itemprop=articleBody]",  # Read the Docs theme
)

#: Elements that are never part of the content.
BOILERPLATE_SELECTORS: tuple[str, ...] = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "nav",
    "aside",
    "form",
    "button",
    "iframe",
    "footer",
    "[hidden]",
    "[aria-hidden=true]",
    "[role=navigation]",
    "[role=search]",
    "[role=banner]",
    "[role=contentinfo]",
    # heading permalinks
    ".headerlink",
    ".hash-link",
    ".anchorjs-link",
    ".anchor-link",
    # Sphinx / Read the Docs chrome
    ".sphinxsidebar",
    ".related",
    ".rst-footer-buttons",
    "div.footer",
    # MkDocs Material / Docusaurus chrome
    ".md-sidebar",
    ".md-content__button",
    ".md-source-file",
    ".theme-doc-toc-mobile",
    ".theme-doc-toc-desktop",
    ".theme-doc-footer",
    ".theme-edit-this-page",
    ".pagination-nav",
    # breadcrumbs, edit links, cookie banners
    ".breadcrumbs",
    ".breadcrumb",
    ".wy-breadcrumbs",
    "[aria-label=breadcrumbs]",
    "[aria-label=breadcrumb]",
    ".edit-this-page",
    ".edit-page-link",
    "a[rel=edit]",
    ".cookie-banner",
    ".cookie-consent",
    "#cookie-banner",
    "#cookie-consent",
    "#cookie-notice",
    ".cc-window",
    "#onetrust-consent-sdk",
)

_EDIT_LINK_TEXT = re.compile(
    r"^\s*(?:edit (?:this page|on github|on gitlab|page|source)|improve this (?:page|doc)"
    r"|view (?:page )?source|suggest (?:an )?edits?)\s*$",
    re.IGNORECASE,
)
_HEADINGS = "h1, h2, h3, h4, h5, h6"
_SPACES = re.compile(r"\s+")


def _text(node: LexborNode) -> str:
    return _SPACES.sub(" ", node.text()).strip()


def _has_text(node: LexborNode) -> bool:
    return bool(node.text(strip=True))


def find_main_content(tree: LexborHTMLParser) -> LexborNode | None:
    """The element holding the page's main content (``None`` only for a page without a body)."""
    main: LexborNode | None = None
    for selector in MAIN_SELECTORS:
        main = next((node for node in tree.css(selector) if _has_text(node)), None)
        if main is not None:
            break
    if main is None:
        return tree.body
    for selector in GENERATOR_SELECTORS:
        inner = main.css_first(selector)
        if inner is not None and inner.mem_id != main.mem_id and _has_text(inner):
            return inner
    return main


def _is_own_header(header: LexborNode) -> bool:
    """An article's own header holds its title; a site header does not."""
    return header.css_first(_HEADINGS) is not None


def _boilerplate(content: LexborNode) -> list[LexborNode]:
    found: dict[int, LexborNode] = {}
    for node in content.css(", ".join(BOILERPLATE_SELECTORS)):
        found[node.mem_id] = node
    for header in content.css("header"):
        if not _is_own_header(header):
            found[header.mem_id] = header
    for link in content.css("a"):
        if _EDIT_LINK_TEXT.match(link.text()):
            found[link.mem_id] = link
    found.pop(content.mem_id, None)
    return list(found.values())


def clean_content(content: LexborNode) -> None:
    """Remove page chrome from ``content`` in place (see the module docstring for what)."""
    doomed = _boilerplate(content)
    ids = {node.mem_id for node in doomed}
    for node in doomed:
        # Removing a node frees its subtree: never touch a node whose ancestor goes too.
        parent = node.parent
        nested = False
        while parent is not None and parent.mem_id != content.mem_id:
            if parent.mem_id in ids:
                nested = True
                break
            parent = parent.parent
        if not nested:
            node.decompose()
    for node in list(content.traverse(include_text=False)):
        if node.is_comment_node:
            node.decompose()


def extract_content(tree: LexborHTMLParser) -> LexborNode | None:
    """Find the main content container, clean it in place and return it."""
    content = find_main_content(tree)
    if content is not None:
        clean_content(content)
    return content


def _title_from_url(url: str) -> str:
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    if not segments:
        return parts.hostname or url
    last = unquote(segments[-1])
    stem = last.rsplit(".", 1)[0] if "." in last else last
    return stem.replace("-", " ").replace("_", " ").strip() or last


def page_title(tree: LexborHTMLParser, content: LexborNode | None, url: str) -> str:
    """The page's title: the first ``<h1>`` of the content, else ``<title>``, else from the URL.

    Call it after :func:`clean_content`, so that permalink marks (``¶``) are gone.
    """
    if content is not None:
        for heading in content.css("h1"):
            text = _text(heading)
            if text:
                return text
    title = tree.css_first("title")
    if title is not None:
        text = _text(title)
        if text:
            return text
    return _title_from_url(url)

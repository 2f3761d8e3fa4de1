"""Main-content extraction and page titles, on a selectolax (lexbor) tree.

The container: the ``include_selectors`` when given (all their matches, in document order),
else the detected generator's content container (:mod:`docspasta.core.generators`), else the
first of ``[role=main]``, ``<main>``, ``<article>`` and common content ids/classes, else the block
that holds most of the page's paragraph text with few links (:func:`densest_block`), else
``<body>``. When a generic container holds a known generator's content container (Material's
``<main>`` holds its sidebars and ``.md-content``), extraction descends into that one.

Inside the container, page chrome is removed: scripts and styles, navigation, sidebars, the
site's header and footers, forms and buttons, hidden elements, heading permalinks (Sphinx's
``¶``; a heading that is itself a link to its own anchor is unwrapped), breadcrumbs, "edit this
page" links, prev/next links, version and language pickers, copy buttons, feedback widgets,
cookie banners, the generator's own chrome and the ``exclude_selectors``; the generator's
``unwrap`` elements lose their tag, not their content (pydoctor's title links). The tree is
modified in place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from docspasta.core.generators import GENERIC, Generator

#: Where the main content lives when no generator rule found it, most specific signal first.
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

#: Elements that are never part of the content, whatever the generator.
BOILERPLATE_SELECTORS: tuple[str, ...] = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "nav",
    # docutils writes footnotes and topics as <aside>: content, not a sidebar
    "aside:not(.footnote):not(.footnote-list):not(.topic)",
    "form",
    "button",
    "select",
    "iframe",
    "footer",
    "dialog",
    "[hidden]",
    "[aria-hidden=true]",
    "[role=navigation]",
    "[role=search]",
    "[role=banner]",
    "[role=contentinfo]",
    "[role=dialog]",
    "[style*='display:none']",
    "[style*='display: none']",
    # heading permalinks
    ".headerlink",
    ".hash-link",
    ".anchorjs-link",
    ".anchor-link",
    ".header-anchor",
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
    # breadcrumbs, edit links, prev/next, pickers, copy buttons, feedback, cookie banners
    ".breadcrumbs",
    ".breadcrumb",
    ".wy-breadcrumbs",
    "[aria-label=breadcrumbs]",
    "[aria-label=breadcrumb]",
    ".edit-this-page",
    ".edit-page-link",
    "a[rel=edit]",
    "a[rel=prev]",
    "a[rel=next]",
    ".prev-next",
    ".version-switcher",
    ".version-picker",
    ".language-switcher",
    ".language-picker",
    ".copy-button",
    ".copybutton",
    ".clipboard-button",
    ".feedback",
    "#feedback",
    ".page-feedback",
    ".was-this-helpful",
    ".cookie-banner",
    ".cookie-consent",
    "#cookie-banner",
    "#cookie-consent",
    "#cookie-notice",
    ".cc-window",
    "#onetrust-consent-sdk",
)
_BOILERPLATE = ", ".join(BOILERPLATE_SELECTORS)

_EDIT_LINK_TEXT = re.compile(
    r"^\s*(?:edit (?:this page|on github|on gitlab|page|source)|improve this (?:page|doc)"
    r"|view (?:page )?source|suggest (?:an )?edits?|report an issue|was this page helpful\??)\s*$",
    re.IGNORECASE,
)
#: Links whose text is checked against ``_EDIT_LINK_TEXT`` (edit and source links go there).
_EDIT_LINK_CANDIDATES = ", ".join(
    f"a[href*='{part}']"
    for part in ("edit", "github", "gitlab", "bitbucket", "source", "_sources", "issues", "/src/")
)
_HEADINGS = "h1, h2, h3, h4, h5, h6"
_HEADING_SELF_LINKS = ", ".join(f"h{level} a[href^='#']" for level in range(1, 7))
#: Text of a heading permalink (else the link is the heading's own text and is unwrapped).
_PERMALINK_TEXT = re.compile(r"^[\s#¶§🔗\u200b]*$")
_SPACES = re.compile(r"\s+")
#: The densest block must hold at least this share of the page's paragraph text.
_DENSITY_SHARE = 0.5


def _text(node: LexborNode) -> str:
    return _SPACES.sub(" ", node.text()).strip()


def _has_text(node: LexborNode) -> bool:
    return bool(node.text(strip=True))


def _first_with_text(
    scope: LexborHTMLParser | LexborNode, selectors: Sequence[str]
) -> LexborNode | None:
    for selector in selectors:
        found = next((node for node in scope.css(selector) if _has_text(node)), None)
        if found is not None:
            return found
    return None


def _link_text_length(node: LexborNode) -> int:
    return sum(len(link.text(strip=True)) for link in node.css("a"))


def densest_block(body: LexborNode) -> LexborNode | None:
    """The block holding most of the page's paragraph text, links discounted (or ``None``).

    Each ``<p>``/``<pre>`` credits its text length to its parent in full and to the grandparent
    by half; the best-scored block wins if it holds at least half of all paragraph text and its
    text is mostly not link text. ``None`` when the page has no paragraphs.
    """
    scores: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    total = 0
    for paragraph in body.css("p, pre"):
        length = len(paragraph.text(strip=True))
        total += length
        parent = paragraph.parent
        for weight in (1.0, 0.5):
            if parent is None or parent.mem_id == body.mem_id:
                break
            scores[parent.mem_id] = scores.get(parent.mem_id, 0.0) + weight * length
            nodes[parent.mem_id] = parent
            parent = parent.parent
    if not scores or total == 0:
        return None
    best_id = max(scores, key=lambda key: scores[key])
    best = nodes[best_id]
    text_length = len(best.text(strip=True))
    if scores[best_id] < _DENSITY_SHARE * total * 0.5 or text_length == 0:
        return None
    if _link_text_length(best) > 0.5 * text_length:
        return None
    return best


def _included(tree: LexborHTMLParser, include_selectors: Sequence[str]) -> LexborNode | None:
    """The matches of the include selectors, outermost only, moved into one new ``<div>``."""
    matches = tree.css(", ".join(include_selectors))
    if not matches:
        return None
    if len(matches) == 1:
        return matches[0]
    ids = {node.mem_id for node in matches}
    wrapper = tree.create_node("div")
    for node in matches:
        if not _inside(node, ids, None):
            wrapper.insert_child(node, move=True)
    body = tree.body
    if body is None:
        return None
    body.insert_child(wrapper, move=True)
    return body.last_child


def find_main_content(
    tree: LexborHTMLParser,
    generator: Generator = GENERIC,
    include_selectors: Sequence[str] = (),
) -> LexborNode | None:
    """The element holding the page's main content (``None`` only for a page without a body).

    See the module docstring for the order in which containers are tried.
    """
    if include_selectors:
        included = _included(tree, include_selectors)
        if included is not None:
            return included
    if generator is not GENERIC:
        found = _first_with_text(tree, generator.content)
        if found is not None:
            return found
    main = _first_with_text(tree, MAIN_SELECTORS)
    if main is None:
        body = tree.body
        if body is None:
            return None
        return densest_block(body) or body
    for selector in GENERATOR_SELECTORS:
        inner = main.css_first(selector)
        if inner is not None and inner.mem_id != main.mem_id and _has_text(inner):
            return inner
    return main


def _is_own_header(header: LexborNode) -> bool:
    """An article's own header holds its title; a site header does not."""
    return header.css_first(_HEADINGS) is not None


def _boilerplate(
    content: LexborNode, generator: Generator, exclude_selectors: Sequence[str]
) -> list[LexborNode]:
    found: dict[int, LexborNode] = {}
    selectors = _BOILERPLATE
    if generator.remove:
        selectors = f"{selectors}, {', '.join(generator.remove)}"
    if exclude_selectors:
        selectors = f"{selectors}, {', '.join(exclude_selectors)}"
    for node in content.css(selectors):
        found[node.mem_id] = node
    for header in content.css("header"):
        if not _is_own_header(header):
            found[header.mem_id] = header
    for link in content.css(_EDIT_LINK_CANDIDATES):
        if _EDIT_LINK_TEXT.match(link.text()):
            found[link.mem_id] = link
    found.pop(content.mem_id, None)
    return list(found.values())


def _inside(node: LexborNode, ids: set[int], stop: LexborNode | None) -> bool:
    """Whether an ancestor of ``node`` (below ``stop``) is in ``ids``."""
    parent = node.parent
    while parent is not None and (stop is None or parent.mem_id != stop.mem_id):
        if parent.mem_id in ids:
            return True
        parent = parent.parent
    return False


def _unwrap_heading_links(content: LexborNode) -> None:
    """Heading permalinks go; a heading whose text is a link to its own anchor keeps the text."""
    for link in content.css(_HEADING_SELF_LINKS):
        if _PERMALINK_TEXT.match(link.text()) and link.css_first("img") is None:
            link.decompose()
        else:
            link.unwrap()


def clean_content(
    content: LexborNode,
    generator: Generator = GENERIC,
    exclude_selectors: Sequence[str] = (),
) -> None:
    """Remove page chrome from ``content`` in place (see the module docstring for what)."""
    doomed = _boilerplate(content, generator, exclude_selectors)
    ids = {node.mem_id for node in doomed}
    for node in doomed:
        # Removing a node frees its subtree: never touch a node whose ancestor goes too.
        if not _inside(node, ids, content):
            node.decompose()
    if generator.unwrap:
        for node in content.css(", ".join(generator.unwrap)):
            node.unwrap()
    _unwrap_heading_links(content)
    for node in list(content.traverse(include_text=False)):
        if node.is_comment_node:
            node.decompose()


def extract_content(
    tree: LexborHTMLParser,
    generator: Generator = GENERIC,
    include_selectors: Sequence[str] = (),
    exclude_selectors: Sequence[str] = (),
) -> LexborNode | None:
    """Find the main content container, clean it in place and return it."""
    content = find_main_content(tree, generator, include_selectors)
    if content is not None:
        clean_content(content, generator, exclude_selectors)
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

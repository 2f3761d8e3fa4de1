"""The site's own reading order: its navigation tree and its ``rel=next`` chain.

:func:`read_nav` takes, from one parsed page (before content extraction), the ordered links of
the generator's navigation tree (Sphinx toctree / sidebar, MkDocs nav, mdBook SUMMARY sidebar,
DocBook TOC, Docusaurus / VitePress / Starlight / Nextra / Docsy sidebars) and the page's
``rel=next`` link. :func:`reading_order` turns the pages' links, navigation lists and next links
into one deterministic order:

1. the link order (:func:`docspasta.core.assemble.link_order`) over edges where a page's
   navigation entries come before its other links, so a sidebar's order beats header links;
2. when the start page begins a ``rel=next`` chain through stored pages (Sphinx, DocBook, mdBook,
   Material for MkDocs and Starlight all write one in their reading order), the chain decides the
   order of its pages, and every other page follows the chain page it followed in (1) (those
   before the chain's second page go last: what a start page links to outside its reading
   order is the site's chrome: index, search, about).

Pure functions of their inputs (contract 7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from docspasta.core.assemble import link_order
from docspasta.core.urls import resolve_link

#: Navigation containers per generator, most specific first; the first that holds links wins.
NAV_CONTAINERS: Mapping[str, tuple[str, ...]] = {
    "sphinx": (
        ".wy-menu-vertical",  # Read the Docs
        ".sidebar-tree",  # Furo
        "nav.bd-docs-nav",  # PyData
        "nav.bd-links",  # Book
        ".sphinxsidebarwrapper .toctree-l1",  # classic / alabaster with a global toctree
        ".toctree-wrapper",  # the toctree in the page itself
    ),
    "mkdocs": ("nav.md-nav--primary", ".wy-menu-vertical", ".bs-sidenav", ".navbar-nav"),
    "mdbook": ("#sidebar ol.chapter", "ol.chapter"),
    "docbook": ("div.toc", "dl.toc"),
    "docusaurus": (".theme-doc-sidebar-menu", "nav.menu"),
    "vitepress": ("#VPSidebarNav", ".VPSidebar nav"),
    "starlight": ("#starlight__sidebar", "nav.sidebar"),
    "nextra": ("aside.nextra-sidebar-container", ".nextra-sidebar"),
    "docsy": ("#td-sidebar-menu", ".td-sidebar-nav"),
}
_NEXT = ("link[rel~=next][href]", "a[rel~=next][href]")


@dataclass(frozen=True)
class Nav:
    """A page's navigation: its tree's links in order (absolute, normalised, first occurrence
    kept, the page itself included) and its ``rel=next`` target."""

    toc: tuple[str, ...] = ()
    next: str | None = None

    def record(self, links: Sequence[str]) -> dict[str, object] | None:
        """What the store keeps: ``toc`` as positions in the page's stored ``links`` (entries
        not among them, out of scope or the page itself, dropped) and ``next`` as a URL; None
        when there is neither."""
        position = {link: index for index, link in enumerate(links)}
        toc = [position[url] for url in self.toc if url in position]
        if not toc and self.next is None:
            return None
        return {"toc": toc, "next": self.next}


def _urls(nodes: Sequence[LexborNode], base_url: str) -> list[str]:
    seen: dict[str, None] = {}
    for node in nodes:
        href = node.attributes.get("href")
        if href:
            url = resolve_link(href, base_url)
            if url is not None:
                seen.setdefault(url, None)
    return list(seen)


def read_nav(tree: LexborHTMLParser, generator: str, base_url: str) -> Nav:
    """The navigation of a parsed page of ``generator`` (see :data:`NAV_CONTAINERS`)."""
    toc: list[str] = []
    for selector in NAV_CONTAINERS.get(generator, ()):
        anchors = [a for node in tree.css(selector) for a in node.css("a[href]")]
        toc = _urls(anchors, base_url)
        if len(toc) >= 2:
            break
    following: str | None = None
    for selector in _NEXT:
        found = _urls(tree.css(selector), base_url)
        if found:
            following = found[0]
            break
    return Nav(toc=tuple(toc), next=following)


def _chain(root: str, nexts: Mapping[str, str]) -> list[str]:
    chain = [root]
    seen = {root}
    node = nexts.get(root)
    while node is not None and node not in seen:
        chain.append(node)
        seen.add(node)
        node = nexts.get(node)
    return chain


def reading_order(
    root: str,
    nodes: Sequence[str],
    edges: Mapping[str, Sequence[str]],
    tocs: Mapping[str, Sequence[str]],
    nexts: Mapping[str, str],
) -> list[str]:
    """The reading order of ``nodes`` (URL hashes; ``root`` is the start page).

    ``edges[p]`` are page ``p``'s links in document order, ``tocs[p]`` its navigation entries
    in order, ``nexts[p]`` its ``rel=next`` target; only targets in ``nodes`` count. Nodes
    reachable in neither way are left out (the caller orders them after these).
    """
    known = set(nodes)
    merged = {
        node: list(dict.fromkeys([*tocs.get(node, ()), *edges.get(node, ())]))
        for node in known | set(edges)
    }
    linked = [node for node in link_order(root, merged) if node in known]
    chain = _chain(root, {p: n for p, n in nexts.items() if n in known})
    if len(chain) < 2:
        return linked
    in_chain = set(chain)
    followers: dict[str, list[str]] = {node: [] for node in chain}
    anchor = root
    for node in linked:
        if node in in_chain:
            anchor = node
        else:
            followers[anchor].append(node)
    # What follows the start page in link order, before any chain page, is the site's chrome
    # (index, search, about): it goes after the chain rather than before its first page.
    ordered = [root, *(page for node in chain[1:] for page in (node, *followers[node]))]
    return ordered + followers[root]

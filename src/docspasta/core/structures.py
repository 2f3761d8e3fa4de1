"""Docs structures rewritten, in place, to HTML that converts to readable markdown.

Two passes around the removal of page chrome (:func:`docspasta.core.extract.clean_content`):

:func:`rescue_structures` runs BEFORE it, on what chrome removal would otherwise destroy:

- tabs (ARIA ``role=tablist``/``role=tabpanel`` as Docusaurus, Starlight, Nextra, sphinx-tabs,
  Docsy write them; Material's ``.tabbed-set``; sphinx-design's ``.sd-tab-set``; VitePress code
  groups): every panel is kept, hidden or not, preceded by its tab's name in bold; the tab
  buttons go;
- admonitions (Sphinx/MkDocs ``.admonition``, Docusaurus ``.theme-admonition``, VitePress
  ``.custom-block``, Starlight's ``<aside>``, Nextra callouts, Docsy alerts, DocBook's
  ``div.note``…, pydoctor's ``.rst-admonition``) and docutils sidebars (``.. sidebar::``,
  an ``<aside>`` chrome removal takes for a page's sidebar) become ``<blockquote>`` starting
  with their title in bold: a title element, else a bold line standing alone at the start (Nextra
  4's ``<b>Warning</b>``), else the kind of admonition from its classes, Nextra 2's emoji or
  Nextra 3/4's colour (``x:bg-yellow-50``: warning);
- docutils' ``.. contents::`` (a ``<nav>`` since docutils 0.18, a ``div.topic`` before) becomes
  a ``<div>``: its list belongs to the text that introduces it.

:func:`rewrite_structures` (:mod:`docspasta.core.rewrites`) runs AFTER it.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

_SPACES = re.compile(r"\s+")
_ADMONITION_KINDS = (
    "note", "tip", "hint", "info", "important", "warning", "caution", "danger", "error",
    "attention", "seealso", "success", "question", "example", "quote", "abstract", "todo",
    "bug", "failure", "deprecated",
)  # fmt: skip
#: Admonition containers and where their title is.
_ADMONITIONS: tuple[tuple[str, str], ...] = (
    ("div.admonition", "p.admonition-title, .admonition-title"),
    ("details.admonition, .md-typeset details", "summary"),
    ("div.theme-admonition", "[class*=admonitionHeading]"),
    ("div.custom-block", ".custom-block-title"),
    ("details.custom-block", "summary"),
    ("aside.starlight-aside", ".starlight-aside__title"),
    ("div.nextra-callout", ""),
    ("div.alert", ".alert-heading"),
    ("div.callout", ".callout-title"),
    ("div.rst-admonition", ".rst-admonition-title"),
    ("aside.sidebar:has(> .sidebar-title), div.sidebar:has(> .sidebar-title)", ".sidebar-title"),
    (
        "div.note:has(> .title), div.tip:has(> .title), div.warning:has(> .title), "
        "div.caution:has(> .title), div.important:has(> .title)",
        ".title",
    ),
)
#: Kinds of callouts that say theirs only by an emoji (Nextra 2) or a colour (Nextra 3 and 4:
#: ``x:bg-yellow-50``, ``nx-bg-orange-50``), as Nextra maps its callout types to them.
_ICON_KINDS = {"💡": "Tip", "\u2139": "Note", "⚠": "Warning", "🚫": "Caution", "🛑": "Caution",
               "❗": "Important"}  # fmt: skip
_COLOUR_CLASS = re.compile(r"(?:^|[:-])bg-(blue|green|orange|yellow|red|purple)-\d")
_COLOUR_KINDS = {"blue": "Note", "green": "Tip", "orange": "Tip", "yellow": "Warning",
                 "red": "Caution", "purple": "Important"}  # fmt: skip
#: The longest a bold line can be and still be an admonition's title.
_TITLE_LENGTH = 40
_ANY_ADMONITION = ", ".join(selector for selector, _ in _ADMONITIONS)
_MATERIAL_LABELS = ".tabbed-labels > label, div.tabbed-set > label"
_MATERIAL_BLOCKS = (
    ".tabbed-content > .tabbed-block, div.tabbed-set > .tabbed-content:not(:has(> .tabbed-block))"
)
#: docutils' table of contents (a ``nav`` since 0.18); Doxygen's ``div.contents`` is no nav.
_LOCAL_CONTENTS = "nav.contents:has(> ul.simple), nav.contents:has(> .topic-title)"
_ANY_TABS = "[role=tablist], div.tabbed-set, div.sd-tab-set, div.vp-code-group"


def collapse_spaces(text: str) -> str:
    """``text`` with each run of whitespace made one space, and stripped."""
    return _SPACES.sub(" ", text).strip()


def node_text(node: LexborNode) -> str:
    """The node's text, whitespace collapsed."""
    return collapse_spaces(node.text())


def bold_paragraph(anchor: LexborNode, text: str) -> LexborNode:
    """A new ``<p><strong>text</strong></p>`` of ``anchor``'s document."""
    parser = anchor.parser
    paragraph = parser.create_node("p")
    strong = parser.create_node("strong")
    strong.insert_child(text)
    paragraph.insert_child(strong, move=True)
    return paragraph


def move_children(source: LexborNode, target: LexborNode) -> None:
    """Move ``source``'s children, text included, to the end of ``target``."""
    for child in list(source.iter(include_text=True)):
        target.insert_child(child, move=True)


def _unhide(node: LexborNode) -> None:
    for attr in ("hidden", "aria-hidden", "style"):
        if attr in node.attrs:
            del node.attrs[attr]


def _label_panels(labels: list[str], panels: list[LexborNode]) -> None:
    for label, panel in zip(labels, panels, strict=False):
        _unhide(panel)
        if label:
            panel.insert_before(bold_paragraph(panel, label))


def _aria_tabs(container: LexborNode) -> None:
    for tablist in container.css("[role=tablist]"):
        tabs = tablist.css("[role=tab]")
        scope: LexborNode | None = tablist.parent
        panels: list[LexborNode] = []
        for _ in range(2):
            if scope is None:
                break
            panels = scope.css("[role=tabpanel]")
            if panels:
                break
            scope = scope.parent
        by_id = {panel.attributes.get("id") or "": panel for panel in panels}
        by_id.pop("", None)
        labels = [node_text(tab) for tab in tabs]
        controlled = [by_id.get(tab.attributes.get("aria-controls") or "") for tab in tabs]
        distinct = {panel.mem_id for panel in controlled if panel is not None}
        if panels and len(distinct) == len(tabs) == len(controlled):
            ordered = [panel for panel in controlled if panel is not None]
            _label_panels(labels, ordered)
        elif len(panels) == len(tabs) and not any(controlled):
            _label_panels(labels, panels)
        else:
            for panel in panels:
                _unhide(panel)
        tablist.decompose()


def _paired_tabs(container: LexborNode, sets: str, labels: str, panels: str) -> None:
    for tab_set in container.css(sets):
        names = [node_text(label) for label in tab_set.css(labels)]
        blocks = tab_set.css(panels)
        if len(names) != len(blocks):
            continue
        _label_panels(names, blocks)
        for label in tab_set.css(labels):
            label.decompose()
        for radio in tab_set.css("input"):
            radio.decompose()


def _admonition_kind(node: LexborNode, icon: str = "") -> str:
    classes = (node.attributes.get("class") or "").lower().split()
    for kind in _ADMONITION_KINDS:
        if kind in classes or any(token.endswith(f"--{kind}") for token in classes):
            return kind.capitalize()
    if icon in _ICON_KINDS:
        return _ICON_KINDS[icon]
    for token in classes:
        colour = _COLOUR_CLASS.search(token)
        if colour is not None:
            return _COLOUR_KINDS[colour.group(1)]
    return "Note"


def _callout_icon(node: LexborNode) -> str:
    """A Nextra callout's icon cell (its first ``<div>``, an emoji or an ``<svg>``) goes; its
    emoji is returned: the only place Nextra 2 says which kind of callout this is."""
    cells = [child for child in node.iter() if child.tag == "div"]
    if len(cells) < 2 or cells[0].css_first("p, pre, ul, ol, table") is not None:
        return ""
    icon = node_text(cells[0]).replace("\ufe0f", "")
    if any(character.isalnum() for character in icon):
        return ""  # words, not an icon
    cells[0].decompose()
    return icon


def _leading_title(node: LexborNode) -> LexborNode | None:
    """A ``<b>``/``<strong>`` standing alone at the start of an admonition without a title
    element (Nextra 4 writes ``<b>Warning</b>`` before the first paragraph): its title."""
    first = _first_element(node)
    while first is not None and first.tag == "div":
        first = _first_element(first)
    if first is not None and first.tag == "p":
        only = _first_element(first)
        if only is None or only.tag not in {"b", "strong"} or node_text(only) != node_text(first):
            return None
        return first if len(node_text(first)) <= _TITLE_LENGTH else None
    if first is None or first.tag not in {"b", "strong"} or len(node_text(first)) > _TITLE_LENGTH:
        return None
    after = first.next
    while after is not None and after.tag == "-text" and not (after.text() or "").strip():
        after = after.next
    if after is None or after.tag in {"br", "p", "div", "ul", "ol", "pre", "blockquote"}:
        return first
    return None


def _first_element(node: LexborNode) -> LexborNode | None:
    """The first child element of ``node``, ``None`` when text comes before any."""
    for child in node.iter(include_text=True):
        if child.tag == "-text":
            if (child.text() or "").strip():
                return None
            continue
        if child.tag != "-comment":
            return child
    return None


def _admonitions(container: LexborNode) -> None:
    for node in container.css(_ANY_ADMONITION):
        title_selector = next(
            (title for selector, title in _ADMONITIONS if node.css_matches(selector)), ""
        )
        if node.parent is None:
            continue
        title_node = node.css_first(title_selector) if title_selector else None
        icon = _callout_icon(node) if node.css_matches("div.nextra-callout") else ""
        if title_node is None:
            title_node = _leading_title(node)
        title = node_text(title_node) if title_node is not None else ""
        if title_node is not None:
            title_node.decompose()
        quote = node.parser.create_node("blockquote")
        quote.insert_child(bold_paragraph(node, title or _admonition_kind(node, icon)), move=True)
        move_children(node, quote)
        node.replace_with(quote, move=True)


def _local_contents(container: LexborNode) -> None:
    for nav in container.css(_LOCAL_CONTENTS):
        holder = nav.parser.create_node("div")
        move_children(nav, holder)
        nav.replace_with(holder, move=True)


def rescue_structures(container: LexborNode) -> None:
    """Tabs, admonitions and tables of contents, before chrome removal (see the module
    docstring)."""
    if container.css_first(_ANY_TABS) is not None:
        _tabs(container)
    _admonitions(container)
    _local_contents(container)


def _tabs(container: LexborNode) -> None:
    _paired_tabs(container, "div.tabbed-set", _MATERIAL_LABELS, _MATERIAL_BLOCKS)
    _paired_tabs(container, "div.sd-tab-set", "label.sd-tab-label", "div.sd-tab-content")
    _paired_tabs(container, "div.vp-code-group", ".tabs > label", ".blocks > div")
    _aria_tabs(container)

"""The site's own reading order: navigation trees, rel=next chains, and how they combine."""

from __future__ import annotations

from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from docspasta.core.nav import Nav, read_nav, reading_order
from docspasta.core.page import analyze_page

BASE = "https://d.example/docs/"
FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture_html(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def nav_of(html: str, generator: str) -> Nav:
    return read_nav(LexborHTMLParser(html), generator, BASE + "page.html")


def test_sphinx_sidebar_toctree_and_rel_next() -> None:
    html = (
        "<head><link rel='next' href='b.html'></head><body>"
        "<div class='wy-menu-vertical'><ul><li class='toctree-l1'><a href='a.html'>A</a></li>"
        "<li class='toctree-l1'><a href='b.html#x'>B</a><a href='a.html'>A again</a></li></ul>"
        "</div><a href='c.html'>C</a></body>"
    )
    assert nav_of(html, "sphinx") == Nav(
        toc=(BASE + "a.html", BASE + "b.html"), next=BASE + "b.html"
    )


def test_unknown_generator_reads_only_rel_next() -> None:
    html = "<nav><a href='a.html'>A</a><a href='b.html'>B</a></nav><a rel='next' href='z.html'>"
    assert nav_of(html, "generic") == Nav(toc=(), next=BASE + "z.html")


def test_real_pages() -> None:
    mdbook = analyze_page(
        fixture_html("mdbook/ch03-01-variables-and-mutability.html"),
        "https://doc.rust-lang.org/book/ch03-01-variables-and-mutability.html",
    )
    assert mdbook.nav.next == "https://doc.rust-lang.org/book/ch03-02-data-types.html"
    assert len(mdbook.nav.toc) > 50
    assert mdbook.nav.toc.index(mdbook.nav.next) > mdbook.nav.toc.index(
        "https://doc.rust-lang.org/book/ch03-01-variables-and-mutability.html"
    )
    docbook = analyze_page(
        fixture_html("docbook/admon.graphics.html"), "https://d.example/html/admon.graphics.html"
    )
    assert docbook.nav.next == "https://d.example/html/admon.textlabel.html"
    mkdocs = analyze_page(fixture_html("mkdocs/usage.html"), "https://d.example/usage/")
    assert len(mkdocs.nav.toc) >= 2


def test_record_keeps_positions_in_the_stored_links() -> None:
    nav = Nav(toc=("u:b", "u:out", "u:a"), next="u:n")
    assert nav.record(["u:a", "u:b"]) == {"toc": [1, 0], "next": "u:n"}
    assert Nav().record(["u:a"]) is None


def test_link_order_without_navigation() -> None:
    edges = {"r": ["a", "b"], "a": ["a1"], "b": []}
    assert reading_order("r", ["r", "a", "b", "a1"], edges, {}, {}) == ["r", "a", "a1", "b"]


def test_navigation_entries_rank_before_other_links() -> None:
    edges = {"r": ["header", "b", "a"], "a": [], "b": [], "header": []}
    order = reading_order("r", list(edges), edges, {"r": ["a", "b"]}, {})
    assert order == ["r", "a", "b", "header"]


def test_a_next_chain_orders_its_pages_and_others_follow_their_anchor() -> None:
    edges = {"r": ["c", "b", "a", "x"], "a": ["a1"], "b": [], "c": [], "x": [], "a1": []}
    nexts = {"r": "a", "a": "b", "b": "c", "c": "r"}  # a cycle back to the start ends it
    order = reading_order("r", list(edges), edges, {}, nexts)
    # link order: r c b a a1 x  ->  chain r a b c; a1 and x follow a (the last chain page before)
    assert order == ["r", "a", "a1", "x", "b", "c"]


def test_pages_the_start_page_links_before_its_chain_go_last() -> None:
    edges = {"r": ["genindex", "a", "b"], "a": [], "b": [], "genindex": []}
    order = reading_order("r", list(edges), edges, {}, {"r": "b", "b": "a"})
    assert order == ["r", "b", "a", "genindex"]


def test_chain_stops_at_pages_not_stored() -> None:
    edges = {"r": ["a", "b"], "a": [], "b": []}
    order = reading_order("r", list(edges), edges, {}, {"r": "b", "b": "gone", "gone": "a"})
    assert order == ["r", "b", "a"]  # a is not in the chain: after it
